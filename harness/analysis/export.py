"""``xharness export``: a store's results as Hugging Face Hub model cards.

For every backbone and experiment of a store (``report.build``'s tables), one folder holding

* ``README.md``: a whole model card. Its YAML front matter is the Hub's evaluation metadata
  (``model-index``), written by ``huggingface_hub`` from ``EvalResult``s through ``ModelCardData``,
  never by hand: one result per row of the matrix (intermediate task(s), ``none`` for the baseline),
  target task and test language, and one per row and target task for the task's score (the mean
  over its languages, XTREME's); each the mean over seeds, in percent. Its body is the section below.
* ``results.md``: the section alone, to paste into an existing card: the X-STILTs matrix exactly as
  ``xharness report --format markdown`` shows it (intermediate tasks × target tasks, mean ± std over
  seeds, Δ against ``none``, significance and flags), what the data was, and per target task its
  per-language scores (the numbers in the metadata).

Where the runs read their data from the bundled samples or local files rather than the hub, the
metadata still names the hub dataset the task stands for (there is no other id to give), and both
the section and each metric's name say that the figures come from that other data. A number the
report flags (``⚑``: one class, at chance …) is flagged in the section and in its metric's name.

Nothing here talks to the network but :func:`push`, and only when asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.analysis import report
from harness.contract.errors import UserError

#: The Hub task type of a task whose kind names none (``KindSpec.hub_task``).
OTHER_TASK = "other"
#: The card's file on the Hub and in each folder, and the section alone.
CARD_FILE = "README.md"
SECTION_FILE = "results.md"
DECIMALS = 4  # a metric value's decimals in the metadata (scores are in percent)


@dataclass
class Export:
    """One model card: a backbone's results in one experiment."""

    model: str
    experiment: str
    folder: str  # the folder's name under the output folder: <model>/<experiment>, sanitised
    eval_results: list = field(default_factory=list)  # huggingface_hub EvalResults
    section: str = ""
    card: Any = None  # huggingface_hub.ModelCard
    flagged: int = 0  # eval results whose numbers are flagged
    path: Path | None = None  # the folder it was written to
    pushed: str | None = None  # the URL of the commit (or pull request) that uploaded it

    def write(self, output: Path) -> Path:
        """Write ``README.md`` and ``results.md`` under ``output/<folder>``; returns that folder."""
        from harness.common.fsutil import atomic_write_text, storage_fault

        where = Path(output) / self.folder
        try:
            atomic_write_text(where / CARD_FILE, str(self.card))
            atomic_write_text(where / SECTION_FILE, self.section)
        except OSError as exc:
            reason = storage_fault(exc) or exc.strerror or str(exc)
            raise UserError(f"cannot write the model card under {where}: {reason}") from None
        self.path = where
        return where


def export_store(store: Path, *, output: Path | None = None, model: str | None = None,
                 experiment: str | None = None, resamples: int = 1000, seed: int = 0, push_to: str | None = None,
                 create_pr: bool = False) -> list[Export]:
    """``xharness export``: the cards of ``store``'s runs written under ``output`` (default
    ``store/export``), and with ``push_to`` the one card uploaded to that Hub repository."""
    if create_pr and push_to is None:
        raise UserError("--create-pr opens a pull request for --push: give --push REPO too")
    runs, skipped = report.collect([Path(store)])
    cards = exports(runs, model=model, experiment=experiment, resamples=resamples, seed=seed, skipped=skipped)
    if push_to is not None and len(cards) != 1:
        raise UserError(f"--push uploads one card, and the store has {len(cards)} "
                        f"({'; '.join(f'--model {c.model} --experiment {c.experiment}' for c in cards)}): "
                        f"pick one with --model and --experiment")
    for card in cards:
        card.write(Path(output) if output is not None else Path(store) / "export")
    if push_to is not None:
        cards[0].pushed = push(cards[0].path, push_to, create_pr=create_pr)
    return cards


