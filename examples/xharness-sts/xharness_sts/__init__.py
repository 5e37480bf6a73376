"""sts: sentence-pair regression, a task kind the xharness core does not have, and one task of it.

The kind (``sentence_regression``): a pair of sentences in, one real number out — how similar
they are, on the task's scale (0–5 for STS). The encoder's first token goes through the usual
first-token head with one output; training minimises the squared error on scores divided by the
kind's setting ``score_max`` (so the head learns values in [0, 1]); predictions are scaled back.
It is scored by Pearson's r or Spearman's rho between predictions and gold scores, times 100: a
correlation, so a score may be negative ([-100, 100], as the kind declares).

The task (``stsb``): the STS Benchmark (Cer et al., 2017), trained and validated in English,
tested zero-shot on stsb_multi_mt (May, 2021: STS-B's test set machine-translated with DeepL)
in English, German, Spanish, French and Chinese. Local files in their released layouts:

* ``stsbenchmark/sts-{train,dev}.csv`` — STS-B's own files: tab-separated, no header, fields
  genre, file, year, id, score, sentence1, sentence2 (some rows carry further licence fields);
* ``stsb-multi-mt/stsb-{lang}-test.csv`` — PhilipMay/stsb-multi-mt's ``data/`` files: CSV, no
  header, fields sentence1, sentence2, score.

A file in another layout stops the run with one line naming the file and the line. Nothing here
imports torch; the kind object lives in ``xharness_sts.kind`` and is imported when a run needs it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from harness.api import DataFormatError, KindSpec, LocalSource, MetricSpec, TaskSpec, hookimpl

__version__ = "0.1.0"
#: The harness.api versions this plugin is written for (the version guard reads it).
XHARNESS_API = ">=1.0,<2"

SAMPLES = Path(__file__).resolve().parent / "samples"
KIND = "sentence_regression"
TASK = "stsb"
LANGUAGES = ("en", "de", "es", "fr", "zh")


def _check_settings(values) -> None:
    if float(values["score_max"]) <= 0:
        raise ValueError(f"score_max must be positive, not {values['score_max']}")


def example_problem(spec: TaskSpec, example) -> str | None:
    """What is wrong with one example beyond a missing field: texts that are not strings, a score
    that is not a number in [0, score_max]."""
    for name in ("text", "text_pair"):
        if not isinstance(example[name], str):
            return f"field {name!r} is a {type(example[name]).__name__}, not a str"
    score = example["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return f"score {score!r} is a {type(score).__name__}, not a number"
    top = float(spec.defaults.get("score_max", 5.0))
    if not 0 <= score <= top:
        return f"score {score} is outside [0, {top:g}] (the task's score_max)"
    return None


KIND_SPEC = KindSpec(
    KIND, "sentence-pair regression: one score per pair from the first token, squared error; "
          "Pearson or Spearman correlation",
    "xharness_sts.kind:KIND",
    settings={"score_max": 5.0},  # gold scores are divided by it for training, predictions multiplied back
    check_settings=_check_settings,
    metrics=(MetricSpec("pearson", low=-100.0, high=100.0, aggregate="pearson",
                        description="Pearson's r of predicted and gold scores, times 100"),
             MetricSpec("spearman", low=-100.0, high=100.0, aggregate="spearman",
                        description="Spearman's rank correlation of predicted and gold scores, times 100")),
    fields=("text", "text_pair", "score"),
    check_example=example_problem,
)


def task_file(split: str, lang: str) -> str:
    """Where a split lies in the released layouts (English train and dev: STS-B's own files)."""
    if split in ("train", "dev"):
        return f"stsbenchmark/sts-{split}.csv"
    return f"stsb-multi-mt/stsb-{lang}-{split}.csv"


def _score(path: Path, number: int, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DataFormatError(path, number, f"score {text!r} is not a number") from None


def read_task_file(path: Path, split: str, lang: str):
    """One file into ``{"id", "text", "text_pair", "score"}`` examples."""
    with open(path, encoding="utf-8", newline="") as handle:
        if path.name.startswith("sts-"):  # STS-B: tab-separated, quotes are plain characters
            for number, fields in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if len(fields) < 7:
                    raise DataFormatError(path, number, f"expected at least 7 tab-separated fields (genre, file, "
                                                        f"year, id, score, sentence1, sentence2), got {len(fields)}")
                yield {"id": f"{split}-{number}", "text": fields[5], "text_pair": fields[6],
                       "score": _score(path, number, fields[4])}
            return
        for number, fields in enumerate(csv.reader(handle), 1):  # stsb-multi-mt: CSV, quoted where needed
            if len(fields) != 3:
                raise DataFormatError(path, number, f"expected 3 comma-separated fields (sentence1, sentence2, "
                                                    f"score), got {len(fields)}")
            yield {"id": f"{split}-{number}", "text": fields[0], "text_pair": fields[1],
                   "score": _score(path, number, fields[2])}


TASK_SPEC = TaskSpec(
    name=TASK,
    kind=KIND,
    granularity="pair",
    description="STS Benchmark (Cer et al., 2017): English training, zero-shot on stsb_multi_mt "
                "(May, 2021) in 5 languages",
    languages=LANGUAGES,
    metric="pearson",
    local=LocalSource(file=task_file, read=read_task_file, roots=("", "sts")),
    samples=SAMPLES,
    defaults={"epochs": 4, "batch_size": 32, "max_length": 128, "lr": 2e-5},
)


@hookimpl
def register_task_kinds(register):
    register(KIND_SPEC)


@hookimpl
def register_target_tasks(register):
    register(TASK_SPEC)
