"""English intermediate tasks for xharness (built-in plugin, found through its entry point)."""

from harness.api import hookimpl

from xharness_stilts.hellaswag import HELLASWAG
from xharness_stilts.tasks import ANLI_PLUS, CCG, COMMONSENSEQA, COSMOSQA, MNLI, QQP, SQUAD, SQUAD_V2

__version__ = "0.1.0"
XHARNESS_API = ">=1.0,<2"  # the harness.api versions this plugin is written for


@hookimpl
def register_intermediate_tasks(register):
    for task in (ANLI_PLUS, MNLI, QQP, SQUAD, SQUAD_V2, HELLASWAG, COSMOSQA, COMMONSENSEQA, CCG):
        register(task)
