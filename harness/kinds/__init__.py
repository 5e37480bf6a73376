"""Task kinds: the generic machinery (featurisation, head, predictions) per kind of task.

Kinds are registered like tasks, through the ``register_task_kinds`` hook (see
``harness.contract.hookspecs``); the core's own kinds below come from the built-in plugin
``harness.kinds.builtin``. A kind's module is imported only when a run needs it, because it
imports torch; ``xharness list`` never does.

The kinds a discovery found travel with it: ``Registry.kind_set`` is a :class:`Kinds`, which a
plan carries, so two registries in one process (a notebook, the tests) never see each other's
kinds. Nothing here is module-global state.
"""

from __future__ import annotations

from dataclasses import replace

from harness.contract.kindset import Kinds
from harness.contract.spec import KindSpec, MetricSpec, TaskSpec
from harness.kinds import checks


def _labelled(spec: TaskSpec, *, open_set: bool = False) -> None:
    open_tags = open_set and not spec.labels and "label_min_count" in spec.defaults
    if len(spec.labels) < 2 and not open_tags:
        raise ValueError(f"{spec.kind} task {spec.name!r} needs at least two labels (or, for tagging, "
                         f"defaults['label_min_count'] to take them from the training data)")


def _tagged(spec: TaskSpec) -> None:
    _labelled(spec, open_set=True)  # a tag set may be read off the training data


def _choices(spec: TaskSpec) -> None:
    if not spec.num_choices:
        raise ValueError(f"multiple-choice task {spec.name!r} needs num_choices")


def _dual_encoder_settings(values) -> None:
    for name in ("query_max_length", "candidate_max_length", "top_k"):
        if int(values[name]) < 1:
            raise ValueError(f"{name} must be at least 1, not {values[name]}")
    if values["pooling"] not in ("cls", "mean"):
        raise ValueError(f"pooling must be cls or mean, not {values['pooling']!r}")
    if float(values["scale"]) <= 0:
        raise ValueError(f"scale must be positive, not {values['scale']}")


def _tagging_settings(values) -> None:
    if values["ud_tokens"] not in ("fused", "split"):
        raise ValueError(f"ud_tokens must be fused or split, not {values['ud_tokens']!r}")
    if values["label_piece"] not in ("first", "first_nonempty"):
        raise ValueError(f"label_piece must be first or first_nonempty, not {values['label_piece']!r}")


#: The metrics the built-in kinds score (percent, as the results table shows them).
_ACCURACY = MetricSpec("accuracy", aggregate="accuracy", description="share of examples predicted right")
_F1 = MetricSpec("f1", aggregate="f1_counts", description="entity-level F1 (seqeval) or mined-pair F1 (BUCC)")
_QA = tuple(MetricSpec(name, aggregate="qa", description=what) for name, what in (
    ("squad", "the mean of SQuAD's F1 and exact match"),
    ("squad_v2", "SQuAD 2.0's F1 and exact match, with unanswerable questions"),
    ("mlqa", "F1 and exact match with MLQA's per-language answer normalisation")))

