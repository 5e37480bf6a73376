"""Typological distances between English and the harness's languages, from URIEL via urielplus.

The data are URIEL's (Littell et al., 2017) as shipped inside the ``urielplus`` package (no URIEL+
database integration, no imputation), read through ``urielplus.URIELPlus`` with its defaults made
explicit: ISO 639-3 codes, union aggregation over sources (``"U"``: a feature's value is the
maximum of its known source values; geographic features take the mean) and angular distance.
A distance between two languages is urielplus's ``new_distance(kind, [reference, language])``:
the angular distance 2·arccos(cos θ)/π (0 = same direction, 1 = opposite) between the two
languages' vectors restricted to the features of that kind known (≠ −1) for *both*, rounded by
urielplus to 4 decimals. (It is computed by urielplus's own ``_angular_distance`` on the vectors
built here as ``new_distance`` builds them, skipping that method's per-feature Python loop, which
takes ~0.25 s per genetic distance; the tests check both agree for every harness language.)
Kinds and their features: syntactic ``S_*`` (103), phonological ``P_*`` (28), inventory ``INV_*``
(158, PHOIBLE), featural = all typological features (289), genetic = Glottolog family membership
(3718), geographic = distances to 299 fixed points on the globe.

A distance is None — never an exception — when the language has no ISO 639-3 code in
:data:`ISO639_3`, URIEL lacks the code, URIEL has no feature of that kind for it, the two
languages share no known feature of that kind, or one vector is all zeros over the shared features
(the angle is undefined; urielplus would substitute a uniform vector and return an artefact near
0.97: this happens for genetic vectors of languages with no recorded family, e.g. Basque). The
reason is available from :func:`missing` / :func:`why_missing`, so a study can say what it lacks.
Distances computed from few shared features are noisy (e.g. 12 syntactic features for Kazakh):
:func:`shared_features` gives the count.

urielplus (and pandas) are imported only when a distance is first asked for, so importing this
module is cheap (``xharness list`` may import it). The URIELPlus object is built once per process
(about 1 s; importing urielplus and pandas another 1–2 s) and kept; each distance is memoised
(all 50 harness languages × 6 kinds: under 0.1 s once the object is built).
urielplus configures the root logger at import (``logging.basicConfig(level=INFO)``) and logs every
distance at INFO: its INFO messages are silenced and its changes to the root logger undone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

#: Harness language code (ISO 639-1, as XTREME / XTREME-R use them) → URIEL's ISO 639-3 code.
#: Rule: the individual language the XTREME data are written in; where URIEL lists a macrolanguage
#: and holds clearly more data for the macrolanguage code than for the individual one (many WALS
#: and PHOIBLE entries are filed under the macrolanguage), the macrolanguage code — a missing
#: distance kind or a handful of shared features costs more than the coarser label. Feature
#: counts below are (syntactic, phonological, inventory) features URIEL knows for the code.
ISO639_3: dict[str, str] = {
    "af": "afr",
    # Arabic: XTREME's is Modern Standard Arabic (arb), but URIEL's arb has (66, 0, 0) features —
    # no phonological or inventory distance — while the macrolanguage ara has (98, 28, 158).
    "ar": "ara",
    # Azerbaijani: the XTREME-R data are North Azerbaijani (azj), for which URIEL has (0, 0, 158):
    # no syntactic distance; the macrolanguage aze has (55, 25, 158).
    "az": "aze",
    "bg": "bul",
    "bn": "ben",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "es": "spa",
    # Estonian: the individual code ekk has (27, 0, 0) and no family in URIEL (all-zero genetic
    # vector); the macrolanguage est has (80, 0, 0) and the Uralic family.
    "et": "est",
    "eu": "eus",  # Basque: an isolate, URIEL records no family: no genetic distance (see above)
    # Persian: Iranian Persian pes has the same (85, 25, 158) as the macrolanguage fas: individual.
    "fa": "pes",
    "fi": "fin",
    "fr": "fra",
    "gu": "guj",
    "he": "heb",
    "hi": "hin",
    "ht": "hat",
    "hu": "hun",
    "id": "ind",
    "it": "ita",
    "ja": "jpn",
    "jv": "jav",
    "ka": "kat",
    "kk": "kaz",  # URIEL has few features: (12, 2, 0)
    "ko": "kor",
    "lt": "lit",
    "ml": "mal",
    "mr": "mar",
    # Malay: Standard Malay zsm has (12, 0, 158) (its 12 syntactic features all agree with
    # English: distance 0.0); the macrolanguage msa has (101, 25, 158).
    "ms": "msa",
    "my": "mya",
    "nl": "nld",
    "pa": "pan",  # Eastern Panjabi (Gurmukhi, as the XTREME data); Western pnb has no typology
    "pl": "pol",
    "pt": "por",
    # Quechua: WikiANN's is Southern Quechua, a mix of quy/quz, which have only (14, 0, 158) and
    # (13, 0, 158); the macrolanguage que has (82, 24, 158) but no family (no genetic distance).
    "qu": "que",
    "ro": "ron",
    "ru": "rus",
    # Swahili: the individual swh has the same (85, 27, 158) as the macrolanguage swa: individual.
    "sw": "swh",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tl": "tgl",  # Tagalog (74, 26, 158); Filipino fil has no syntactic features
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
    "vi": "vie",
    "wo": "wol",
    "yo": "yor",
    # Chinese: XTREME's is Mandarin; cmn has (94, 26, 158), close to the macrolanguage zho's
    # (102, 26, 158), so the individual language.
    "zh": "cmn",
}

#: The distance kinds a typology study uses (urielplus also has "morphological" and "script").
DISTANCES = ("syntactic", "phonological", "inventory", "genetic", "geographic", "featural")

#: Every kind :func:`distance` accepts: urielplus's distance types.
KINDS = DISTANCES + ("morphological", "script")

_PREFIX = {"syntactic": "S_", "phonological": "P_", "inventory": "INV_", "morphological": "M_"}

_URIEL: Any = None


@contextmanager
def _quiet():
    """Run urielplus without it touching logging: INFO silenced, the root logger restored after.

    urielplus calls ``logging.basicConfig(level=INFO)`` at import and the module-level
    ``logging.info`` for every distance, which adds a stderr handler to a root logger that has none.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.INFO))
    try:
        yield
    finally:
        logging.disable(previous)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def uriel():
    """The process's URIELPlus object (built on first use, defaults made explicit)."""
    global _URIEL
    if _URIEL is None:
        with _quiet():
            from urielplus import urielplus

            u = urielplus.URIELPlus()
            if u.get_codes() != "Iso":
                raise RuntimeError(f"urielplus identifies languages by {u.get_codes()!r}, not ISO 639-3")
            u.set_aggregation("U")
            u.set_distance_metric("angular")
        _URIEL = u
    return _URIEL