def safe_name(name: str) -> str:
    """A folder name for a model or experiment name (a hub id, a local path, ``sweep:grid``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", name).strip("-.")
    return cleaned[:100] or "unnamed"


def exports(runs: Sequence[report.Run], *, model: str | None = None, experiment: str | None = None,
            resamples: int = 1000, seed: int = 0, skipped: Sequence[str] = ()) -> list[Export]:
    """One :class:`Export` per backbone and experiment of ``runs`` (``model`` and ``experiment`` pick,
    as in ``report.build``); the matrix is the report's, with the same bootstrap."""
    from harness import __version__
    from harness.contract.discovery import discover

    registry = discover()
    records = {str(run.folder): run.record for run in runs}
    built = report.build(runs, model=model, experiment=experiment, resamples=resamples, seed=seed, skipped=skipped)
    found: list[Export] = []
    taken: set[str] = set()
    for table in built.tables:
        folder = f"{safe_name(table.model)}/{safe_name(table.experiment or 'runs')}"
        while folder in taken:  # two names that sanitise alike
            folder += "_"
        taken.add(folder)
        item = Export(table.model, table.experiment, folder)
        drills = []
        for task in table.columns[:-1]:
            # the task's languages, absolute scores: each row's own numbers and flags (not its Δ's)
            drill = report.drill_down(table, runs, task, mode="absolute", resamples=0)  # the matrix's runs
            drills.append(drill)
            item.eval_results += _eval_results(registry, drill, _first_record(drill, records))
        item.flagged = sum("flagged:" in (r.metric_name or "") for r in item.eval_results)
        matrix = report.Report([table], [], built.resamples, built.seed,
                               left_out=[line for line in built.left_out
                                         if line.startswith(f"{table.experiment}: ")
                                         and f" of model {table.model}: " in line])
        record = _first_record(table, records)
        item.section = _section(table, matrix, drills, record, item, __version__)
        languages = list(dict.fromkeys(lang for drill in drills for lang in drill.columns[:-1]))
        item.card = _card(table, record, item, languages)
        found.append(item)
    return found


def _first_record(table: report.Table, records: Mapping[str, dict]) -> dict:
    """The record of a run behind the table (its model and data are every run's: ``keep_comparable``)."""
    return next((records[folder] for cell in table.cells.values() for folder in cell.runs if folder in records), {})


# ----------------------------------------------------------------------------------- the metadata


def _eval_results(registry, drill: report.Table, record: dict) -> list:
    """The EvalResults of one target task's per-language table: every row × (language | average)."""
    from huggingface_hub import EvalResult

    task = drill.target
    found = registry.tasks.get("target", {}).get(task)
    spec = found.spec if found is not None else None
    hub_task = OTHER_TASK
    if spec is not None and spec.kind in registry.kind_set:
        hub_task = registry.kind_set.spec(spec.kind).hub_task or OTHER_TASK
    data = (record.get("data") or {}).get("target") or {}
    metric = (record.get("scores") or {}).get("metric") or (spec.metric if spec else "score")
    languages = drill.columns[:-1]
    where = {lang: _test_source(spec, data, task, lang) for lang in languages}
    # the task's score spans every language: its configs, joined, so it is a result of its own
    configs = list(dict.fromkeys(w["config"] for w in where.values() if w["config"]))
    first = where[languages[0]]
    where[report.AVERAGE] = {**first, "config": ",".join(configs) or None}
    origin = {"bundled": "bundled samples, not the hub's test set",
              "local": "local files, not the hub's test set"}.get(data.get("source"))
    results = []
    for row in drill.rows:
        for column in drill.columns:
            cell = drill.cells[(row, column)]
            if cell.score is None:
                continue
            scope = f"average over {', '.join(languages)}" if column == report.AVERAGE else column
            seeds = f"mean of {cell.score.n} seed{'s' * (cell.score.n != 1)}"
            notes = "; ".join([seeds] + ([origin] if origin else [])
                              + ([f"{report.FLAGGED} flagged: {', '.join(cell.flags)}"] if cell.flags else []))
            source = where[column]
            config = source["config"]
            results.append(EvalResult(
                task_type=hub_task, task_name=_task_name(task, spec),
                dataset_type=source["dataset"], dataset_name=f"{task} ({config})" if config else task,
                dataset_config=config, dataset_split=source["split"], dataset_revision=source["revision"],
                metric_type=metric, metric_value=round(cell.score.mean, DECIMALS),
                metric_name=f"{metric}, {scope}: {row} → {task} ({notes})"))
    return results


def _task_name(task: str, spec) -> str:
    return f"{task}: {spec.description}" if spec is not None and spec.description else task


def _test_source(spec, data: Mapping[str, Any], task: str, lang: str) -> dict[str, Any]:
    """The hub dataset, config, split and revision of ``task``'s test set in ``lang``: as the run read
    it when it read the hub (the commit it resolved), else as the installed task names it (its pin)."""
    hub = spec.hub if spec is not None else None
    split = "test"
    if hub is not None:
        source = hub.sources_for("test", lang)[0]
        split = source.splits.get("test", "test")
        found = {"dataset": source.path, "config": source.config_for(lang), "revision": source.revision}
    else:  # the task is not installed: what the record says, else its name
        found = {"dataset": data.get("dataset") or task, "config": None, "revision": None}
    if data.get("source") == "hub":
        read = (data.get("per_language") or {}).get(lang)
        if read is None and (data.get("per_split") or {}).get("test"):
            read = data["per_split"]["test"][0]
        read = read or data
        config = read.get("config")
        if config and "{" in config:  # the template of a source serving every language
            config = found["config"] if hub is not None else config.format(lang=lang, name=lang)
        found = {"dataset": read.get("dataset") or found["dataset"], "config": config,
                 "revision": read.get("revision") or found["revision"]}
    return {**found, "split": split}


