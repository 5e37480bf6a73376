"""English intermediate tasks for xharness (built-in plugin, found through its entry point)."""

from harness import hookimpl

from xharness_stilts.hellaswag import HELLASWAG
from xharness_stilts.tasks import COMMONSENSEQA, COSMOSQA, MNLI, QQP, SQUAD

__version__ = "0.1.0"


@hookimpl
def register_intermediate_tasks(register):
    for task in (MNLI, QQP, SQUAD, HELLASWAG, COSMOSQA, COMMONSENSEQA):
        register(task)