def provenance() -> dict[str, Any]:
    """What the distances depend on, for a study's record."""
    from importlib import metadata

    u = uriel()
    return {"source": "URIEL (as shipped in urielplus, no database integration or imputation)",
            "urielplus": metadata.version("urielplus"), "codes": u.get_codes(),
            "aggregation": u.get_aggregation(), "distance_metric": u.get_distance_metric(),
            "typological_sources": [str(s) for s in u.sources[1]], "iso639_3": dict(ISO639_3)}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown distance kind {kind!r}; kinds are {', '.join(KINDS)}")


@lru_cache(maxsize=None)
def _layout(kind: str):
    """(matrix index, boolean mask of the kind's features, {ISO code: row}) for a kind."""
    import numpy as np

    u = uriel()
    with _quiet():
        matrix = u.map_new_distance_to_loaded_features(kind)
    feats = np.asarray(u.feats[matrix]).astype(str)
    prefix = _PREFIX.get(kind)
    mask = np.char.startswith(feats, prefix) if prefix else np.ones(len(feats), dtype=bool)
    rows = {str(code): i for i, code in enumerate(u.langs[matrix])}
    return matrix, mask, rows


def _vector(code: str, kind: str):
    """(known mask, vector) of a language's features of the kind, built as urielplus builds them.

    One source: the stored value as stored (float32 for genetic and geographic, as urielplus, so
    its float32 arithmetic is reproduced); several sources: the maximum (aggregation "U") or the
    mean (geographic, or aggregation "A") of the known source values, as float64. Unknown: −1.
    """
    import numpy as np

    u = uriel()
    matrix, mask, rows = _layout(kind)
    stored = np.asarray(u.data[matrix][rows[code]])[mask]  # (features, sources)
    values = stored.astype(float)
    known_cells = (values != -1.0) & np.isfinite(values)
    known = known_cells.any(axis=-1)
    if stored.shape[-1] == 1:
        return known, stored[:, 0]
    if kind == "geographic" or u.get_aggregation() == "A":
        agg = np.where(known_cells, values, 0.0).sum(axis=-1) / np.maximum(known_cells.sum(axis=-1), 1)
    else:
        agg = np.where(known_cells, values, -np.inf).max(axis=-1)
    return known, np.where(known, agg, -1.0)


