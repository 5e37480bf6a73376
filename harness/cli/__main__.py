"""`python -m harness.cli`: the xharness command."""

from harness.cli import main

main()
