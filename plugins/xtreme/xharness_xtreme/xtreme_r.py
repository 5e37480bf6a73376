"""XTREME-R's new tasks for xharness (Ruder et al., 2021), entry point ``xtreme-r``.

Targets: XCOPA (multiple choice, trained on English COPA), LAReQA (answer-sentence retrieval
on XQuAD-R, trained on SQuAD v1.1) and Mewsli-X (entity linking, trained on English Wikipedia
pairs); intermediate: Social IQa, on which XTREME-R trains before COPA. The tasks XTREME-R
shares with XTREME come from the ``xtreme`` entry point of this package, with the languages
XTREME-R adds as their ``extra_languages``; the ``xtreme-r`` leaderboard (``xharness score
--leaderboard xtreme-r``, ``--languages xtreme-r``) names all ten with XTREME-R's language sets.
"""

from harness.api import hookimpl

XHARNESS_API = ">=1.0,<2"  # the harness.api versions this plugin is written for

from xharness_xtreme.lareqa import LAREQA
from xharness_xtreme.leaderboard import XTREME_R
from xharness_xtreme.mewslix import MEWSLIX
from xharness_xtreme.siqa import SIQA
from xharness_xtreme.xcopa import XCOPA


@hookimpl
def register_target_tasks(register):
    register(XCOPA)
    register(LAREQA)
    register(MEWSLIX)


@hookimpl
def register_intermediate_tasks(register):
    register(SIQA)


@hookimpl
def register_leaderboards(register):
    register(XTREME_R)
