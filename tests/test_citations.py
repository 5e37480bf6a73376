"""Citations (issue 24, point 3): every task, model and leaderboard of the bundled plugins has BibTeX in
its package's citations.bib (package data: no key changes with it), `xharness cite` prints exactly
what a store's runs used, the Markdown and HTML reports end with their references, and
CITATION.cff is valid CFF 1.2.0."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import harness
from harness.cli import cli
from harness.contract import citations
from harness.contract.discovery import BUILTIN_DISTRIBUTIONS, discover

ROOT = Path(__file__).resolve().parent.parent


# -- the parser ----------------------------------------------------------------------------------------

def test_the_parser_reads_what_bibtex_files_hold():
    text = r"""
% a comment line with an @sign: @article{not,an,entry}
Free text outside entries is a comment too.
@string{acl = "Association for Computational Linguistics"}
@comment{ignored {nested} text}
@Article{first2020,
  Title = {A {Nested {Braced}} Title: {\'E}t{\'e} and Glava{\v{s}}},
  author = "Doe, Jane and John Smith and others",
  journal = acl # " Journal",
  year = 2020,
  xharness = {task:a, task:b
              model:c},
}
@misc( second ,
  title={Trailing}, year={1999}
)
"""
    first, second = citations.parse(text, "t.bib")
    assert (first.type, first.key) == ("article", "first2020")
    assert first.get("title") == r"A {Nested {Braced}} Title: {\'E}t{\'e} and Glava{\v{s}}"
    assert first.get("journal") == "acl Journal" and "year" in first.bare and first.get("year") == "2020"
    assert first.cites == ("task:a", "task:b", "model:c")
    assert citations.plain(first.get("title")) == "A Nested Braced Title: Été and Glavaš"
    assert first.text() == "Jane Doe, John Smith et al. (2020). A Nested Braced Title: Été and Glavaš. acl Journal."
    printed = first.bibtex()
    assert "xharness" not in printed and printed.startswith("@article{first2020,") and "year    = 2020," in printed
    assert citations.parse(printed)[0].fields == tuple(f for f in first.fields if f[0] != "xharness")
    assert (second.type, second.key, second.get("title")) == ("misc", "second", "Trailing")


@pytest.mark.parametrize("text, problem", [
    ("@article{k, title = {open", "t.bib:1: '{' is not closed"),
    ("@article{k, title = {a}\n", "t.bib:1: entry 'k' is not closed"),
    ("\n@article{k, title {a}}", "t.bib:2: expected '=' after field 'title'"),
    ("@article{k, title = {a}, title = {b}}", "field 'title' twice"),
    ("@article{k, year = 1}\n@misc{k, year = 2}", "t.bib:2: key 'k' is used twice"),
    ("@article{, year = 1}", "entry without a key"),
])
def test_a_malformed_file_is_one_line_with_its_line_number(text, problem):
    with pytest.raises(citations.BibError, match=re.escape(problem)):
        citations.parse(text, "t.bib")


# -- the bundled plugins ---------------------------------------------------------------------------------

def _builtin(registry):
    return {name for name, info in registry.plugins.items() if info.distribution in BUILTIN_DISTRIBUTIONS}


#: built here (from the bundled samples): nothing to cite
UNCITED = {("model", "tiny"), ("model", "tiny-large")}


def test_every_task_model_and_leaderboard_of_the_bundled_plugins_has_its_bibtex():
    registry = discover()
    builtin = _builtin(registry)
    named = [("task", name, item.plugin) for table in registry.tasks.values() for name, item in table.items()]
    named += [("model", name, item.plugin) for name, item in registry.models.items()]
    named += [("leaderboard", name, item.plugin) for name, item in registry.leaderboards.items()]
    named = [n for n in named if n[2] in builtin]
    assert len([n for n in named if n[0] == "task"]) >= 22 and len(named) >= 29
    lacking = []
    for what, name, plugin in named:
        entries = citations.entries_for(registry, what, name, plugin)
        if (what, name) in UNCITED:
            assert not entries, (what, name)
            continue
        if not entries:
            lacking.append(f"{what} {name} ({plugin})")
        for entry in entries:
            assert entry.get("author") and entry.get("title") and re.fullmatch(r"\d{4}", entry.get("year")), entry.key
    assert not lacking, lacking
    for package in ("harness", "xharness_xtreme", "xharness_stilts", "xharness_models"):
        entries, problem = citations.package_entries(package)
        assert problem is None and entries, package
        for entry in entries:  # every item names something registered (no typo leaves a name uncited)
            for item in entry.cites:
                what, _, name = item.partition(":")
                assert item == citations.ALWAYS or (what == "task" and any(name in t for t in registry.tasks.values())) \
                    or name in {"model": registry.models, "leaderboard": registry.leaderboards}[what], (entry.key, item)


def test_the_papers_the_issue_names_are_there():
    registry = discover()
    found = citations.collect(registry, tasks=["pawsx", "xcopa", "anli", "qqp"],
                              models=["xlm-roberta-large", "bert-base-multilingual-cased"])
    assert found.keys == ["phang2020xstilts", "xharness", "yang2019pawsx", "ponti2020xcopa", "roemmele2011copa",
                          "williams2018mnli", "nie2020anli", "bowman2015snli", "iyer2017qqp", "hu2020xtreme",
                          "ruder2021xtremer", "conneau2020xlmr", "devlin2019bert"]
    assert found.missing == [] and found.problems == []
    by_key = {entry.key: entry for entry in found.entries}
    assert by_key["phang2020xstilts"].get("eprint") == "2005.13013"
    assert by_key["hu2020xtreme"].get("title").startswith("{XTREME}: A Massively Multilingual Multi-task Benchmark")
    assert "Towards More Challenging and Nuanced" in by_key["ruder2021xtremer"].get("title")
    assert by_key["iyer2017qqp"].type == "misc"
    assert by_key["xharness"].get("version") == harness.__version__  # the citation's version is the package's


def test_citations_are_data_so_no_key_depends_on_them():
    """The plugin's code digest (which every key holds) covers its .py files only: editing citations.bib
    leaves it as it is."""
    from harness.contract.discovery import _package_digest

    before = _package_digest("xharness_xtreme")
    bib = ROOT / "plugins" / "xtreme" / "xharness_xtreme" / "citations.bib"
    assert bib.is_file()
    from harness.contract.discovery import _source_files

    assert bib not in _source_files("xharness_xtreme", package=True)
    assert _package_digest("xharness_xtreme") == before
    for pyproject in ("plugins/xtreme", "plugins/stilts", "plugins/models", "."):
        assert "citations.bib" in (ROOT / pyproject / "pyproject.toml").read_text(), pyproject  # package data


# -- xharness cite and the reports, on a real small store -------------------------------------------------

@pytest.fixture(scope="module")
def store(smoke_results, tmp_path_factory):
    """A store of one smoke cell, hellaswag -> pawsx on the tiny model: the suite's shared smoke run
    (conftest's smoke_run: made once a session), its run folder copied so no other test's runs join it."""
    import shutil

    output = tmp_path_factory.mktemp("cite") / "store"
    shutil.copytree(smoke_results.parent, output / "runs" / smoke_results.parent.name, symlinks=True)
    return output


def _keys(bibtex: str) -> list[str]:
    return re.findall(r"^@\w+\{([^,]+),", bibtex, re.M)


def test_cite_prints_exactly_what_the_stores_runs_used(store):
    result = CliRunner().invoke(cli, ["cite", str(store)])
    assert result.exit_code == 0, result.output
    # the protocol and xharness always; the intermediate and target tasks; the leaderboard pawsx is in
    # (XTREME, not XTREME-R, which dropped PAWS-X); tiny is built here: a comment, not an entry
    assert _keys(result.output) == ["phang2020xstilts", "xharness", "zellers2019hellaswag", "yang2019pawsx",
                                    "hu2020xtreme"]
    assert [line for line in result.output.splitlines() if line.startswith("%")] == \
        ["% no BibTeX entry for model tiny (plugin models)"]
    assert "xharness =" not in result.output and f"version = {{{harness.__version__}}}" in result.output
    assert [(e.key, e.get("title")) for e in citations.parse(result.output)][2] == \
        ("zellers2019hellaswag", "{HellaSwag}: Can a Machine Really Finish Your Sentence?")  # it parses back
    text = CliRunner().invoke(cli, ["cite", str(store), "--format", "text"]).output
    assert text.splitlines()[2].startswith("[3] Rowan Zellers, Ari Holtzman, Yonatan Bisk, Ali Farhadi, and Yejin "
                                           "Choi (2019). HellaSwag: Can a Machine Really Finish Your Sentence? In ")


def test_cite_by_name_and_its_one_line_errors():
    result = CliRunner().invoke(cli, ["cite", "--task", "pawsx", "--task", "hellaswag", "--model", "xlm-roberta-large"])
    assert result.exit_code == 0, result.output
    assert _keys(result.output) == ["phang2020xstilts", "xharness", "yang2019pawsx", "zellers2019hellaswag",
                                    "hu2020xtreme", "conneau2020xlmr"]
    assert "%" not in result.output
    for args, problem in ((["--task", "pawx"], "error: unknown task 'pawx'; did you mean 'pawsx'"),
                          (["--model", "xlmr"], "error: unknown model 'xlmr'"),
                          (["--leaderboard", "xtrem"], "error: unknown leaderboard 'xtrem'")):
        result = CliRunner().invoke(cli, ["cite", *args])
        assert result.exit_code == 2 and result.output.startswith(problem), result.output
        assert result.output.count("\n") == 1, result.output
    result = CliRunner().invoke(cli, ["cite", "--help"])
    assert result.exit_code == 0 and "--format [bibtex|text]" in result.output


def test_a_run_of_a_task_no_plugin_registers_is_named_not_dropped(tmp_path):
    registry = discover()
    found = citations.for_records(registry, [{"intermediate_tasks": [], "target_task": "gone",
                                              "model": {"name": "xlm-roberta-base"}, "versions": {"core": "0.1.0"}}])
    assert found.keys == ["phang2020xstilts", "xharness", "conneau2020xlmr"]
    assert found.comment_lines() == ["% no BibTeX entry for task gone (not installed)"]
    assert found.entries[1].get("version") == "0.1.0"  # the version that made the runs


def test_the_markdown_and_html_reports_end_with_their_references(store):
    markdown = CliRunner().invoke(cli, ["report", str(store), "--format", "markdown", "--bootstrap", "0"]).output
    body, _, references = markdown.partition("\n## References\n")
    assert "| hellaswag" in body and "References" not in body
    numbered = re.findall(r"^(\d+)\. (.+)$", references, re.M)
    assert [n for n, _ in numbered] == ["1", "2", "3", "4", "5"]
    assert numbered[0][1].startswith("Jason Phang, Iacer Calixto") and "(2020)" in numbered[0][1]
    assert numbered[4][1].startswith("Junjie Hu") and "XTREME: A Massively Multilingual" in numbered[4][1]
    assert "- no BibTeX entry for model tiny (plugin models)" in references
    assert references.rstrip().endswith("`xharness cite` with the folders of this report.")
    page = CliRunner().invoke(cli, ["report", str(store), "--format", "html", "--bootstrap", "0"]).output
    tail = page[page.index('<section id="references">'):]
    assert tail.index("</section>") > tail.index('<li id="ref-hu2020xtreme">') and \
        tail[tail.index("</section>"):].strip() == "</section>\n</body>\n</html>".strip()
    assert len(re.findall(r'<li id="ref-', tail)) == 5
    for fmt in ("json", "csv"):  # numbers only: no references there
        shown = CliRunner().invoke(cli, ["report", str(store), "--format", fmt, "--bootstrap", "0"]).output
        assert "Zellers" not in shown and "References" not in shown


# -- plugin authors: the scaffold asks for the BibTeX, the kit reminds them -------------------------------

@pytest.mark.parametrize("package, what, name", [("task", "task", "newcite"), ("model", "model", "newcite-encoder")])
def test_new_plugin_writes_a_citations_bib_asking_for_the_bibtex(tmp_path, monkeypatch, package, what, name):
    import importlib
    import sys

    from harness.testing import CitationWarning, assert_plugin_ok, check_citations

    result = CliRunner().invoke(cli, ["new-plugin", "xharness-newcite", "--package", package, "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "xharness-newcite"
    bib = (folder / "xharness_newcite" / "citations.bib").read_text(encoding="utf-8")
    assert citations.parse(bib) == []  # a comment only, no made-up entry
    assert all(line.startswith("%") or not line.strip() for line in bib.splitlines())
    assert f"xharness = {{{what}:{name}}}" in bib and "EDIT" in bib
    assert re.search(r'^xharness_newcite = \[.*"citations\.bib"\]', (folder / "pyproject.toml").read_text(), re.M)
    assert "xharness_newcite/citations.bib" in (folder / "README.md").read_text()
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module("xharness_newcite")
    try:
        assert check_citations(module, name="xharness-newcite") == [
            f"{what} {name!r}: no BibTeX entry in xharness_newcite/citations.bib (an entry with xharness = "
            f"{{{what}:{name}}}); `xharness cite` names it as uncited"]
        if package == "model":  # the kit warns, it does not fail (the task package's smoke run is tested elsewhere)
            with pytest.warns(CitationWarning, match="no BibTeX entry in xharness_newcite/citations.bib"):
                assert_plugin_ok(module, name="xharness-newcite")
        (folder / "xharness_newcite" / "citations.bib").write_text(
            bib + f"\n@misc{{k, author = {{A}}, title = {{T}}, year = {{2024}}, xharness = {{{what}:{name}}}}}\n")
        assert check_citations(module, name="xharness-newcite") == []
        (folder / "xharness_newcite" / "citations.bib").write_text("@misc{k, title = {T}\n")
        (problem,) = check_citations(module, name="xharness-newcite")
        assert problem.startswith("citations: xharness_newcite/citations.bib:1: ")
    finally:
        for loaded in [m for m in sys.modules if m == "xharness_newcite" or m.startswith("xharness_newcite.")]:
            del sys.modules[loaded]


def test_the_example_plugins_cite_what_they_register():
    from harness.testing import check_citations

    for module in ("xharness_xtreme", "xharness_xtreme.xtreme_r", "xharness_stilts", "xharness_models",
                   "xharness_sts"):
        assert check_citations(module) == [], module
    entries, problem = citations.package_entries("xharness_sts")
    assert problem is None and [e.key for e in entries] == ["cer2017semeval", "may2021stsbmultimt"]
    americas = ROOT / "examples" / "xharness-americasnli" / "xharness_americasnli" / "citations.bib"
    keys = {e.key: e.cites for e in citations.parse(americas.read_text(encoding="utf-8"))}
    assert keys == {"ebrahimi2022americasnli": ("task:americasnli",), "williams2018mnli": ("task:americasnli",),
                    "conneau2020xlmr": ("model:xlmr-americas",)}


# -- CITATION.cff and the README -----------------------------------------------------------------------------

def test_citation_cff_is_valid_cff_1_2_0_and_names_this_version(tmp_path):
    cffconvert = pytest.importorskip("cffconvert.cli.create_citation", reason="cffconvert (the test extra)")
    path = ROOT / "CITATION.cff"
    citation = cffconvert.create_citation(str(path), None)
    citation.validate()  # raises on a file the CFF 1.2.0 schema rejects
    assert citation.cffobj["cff-version"] == "1.2.0" and str(citation.cffobj["version"]) == harness.__version__
    assert "xharness cite" in citation.cffobj["message"]
    assert citation.cffobj["references"][0]["url"] == "https://arxiv.org/abs/2005.13013"
    broken = tmp_path / "CITATION.cff"  # the validation is real: without authors the file is refused
    broken.write_text(re.sub(r"^authors:\n(  - .*\n)+", "", path.read_text(encoding="utf-8"), flags=re.M))
    assert "authors:" not in broken.read_text().split("references:")[0]
    with pytest.raises(Exception):
        cffconvert.create_citation(str(broken), None).validate()


def test_the_readme_says_how_to_cite_with_xharness_own_entry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    citing = readme[readme.index("## Citing"):readme.index("## Licence")]
    (software,) = [e for e in citations.package_entries("harness")[0] if e.type == "software"]
    assert software.bibtex() in citing and "xharness cite xharness-runs" in citing and "CITATION.cff" in citing
