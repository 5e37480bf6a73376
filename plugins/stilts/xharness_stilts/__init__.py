"""English intermediate tasks for xharness (built-in plugin, found through its entry point)."""

from harness import hookimpl

from xharness_stilts.hellaswag import HELLASWAG

__version__ = "0.1.0"


@hookimpl
def register_intermediate_tasks(register):
    register(HELLASWAG)
