"""``xharness data check``: the comparison of hub metadata with a task's published counts, columns and
label names, tested offline on dataset cards recorded from the hub (tests/data/hub_cards, each entry
with the URL it was read from) and parsed by the hub's and datasets' own readers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli import cli
from harness.data.check import SourceMeta, check_task, checked_splits, metas_from_card
from harness.contract.errors import UserError
from harness.contract.spec import HubSource

CARDS = Path(__file__).parent / "data" / "hub_cards"


def _card(name: str) -> dict[str, SourceMeta]:
    return metas_from_card(yaml.safe_load((CARDS / f"{name}.yaml").read_text(encoding="utf-8")))


RECORDED = {"google/xtreme": _card("google-xtreme"), "google-research-datasets/paws-x": _card("paws-x")}


def recorded_meta(source: HubSource, config: str | None) -> SourceMeta:
    try:
        return RECORDED[source.path][config]
    except KeyError:
        raise UserError(f"{source.path} ({config}): not recorded") from None


def _by(findings, split, lang):
    (found,) = [f for f in findings if f.split == split and f.lang.split(" ")[0] == lang]
    return found


def test_the_recorded_cards_parse_with_the_hubs_own_readers():
    xtreme = RECORDED["google/xtreme"]
    assert xtreme["PAWS-X.ko"].splits == {"train": 49164, "validation": 2000, "test": 1999}
    assert xtreme["udpos.Greek"].labels["pos_tags"][:3] == ("ADJ", "ADP", "ADV")  # ClassLabel inside a sequence
    assert RECORDED["google-research-datasets/paws-x"]["ja"].labels == {"label": ("0", "1")}


def test_google_xtreme_paws_x_is_caught_short_of_the_published_rows(registry):
    """The source PAWS-X read before: google/xtreme's PAWS-X.* configs, whose conversion lost rows."""
    pawsx = registry.task("target", "pawsx").spec
    old = replace(pawsx, hub=replace(pawsx.hub, path="google/xtreme", config="PAWS-X.{lang}", label_names={}))
    findings = list(check_task("pawsx", old, recorded_meta, ["en", "ko"]))
    assert {(f.split, f.lang) for f in findings} == {(s, lang) for s in ("train", "dev", "test") for lang in ("en",)} | {
        ("dev", "ko"), ("test", "ko")}
    ko_test = _by(findings, "test", "ko")
    assert ko_test.status == "MISMATCH" and ko_test.rows == 1999 and ko_test.published == 2000
    assert "1999 rows where 2000 are published (XTREME" in ko_test.problems[0]
    en_train = _by(findings, "train", "en")
    assert en_train.rows == 49175 and en_train.status == "MISMATCH"
    assert _by(findings, "dev", "ko").status == "ok"


def test_the_paws_x_source_read_now_has_every_published_row(registry):
    pawsx = registry.task("target", "pawsx").spec
    findings = list(check_task("pawsx", pawsx, recorded_meta, ["ja", "zh"]))
    assert [f.status for f in findings] == ["ok"] * 4
    assert all(f.rows == 2000 and "paws-x" in f.sources[0] for f in findings)


def test_one_config_holding_every_language_is_counted_for_all_of_them(registry):
    """XNLI's dev and test on google/xtreme are one config of 15 languages: the card's 37,350 and 75,150
    rows are compared with 15 x 2,490 and 15 x 5,010, also when one language is asked for."""
    xnli = registry.task("target", "xnli").spec
    findings = list(check_task("xnli", xnli, recorded_meta, ["de"]))
    assert [(f.split, f.status, f.rows, f.published) for f in findings] == [
        ("dev", "ok", 37350, 37350), ("test", "ok", 75150, 75150)]
    assert findings[0].lang == "de +14 (one config)"
    # the training split (MNLI, another dataset) is checked in English only, and this one is not recorded
    train = _by(list(check_task("xnli", xnli, recorded_meta, ["en"])), "train", "en")
    assert train.status == "MISMATCH" and "not recorded" in train.problems[0] and train.rows is None


def test_udpos_counts_columns_and_label_order(registry):
    udpos = registry.task("target", "udpos").spec
    findings = list(check_task("udpos", udpos, recorded_meta, ["en", "el"]))
    assert _by(findings, "train", "en").status == "ok" and _by(findings, "dev", "en").status == "ok"
    greek = _by(findings, "test", "el")
    assert greek.rows == 2809 and greek.status == "unchecked count"  # XTREME publishes only a range for test

    swapped = dict(RECORDED["google/xtreme"])
    names = list(swapped["udpos.Greek"].labels["pos_tags"])
    names[0], names[1] = names[1], names[0]
    swapped["udpos.Greek"] = replace(swapped["udpos.Greek"], labels={"pos_tags": tuple(names)},
                                     columns=("tokens",))
    findings = list(check_task("udpos", udpos, lambda s, c: swapped[c], ["el"]))
    problems = " ".join(_by(findings, "test", "el").problems)
    assert "lacks column(s) pos_tags" in problems
    assert "label names ['ADP', 'ADJ'" in problems and "differ from the order the task maps ids by" in problems


