"""The ``xharness`` group, its entry point and what every command shares: the registry, the console, one-line errors."""

from __future__ import annotations

import sys

import click

import harness
from harness.contract.errors import UserError


def _registry():
    from harness.contract.discovery import discover

    return discover()


def _console():
    """A rich console; piped output gets 160 columns rather than being squeezed into 80."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=160)


def _fail(error: UserError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(harness.__version__, prog_name="xharness")
def cli() -> None:
    """Intermediate-task training and zero-shot cross-lingual transfer on XTREME.

    Tasks, backbones and studies come from plugins (entry-point group "xharness");
    `xharness list` shows what is installed.
    """


def main() -> None:
    cli()