@lru_cache(maxsize=None)
def _compute(code: str, kind: str, ref: str) -> tuple[float | None, str | None, int]:
    """(distance, reason it is None, number of shared features) between two URIEL codes."""
    import numpy as np

    _check_kind(kind)
    _, _, rows = _layout(kind)
    for c in (code, ref):
        if c not in rows:
            return None, f"URIEL has no language {c!r}", 0
    vectors = {}
    for c in (code, ref):
        known, agg = _vector(c, kind)
        if not known.any():
            return None, f"URIEL has no {kind} features for {c!r}", 0
        vectors[c] = (known, agg)
    shared = vectors[code][0] & vectors[ref][0]
    n = int(shared.sum())
    if n == 0:
        return None, f"no {kind} feature is known for both {code!r} and {ref!r}", 0
    for c in (code, ref):
        if not np.any(vectors[c][1][shared] != 0):
            what = " (no language family recorded)" if kind == "genetic" else ""
            return None, (f"{c!r} has an all-zero {kind} vector over the {n} shared features{what}: "
                          "the angular distance is undefined"), n
    u = uriel()
    try:
        with _quiet():
            if hasattr(u, "_angular_distance"):
                # what new_distance(kind, [ref, code]) computes — urielplus's own angular distance
                # of the two vectors over the shared features — without its per-feature Python
                # loop (a genetic distance takes ~0.25 s there); tests check the two agree.
                value = u._angular_distance(vectors[ref][1][shared], vectors[code][1][shared])
            else:
                value = u.new_distance(kind, [ref, code])
    except ValueError as exc:  # a case the checks above missed: report it, do not crash
        return None, f"urielplus: {exc}".replace("\n", " "), n
    return float(value), None, n


def _codes(lang: str, reference: str) -> tuple[str | None, str | None, str | None]:
    code, ref = ISO639_3.get(lang), ISO639_3.get(reference)
    for name, c in ((lang, code), (reference, ref)):
        if c is None:
            return None, None, f"no ISO 639-3 code for {name!r} in ISO639_3"
    return code, ref, None


def _lookup(lang: str, kind: str, reference: str) -> tuple[float | None, str | None]:
    """(distance, None) or (None, why there is none)."""
    _check_kind(kind)
    code, ref, reason = _codes(lang, reference)
    if reason:
        return None, reason
    return _compute(code, kind, ref)[:2]


def distance(lang: str, kind: str, reference: str = "en") -> float | None:
    """URIEL distance of ``kind`` between two harness languages, or None if URIEL cannot give one."""
    return _lookup(lang, kind, reference)[0]


def why_missing(lang: str, kind: str, reference: str = "en") -> str | None:
    """Why :func:`distance` is None for these arguments (None when it has a value)."""
    return _lookup(lang, kind, reference)[1]


def shared_features(lang: str, kind: str, reference: str = "en") -> int:
    """How many features of ``kind`` the distance is computed from (known for both; 0 if none)."""
    _check_kind(kind)
    code, ref, reason = _codes(lang, reference)
    if reason:
        return 0
    return _compute(code, kind, ref)[2]


def distances(langs: Iterable[str], kinds: Iterable[str] = DISTANCES,
              reference: str = "en") -> dict[str, dict[str, float | None]]:
    """{kind: {language: distance from ``reference`` or None}} for every language and kind."""
    langs = list(langs)
    return {kind: {lang: distance(lang, kind, reference) for lang in langs} for kind in kinds}


def missing(langs: Iterable[str], kinds: Iterable[str] = DISTANCES,
            reference: str = "en") -> dict[str, str]:
    """{language: reason} for every language lacking a distance of at least one of ``kinds``.

    The reason names each kind that is missing, ``"kind: why; kind: why"``.
    """
    kinds = list(kinds)
    out = {}
    for lang in langs:
        reasons = [f"{kind}: {why}" for kind in kinds if (why := why_missing(lang, kind, reference))]
        if reasons:
            out[lang] = "; ".join(reasons)
    return out