def test_a_missing_split_is_a_mismatch(registry):
    pawsx = registry.task("target", "pawsx").spec
    meta = SourceMeta(splits={"train": 49401, "test": 2000}, columns=("sentence1", "sentence2", "label"))
    dev = _by(list(check_task("pawsx", pawsx, lambda s, c: meta, ["de"])), "dev", "de")
    assert dev.status == "MISMATCH" and "has no split 'validation' (it has test, train)" in dev.problems[0]


def test_languages_without_a_split_are_not_asked_for(registry):
    udpos = registry.task("target", "udpos").spec
    assert ("dev", "th") not in checked_splits(udpos, ["th"]) and ("test", "th") in checked_splits(udpos, ["th"])
    xquad = registry.task("target", "xquad").spec
    # XQuAD's dev set is SQuAD's in every language: checked once, in English
    assert [pair for pair in checked_splits(xquad, ["en", "de"]) if pair[0] == "dev"] == [("dev", "en")]


def test_every_published_count_cites_its_source(registry):
    counted = 0
    for role in ("target", "intermediate"):
        for name, task in registry.tasks[role].items():
            for group in task.spec.sizes:
                assert len(group.source) > 20, f"{name}: a published count without a citation"
                counted += sum(len(row) for row in group.counts.values())
    assert counted >= 30


# -- the command ---------------------------------------------------------------------------------

def test_offline_it_says_in_one_line_that_it_needs_the_hub(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from harness.data import hub

    hub.hub_reachable.cache_clear()
    result = CliRunner().invoke(cli, ["data", "check", "pawsx"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: ") and "hub access" in result.output


def test_an_unknown_task_is_one_line():
    result = CliRunner().invoke(cli, ["data", "check", "nope"])
    assert result.exit_code == 2 and result.output.strip().startswith("error: unknown task nope")


@pytest.mark.parametrize("as_json", [False, True])
def test_the_command_prints_one_table_and_exits_1_on_a_mismatch(monkeypatch, as_json):
    """The hub is replaced by the recorded cards (the network is the only thing not run)."""
    from harness.data import check as datacheck, hub

    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    monkeypatch.setattr(datacheck, "hub_meta_reader", lambda count_missing=True: recorded_meta)
    args = ["data", "check", "pawsx", "xnli", "--languages", "ja,zh,ar"] + (["--json"] if as_json else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    if as_json:
        rows = json.loads(result.output)
        assert {(r["task"], r["split"], r["status"]) for r in rows} >= {("pawsx", "test", "ok"), ("xnli", "dev", "ok")}
    else:
        assert "hub rows" in result.output and "published" in result.output
        assert result.output.rstrip().splitlines()[-1].startswith("6 splits checked: 0 mismatched")
    result = CliRunner().invoke(cli, ["data", "check", "udpos", "--languages", "en,de"])
    assert result.exit_code == 1  # udpos.German is not recorded: named in the table, not a traceback
    assert "udpos.German" in result.output and "Traceback" not in result.output


def test_pins_names_each_unpinned_dataset_once_and_whether_it_can_be_pinned(registry):
    from types import SimpleNamespace

    from harness.data.check import pin_candidate, unpinned_paths

    specs = [registry.task("target", name).spec for name in ("pawsx", "udpos", "panx", "xnli")]
    assert unpinned_paths(specs) == ["google-research-datasets/paws-x", "google/xtreme", "unimelb-nlp/wikiann"]
    sha = "0123456789abcdef0123456789abcdef01234567"
    files = lambda *names: [SimpleNamespace(rfilename=n) for n in names]  # noqa: E731 (HfApi's RepoSibling shape)
    scripted = pin_candidate("google/xtreme", SimpleNamespace(sha=sha, siblings=files("xtreme.py", "README.md")))
    assert "still holds xtreme.py" in scripted and "not pinnable" in scripted
    parquet = pin_candidate("google/xtreme", SimpleNamespace(sha=sha, siblings=files("README.md", "XNLI/test.parquet",
                                                                                   "tools/convert.py")))
    assert f'revision="{sha}"' in parquet