def _card(table: report.Table, record: dict, item: Export, languages: Sequence[str]):
    """The whole card: ``huggingface_hub``'s ModelCardData (model-index from the EvalResults) as its
    front matter, the section as its body."""
    from huggingface_hub import ModelCard, ModelCardData

    model = record.get("model") or {}
    data = ModelCardData(
        model_name=table.model,
        # a hub backbone: the model the runs fine-tuned (a built or local one has no hub id)
        base_model=model.get("location") if model.get("source") == "hub" else None,
        language=list(languages) or None,
        datasets=list(dict.fromkeys(r.dataset_type for r in item.eval_results)) or None,
        tags=["xharness", "x-stilts", "cross-lingual-transfer"],
        eval_results=item.eval_results or None,
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {table.model}\n\n{item.section}")


# ------------------------------------------------------------------------------------ the section


def _section(table: report.Table, matrix: report.Report, drills: Sequence[report.Table], record: dict,
             item: Export, version: str) -> str:
    """The card's section: what was run, where the data came from, the matrix as the report shows it,
    and every target task's per-language scores."""
    model = record.get("model") or {}
    if model.get("source") == "hub":
        revision = f" at revision `{model['revision']}`" if model.get("revision") else ""
        backbone = f"`{model.get('location')}`{revision}"
    elif model.get("source") == "built":
        backbone = f"a model the xharness plugin `{model.get('plugin')}` builds, not on the Hub"
    else:
        backbone = "a local model folder"
    experiment = f" in experiment `{table.experiment}`" if table.experiment else ""
    lines = [
        "## Cross-lingual transfer after intermediate-task training (X-STILTs)",
        "",
        f"Backbone `{table.model}` ({backbone}){experiment}. Each row is the backbone trained first on an "
        f"intermediate task (`{report.BASELINE}`: no intermediate task), then fine-tuned on the target task's "
        f"training data in its training language and tested zero-shot on every test language (Phang et al., "
        f"2020). Scores in percent, mean ± sample standard deviation over seeds (the number of seeds in "
        f"parentheses); rows other than `{report.BASELINE}` show the change (Δ) against `{report.BASELINE}`, "
        f"seed by seed.",
        "",
    ]
    source = table.settings.get("data_source")
    target = (record.get("data") or {}).get("target") or {}
    if source == "bundled":
        lines += ["**Data: bundled samples.** These figures come from the small samples of each task bundled "
                  "with xharness (a few dozen examples per language), not from the Hub datasets the metadata "
                  "names: they show that the pipeline runs, not how well the model transfers.", ""]
    elif source == "local":
        root = f" ({target['root']})" if target.get("root") else ""
        lines += [f"**Data: local files{root}.** These figures come from local copies of the data, not from the "
                  f"Hub datasets the metadata names (which the local files are meant to hold).", ""]
    else:
        lines += ["**Data.** Test sets read from the Hugging Face Hub, at the revisions the metadata gives.", ""]
    if table.settings.get("preset") == "smoke":
        lines += ["**Preset `smoke`.** The runs used xharness's smoke preset (a tiny model and a few training "
                  "steps): the numbers check the pipeline; they are no result.", ""]
    if item.flagged:
        lines += [f"**Flagged numbers.** A number marked {report.FLAGGED} has a run behind it whose score is no "
                  f"finding (a model predicting one class, a score at chance …; the notes under the table say "
                  f"which); {item.flagged} of the results in the metadata are flagged, and their metric names "
                  f"say so.", ""]
    lines += [report.to_markdown(matrix).rstrip("\n"), ""]
    if drills:
        lines += ["### Per language", "",
                  "Every row's own scores per test language (not Δ): the numbers in this card's metadata "
                  "(`model-index`).", "",
                  "<details>", "<summary>per-language tables</summary>", "",
                  report.to_markdown(report.Report(list(drills), [], 0, 0)).rstrip("\n"), "", "</details>", ""]
    lines += [f"Made with xharness {version} (`xharness export`) from the store's `results.json` records.", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ push


def push(folder: Path, repo: str, *, create_pr: bool = False) -> str:
    """Upload ``folder``'s ``README.md`` as the model card of the Hub model repository ``repo``
    (``ModelCard.push_to_hub``: the Hub validates its metadata first); returns the commit's URL.
    Any failure (offline, no token, no such repository, a card the Hub refuses) is a UserError."""
    from huggingface_hub import ModelCard

    card = ModelCard.load(Path(folder) / CARD_FILE)
    try:
        return str(card.push_to_hub(repo, commit_message="Evaluation results from xharness export",
                                    create_pr=create_pr))
    except Exception as exc:  # offline, authentication, a missing repository, a refused card: one line
        from harness.common.envflags import flag

        reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        if flag("HF_HUB_OFFLINE"):
            reason = "HF_HUB_OFFLINE is set (offline mode)"
        raise UserError(f"could not push the model card to {repo}: {reason}; it is written at "
                        f"{Path(folder) / CARD_FILE}") from None
