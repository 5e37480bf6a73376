"""The built-in kinds' checks of examples and answers: cheap (no torch), declared in their
``KindSpec`` (``check_example``, ``check_training``) and run by the contract kit on bundled
samples and by a run on its training data. The fields each kind's examples have are declared
beside them (``KindSpec.fields``); a missing one is reported before these run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.contract.errors import UserError


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _is_pairs(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value)


def not_str(example: Mapping[str, Any], *names: str) -> str | None:
    """The first of ``names`` whose value is not a str, said in a line; None if all are."""
    for name in names:
        if not isinstance(example[name], str):
            return f"field {name!r} is a {type(example[name]).__name__}, not a str"
    return None


def label_problem(label: Any, count: int, what: str) -> str | None:
    """Why ``label`` is not an index into ``count`` classes (``what`` names them), or None."""
    if not _is_int(label):
        return f"label {label!r} is a {type(label).__name__}, not an int"
    if not 0 <= label < count:
        return f"label {label} is not in range({count}) ({what})"
    return None


def classification_example(spec, example) -> str | None:
    if example.get("text_pair") is not None and not isinstance(example["text_pair"], str):
        return f"field 'text_pair' is a {type(example['text_pair']).__name__}, not a str or None"
    return not_str(example, "text") or label_problem(example["label"], len(spec.labels), "the task's labels")


def multiple_choice_example(spec, example) -> str | None:
    choices = example["choices"]
    if not _is_str_list(choices):
        return "field 'choices' is not a list of str"
    if spec.num_choices and len(choices) != spec.num_choices:
        return f"{len(choices)} choices, the task has num_choices={spec.num_choices}"
    return not_str(example, "context") or label_problem(example["label"], len(choices), "the choices")


def tagging_example(spec, example) -> str | None:
    words, tags = example["words"], example["tags"]
    if not _is_str_list(words) or not words:
        return "field 'words' is not a non-empty list of str"
    if not _is_str_list(tags):
        return "field 'tags' is not a list of str"
    if len(words) != len(tags):
        return f"{len(words)} words but {len(tags)} tags"
    if spec.labels:
        unknown = sorted(set(tags) - set(spec.labels))
        if unknown:
            return f"tag(s) {', '.join(map(repr, unknown))} are not among the task's labels"
    return None


def span_qa_example(spec, example) -> str | None:
    problem = not_str(example, "id", "question", "context")
    if problem:
        return problem
    answers = example["answers"]
    if not isinstance(answers, list):
        return "field 'answers' is not a list"
    if not answers and spec.metric != "squad_v2":
        return "no answers (only a squad_v2 task has unanswerable questions)"
    for answer in answers:
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str) \
                or not _is_int(answer.get("answer_start")):
            return "an answer is not {'text': str, 'answer_start': int}"
        if not 0 <= answer["answer_start"] <= len(example["context"]):
            return (f"answer_start {answer['answer_start']} is outside the context "
                    f"({len(example['context'])} characters)")
    return None


def retrieval_example(spec, example) -> str | None:
    return not_str(example, "source", "target")


def bitext_mining_example(spec, example) -> str | None:
    if not _is_pairs(example["source"]) or not _is_pairs(example["target"]):
        return "fields 'source' and 'target' are not lists of (id, text) pairs"
    if example["gold"] is not None and not _is_pairs(example["gold"]):
        return "field 'gold' is neither None nor a list of (source id, target id) pairs"
    return None


def dual_encoder_example(spec, example) -> str | None:
    has_query, has_candidate = "query" in example, "candidate" in example
    if not has_query and not has_candidate:
        return ("neither 'query' nor 'candidate' (dual_encoder examples are a pair query, candidate; "
                "a query query, id, relevant and/or key; or a candidate candidate, id)")
    problem = not_str(example, *(["query"] * has_query + ["candidate"] * has_candidate))
    if problem:
        return problem
    if has_query != has_candidate and "id" not in example:
        return f"a {'query' if has_query else 'candidate'} without a pair has no field 'id'"
    if has_query and not has_candidate and "relevant" not in example and "key" not in example:
        return "a query has neither 'relevant' nor 'key'"
    if "relevant" in example and not isinstance(example["relevant"], (list, tuple)):
        return "field 'relevant' is not a list of candidate ids"
    return None


def masked_lm_example(spec, example) -> str | None:
    return not_str(example, "text")


def span_answers_at_offsets(task: str, examples: list, where: str) -> None:
    """Span-QA training rows from the hub: every answer at its ``answer_start`` in the context."""
    for example in examples:
        for answer in example.get("answers") or ():
            try:
                problem = answer_problem(example["context"], answer["text"], int(answer["answer_start"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                problem = f"answer {str(answer)[:60]} is not {{text, answer_start}} in a context"
            if problem:
                raise UserError(f"{task}: {where}: question {example.get('id')!r}: {problem}; training "
                                f"places each answer by its offset: pass --data-dir with corrected files")


def answer_problem(context: str, text: str, start: int) -> str | None:
    """What is wrong with an answer of ``context`` (None when ``_answer_span`` finds it there)."""
    if _answer_span(context, text, start) is not None:
        return None
    if not str(text).strip():
        return "its answer text is empty"
    if not 0 <= start < len(context):
        return f"answer_start {start} of answer {_short(text)} lies outside its context ({len(context)} characters)"
    return (f"answer {_short(text)} is not at its answer_start {start} (the context has "
            f"{_short(context[start:start + len(text)])} there)")


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _answer_span(context: str, text: str, start: int) -> dict | None:
    """The answer as ``{text, answer_start}`` of a span of ``context``; None if it is not there.

    As in the official SQuAD scripts, which compare whitespace-separated tokens, whitespace may
    differ: around the text (the offset may count it or not) and inside it (a newline for a
    space). Such an answer becomes the context's own span, so that ``answer_start + len(text)``
    ends it; the scores, which split on whitespace, are the same.
    """
    if not text.strip() or not 0 <= start < len(context):
        return None
    if context.startswith(text, start):
        return {"text": text, "answer_start": start}
    pattern = r"\s*(" + r"\s+".join(re.escape(token) for token in text.split()) + ")"
    match = re.compile(pattern).match(context, start)
    if match is None:
        return None
    return {"text": match.group(1), "answer_start": match.start(1)}