#: The core's kinds, registered by the built-in plugin (their Hub task types: HUB_TASKS, below).
BUILTIN: tuple[KindSpec, ...] = (
    KindSpec("classification", "sentence(-pair) classification on the first token",
             "harness.kinds.classification:KIND", check=_labelled, metrics=(_ACCURACY,),
             fields=("text", "label"), optional_fields=("text_pair",), check_example=checks.classification_example,
             translate_test=True),
    KindSpec("multiple_choice", "one score per (context, choice) pair, softmax over the choices",
             "harness.kinds.multiple_choice:KIND", check=_choices, metrics=(_ACCURACY,),
             fields=("context", "choices", "label"), check_example=checks.multiple_choice_example,
             translate_test=True),
    KindSpec("tagging", "one label per word (first sub-token), seqeval F1",
             "harness.kinds.tagging:KIND", check=_tagged,
             # ud_tokens: a UD multi-word token is one word (XTREME's reading) or its syntactic
             # words (a reader's split_words); label_piece: the word's label sits on its first
             # sub-token (XTREME) or its first that is not bare whitespace (docs/udpos.md)
             settings={"ud_tokens": "fused", "label_piece": "first"}, check_settings=_tagging_settings,
             # accuracy: per-word accuracy, for tag sets without entities (POS)
             metrics=(_F1, MetricSpec("accuracy", aggregate="accuracy", description="per-word accuracy")),
             fields=("words", "tags"), check_example=checks.tagging_example,
             labels_from_training="harness.kinds.tagging:labels_from_training"),
    KindSpec("span_qa", "extractive QA: answer span start and end over sliding windows",
             "harness.kinds.span_qa:KIND", metrics=_QA, fields=("id", "question", "context", "answers"),
             check_example=checks.span_qa_example, check_training=checks.span_answers_at_offsets,
             # the window overlap is min(STRIDE, max_length // 2): a constant rather than a setting
             feature_constants=("STRIDE",)),
    KindSpec("masked_lm", "masked-language-model training on raw text (intermediate only)",
             "harness.kinds.masked_lm:KIND", fields=("text",), check_example=checks.masked_lm_example,
             metrics=(MetricSpec("loss", low=0.0, high=float("inf"), aggregate=None,
                                 description="masked-LM cross-entropy on held-out text"),)),
    KindSpec("retrieval", "sentence retrieval with the encoder's embeddings, no training (Tatoeba)",
             "harness.kinds.retrieval:KIND", trained=False, fields=("source", "target"),
             check_example=checks.retrieval_example,
             metrics=(MetricSpec("accuracy", aggregate="accuracy", description="accuracy@1 of the nearest sentence"),)),
    KindSpec("bitext_mining", "parallel-sentence mining by margin, no training (BUCC)",
             "harness.kinds.retrieval:BITEXT_MINING", trained=False, metrics=(_F1,),
             fields=("source", "target", "gold"), check_example=checks.bitext_mining_example,
             dev_per_language=True),  # the mining threshold is chosen on each language's dev split
    KindSpec("dual_encoder", "trained dual-encoder retrieval: shared encoder, in-batch softmax, "
             "ranking a candidate pool (LAReQA, Mewsli-X)",
             "harness.kinds.dual_encoder:KIND", pooled_test=True,
             # XTREME-R's dual encoder (third_party/run_retrieval_qa.py): L2-normalised first-token
             # vectors, logits = a trainable scale (starting at 100) × dot products; mAP@20
             settings={"query_max_length": 96, "candidate_max_length": 256, "pooling": "cls", "normalize": True,
                       "scale": 100.0, "learn_scale": True, "top_k": 20},
             check_settings=_dual_encoder_settings,
             metrics=(MetricSpec("map_at_20", aggregate="mean", description="mean average precision at 20"),),
             optional_fields=("query", "candidate", "id", "relevant", "key", "answers", "candidate_id",
                              "candidate_context"), check_example=checks.dual_encoder_example),
)

#: The Hugging Face Hub task type (a model card's ``model-index`` ``task.type``, one of the Hub's
#: task ids) each built-in kind's results are filed under by ``xharness export``. The Hub has no
#: task for ranking or mining with embeddings: retrieval, bitext mining and the dual encoder are
#: filed under ``sentence-similarity``, its task for comparing sentence embeddings, the closest.
HUB_TASKS: dict[str, str] = {
    "classification": "text-classification",
    "multiple_choice": "multiple-choice",
    "tagging": "token-classification",
    "span_qa": "question-answering",
    "masked_lm": "fill-mask",
    "retrieval": "sentence-similarity",
    "bitext_mining": "sentence-similarity",
    "dual_encoder": "sentence-similarity",
}
BUILTIN = tuple(replace(spec, hub_task=HUB_TASKS[spec.name]) for spec in BUILTIN)


def builtin_kinds() -> Kinds:
    """The core's own kinds, as a registry with no other plugin has them."""
    return Kinds({spec.name: (spec, "core") for spec in BUILTIN})


def kind_spec(name: str) -> KindSpec:
    """A built-in kind's ``KindSpec`` (a kind module reading its own declared defaults)."""
    return builtin_kinds().spec(name)


def get_kind(name: str):
    """A built-in kind's object (``Kinds.get`` of :func:`builtin_kinds`); a plugin's kind is had
    through its registry's ``kind_set``."""
    return builtin_kinds().get(name)
