"""The ``xharness`` command: a click group (``base``) and one module per command group (``plugins``:
list, plugins, install, new-plugin; ``cells``: run, sweep; ``results``: report, score, export; ``cite``: cite;
``store``: verify; ``studies``: study; ``data``: data check), with the options several commands share defined
once (``options``). Importing it imports neither torch, transformers nor datasets."""

from harness.cli import cells, cite, data, plugins, results, store, studies  # noqa: F401  (each registers its commands)
from harness.cli.base import cli, main
from harness.cli.cells import run_command, sweep_command

__all__ = ["cli", "main", "run_command", "sweep_command"]
