"""XTREME target tasks for xharness (built-in plugin, found through its entry point)."""

from harness.api import hookimpl

from xharness_xtreme.bucc import BUCC
from xharness_xtreme.leaderboard import XTREME
from xharness_xtreme.pawsx import PAWSX
from xharness_xtreme.qa import MLQA, TYDIQA, XQUAD
from xharness_xtreme.tagging import PANX, UDPOS
from xharness_xtreme.tatoeba import TATOEBA
from xharness_xtreme.xnli import XNLI

__version__ = "0.1.0"
XHARNESS_API = ">=1.0,<2"  # the harness.api versions this plugin is written for


@hookimpl
def register_target_tasks(register):
    register(PAWSX)
    register(XNLI)
    register(UDPOS)
    register(PANX)
    register(XQUAD)
    register(MLQA)
    register(TYDIQA)
    register(BUCC)
    register(TATOEBA)


@hookimpl
def register_leaderboards(register):
    register(XTREME)
