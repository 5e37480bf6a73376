"""xharness_studies.uriel: URIEL distances through urielplus, the ISO 639-3 table, missing languages."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import xharness_studies  # noqa: F401
except ImportError:  # plugins/studies not pip-installed: import it from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "studies"))

pytest.importorskip("urielplus")

from xharness_studies import uriel  # noqa: E402


@pytest.fixture(scope="module")
def direct():
    """A URIELPlus object of our own, with urielplus's defaults, to compare against."""
    from urielplus import urielplus

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    u = urielplus.URIELPlus()
    yield u
    for handler in list(root.handlers):  # undo urielplus's logging.basicConfig
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def harness_languages():
    from harness.contract.discovery import discover

    registry = discover()
    langs = set()
    for registered in registry.tasks["target"].values():
        if registered.plugin in ("xtreme", "xtreme-r"):
            langs.update(registered.spec.all_languages)
    assert len(langs) >= 40, "the xtreme plugins did not register their tasks"
    return sorted(langs)


def test_import_is_light():
    code = ("import sys, xharness_studies.uriel\n"
            "heavy = [m for m in ('pandas', 'urielplus', 'scipy') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    env_path = str(Path(__file__).resolve().parents[1] / "plugins" / "studies")
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.append({env_path!r})\n" + code], check=True)


def test_every_harness_language_has_a_code_urielplus_knows(harness_languages):
    assert "en" in harness_languages and "sw" in harness_languages
    u = uriel.uriel()
    known = {str(code) for code in u.langs[0]}
    for lang in harness_languages:
        assert lang in uriel.ISO639_3, f"{lang} has no ISO 639-3 code in ISO639_3"
        assert uriel.ISO639_3[lang] in known, f"{lang} → {uriel.ISO639_3[lang]} is not in URIEL"
    assert len(set(uriel.ISO639_3.values())) == len(uriel.ISO639_3), "two languages share a code"


@pytest.mark.parametrize("lang,code", [("de", "deu"), ("ja", "jpn"), ("sw", "swh")])
@pytest.mark.parametrize("kind", ["syntactic", "genetic"])
def test_distance_is_urielplus(direct, lang, code, kind):
    expected = direct.new_distance(kind, ["eng", code])
    assert uriel.ISO639_3[lang] == code
    got = uriel.distance(lang, kind)
    assert isinstance(got, float) and got == expected
    assert uriel.why_missing(lang, kind) is None
    assert uriel.shared_features(lang, kind) > 0


def test_every_kind_is_urielplus_for_german_and_arabic(direct):
    for lang in ("de", "ar"):
        for kind in uriel.DISTANCES:
            assert uriel.distance(lang, kind) == direct.new_distance(kind, ["eng", uriel.ISO639_3[lang]])
    assert uriel.distance("en", "syntactic") == 0.0
    expected = direct.new_distance("syntactic", ["jpn", "deu"])
    assert uriel.distance("de", "syntactic", reference="ja") == expected


def test_every_language_agrees_with_new_distance(direct, harness_languages):
    # distance() builds the vectors itself and calls urielplus's angular distance: it must give
    # new_distance's value exactly, or None exactly where urielplus fails or returns the
    # all-zero-vector artefact (genetic: a slow loop in urielplus, so a sample of languages)
    for kind in uriel.DISTANCES:
        langs = harness_languages if kind != "genetic" else ["de", "ja", "hi", "ru", "ar", "eu", "et"]
        for lang in langs:
            got = uriel.distance(lang, kind)
            try:
                expected = direct.new_distance(kind, ["eng", uriel.ISO639_3[lang]])
            except ValueError:
                expected = None
            if got is None:
                assert expected is None or "all-zero" in uriel.why_missing(lang, kind), (kind, lang)
            else:
                assert got == expected, (kind, lang, got, expected)


def test_language_urielplus_lacks(monkeypatch, direct):
    monkeypatch.setitem(uriel.ISO639_3, "xx", "xxq")  # a code URIEL does not have
    with pytest.raises(ValueError, match="Unknown languages"):
        direct.new_distance("syntactic", ["eng", "xxq"])
    assert uriel.distance("xx", "syntactic") is None
    assert "no language 'xxq'" in uriel.why_missing("xx", "syntactic")
    assert uriel.distance("zz", "genetic") is None  # not in the table at all
    gone = uriel.missing(["de", "xx", "zz"])
    assert set(gone) == {"xx", "zz"}
    assert all(kind in gone["xx"] for kind in uriel.DISTANCES)
    assert "no ISO 639-3 code for 'zz'" in gone["zz"]
    table = uriel.distances(["de", "xx"], ["syntactic", "genetic"])
    assert set(table) == {"syntactic", "genetic"}
    assert table["syntactic"]["xx"] is None and table["syntactic"]["de"] is not None


def test_kind_urielplus_lacks_for_a_known_language(direct):
    # Italian has no phonological features in URIEL: urielplus raises, distance() says None
    with pytest.raises(ValueError, match="No shared phonological features"):
        direct.new_distance("phonological", ["eng", "ita"])
    assert uriel.distance("it", "phonological") is None
    assert "no phonological features for 'ita'" in uriel.missing(["it"])["it"]
    assert uriel.distance("it", "syntactic") is not None


def test_all_zero_vector_is_none_not_urielplus_artefact(direct):
    # Basque has no recorded family: urielplus substitutes a uniform vector and returns ~0.97
    artefact = direct.new_distance("genetic", ["eng", "eus"])
    assert 0.9 < artefact < 1.0
    assert uriel.distance("eu", "genetic") is None
    assert "all-zero genetic vector" in uriel.why_missing("eu", "genetic")


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown distance kind"):
        uriel.distance("de", "semantic")


def test_logging_left_alone():
    uriel.uriel()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    uriel.distance("fr", "geographic", reference="de")  # a fresh (not memoised) urielplus call
    assert list(root.handlers) == handlers and root.level == level


def test_provenance():
    record = uriel.provenance()
    assert record["urielplus"] and record["aggregation"] == "U" and record["distance_metric"] == "angular"
    assert record["iso639_3"]["zh"] == "cmn"
