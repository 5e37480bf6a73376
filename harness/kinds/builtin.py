"""The built-in plugin that registers the core's task kinds, exactly as a third party would."""

from harness.contract.hookspecs import hookimpl
from harness.kinds import BUILTIN


@hookimpl
def register_task_kinds(register):
    for spec in BUILTIN:
        register(spec)
