"""A small, rule-based sentence splitter (ours) for LAReQA's candidates where no breaks are given.

The released XQuAD-R files carry their own ``sentence_breaks``; this splitter is used for SQuAD
(LAReQA's training pairs) and for the hub copy of XQuAD-R, which dropped the breaks. It is a
plain regular expression, not XTREME's SQuAD-tuned ``sb_sed`` splitter, so its sentences differ
from the released ones now and then (abbreviations such as "U.S. Army" are split, for one).

Rules:

* a sentence ends after a run of ``.`` ``!`` ``?`` or of the Devanagari, Arabic and Urdu full
  stops ``।`` ``؟`` ``۔`` (with any closing quotes or brackets right after them) when whitespace
  or the end of the text follows: "3.5" and "a.m.," do not end one;
* the CJK full-width marks ``。`` ``！`` ``？`` (and closing quotes or brackets after them) end a
  sentence whatever follows, because Chinese and Japanese put no space between sentences;
* Thai marks no sentence end with punctuation but separates sentences with spaces: with
  ``lang="th"`` a stretch of text without any break above is split at every run of whitespace;
* each span is stripped of surrounding whitespace, and empty ones are dropped.

Spans are ``(start, end)`` character offsets, ``text[start:end]`` being the sentence.
"""

from __future__ import annotations

import re

_CLOSERS = "\"'”’»)\\]」』）"
_BREAK = re.compile(rf"[.!?।؟۔]+[{_CLOSERS}]*(?=\s|$)|[。！？]+[{_CLOSERS}]*")
_SPACE = re.compile(r"\s+")


def _stripped(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def sentence_spans(text: str, lang: str | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` offsets of the sentences of ``text``, in order (see the module docstring)."""
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in _BREAK.finditer(text):
        pieces.append((start, match.end()))
        start = match.end()
    pieces.append((start, len(text)))
    if lang == "th":
        split: list[tuple[int, int]] = []
        for begin, end in pieces:
            at = begin
            for gap in _SPACE.finditer(text, begin, end):
                split.append((at, gap.start()))
                at = gap.end()
            split.append((at, end))
        pieces = split
    return [span for begin, end in pieces if (span := _stripped(text, begin, end)) is not None]


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[start:end] for start, end in sentence_spans(text, lang)]


def sentence_at(spans, offset: int) -> int | None:
    """The index of the first span with ``start <= offset < end``; None when the offset lies in
    no sentence (on the whitespace between two, say)."""
    for index, (start, end) in enumerate(spans):
        if start <= offset < end:
            return index
    return None
