"""The four research questions built on the X-STILTs paper, as studies (built-in plugin).

Each study module is imported only when its study runs; this module registers their specs.
"""

from harness.api import hookimpl, StudySpec

__version__ = "0.1.0"
XHARNESS_API = ">=1.0,<2"  # the harness.api versions this plugin is written for

STUDIES = (
    StudySpec("granularity", "How does the granularity of the intermediate task (token, span, pair, choice) affect "
              "zero-shot transfer on retrieval, with English-only versus multilingual intermediate data?",
              "xharness_studies.granularity:STUDY"),
    StudySpec("scale", "Does the gain from English intermediate training on reading comprehension and sequence "
              "labelling depend on the size of the pretrained model?", "xharness_studies.scale:STUDY"),
    StudySpec("alignment", "What does English intermediate training do to the cross-lingual alignment of the "
              "encoder's representations, layer by layer?", "xharness_studies.alignment:STUDY"),
    StudySpec("typology", "How does the typological distance between English and a language correlate with the "
              "zero-shot drop on XTREME-R retrieval, and does intermediate training change that?",
              "xharness_studies.typology:STUDY"),
    StudySpec("settings", "Does the gain from English intermediate training shrink as target-language data grows: "
              "zero-shot, translate-train-all and few-shot with 10, 100 and 1000 examples per language?",
              "xharness_studies.settings:STUDY"),
)


@hookimpl
def register_studies(register):
    for spec in STUDIES:
        register(spec)
