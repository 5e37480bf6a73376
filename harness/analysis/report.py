"""``xharness report``: tables of finished runs — scores, Δ against the baseline, significance, figures.

A report reads records only (``results.json``, ``outcomes/test-<lang>.json``), never a model, so it
can be made anywhere the run folders are. Every sound run folder (its ``manifest.json`` verifies)
under the given folders counts; folders under ``damaged/``, temporary folders and unsound ones are
skipped with a warning.

The matrix (one per backbone): rows are the intermediate task(s) (``none`` for the baseline,
``a+b`` for a multi-task row), columns the target tasks and ``average``. A cell is the mean ± sample
standard deviation (ddof=1; ``-`` for one seed) over seeds of the task score — XTREME's: the mean
over the test languages of ``scores.per_language`` (QA tasks already record (F1+EM)/2 per
language). ``average`` is, per seed, the mean of the row's task scores (in Δ mode: over the tasks
the row and the baseline share). In Δ mode the baseline row shows its scores and every other cell
the change against the baseline of the same model, paired seed by seed (seeds present in both).

Significance (Δ mode): a paired bootstrap over test examples for every Δ cell.

* Resampling: for every test set (task, language) the example indices are drawn with replacement,
  as many as the test set holds, ``resamples`` times; the draw depends only on (``seed``, task,
  language), so every cell of a table — and both systems, and every seed — sees the same resampled
  test sets (paired, and stratified by language: each language is resampled within itself).
* Statistic of resample b: per seed pair s, the system's score minus the baseline's, each score
  computed from the per-example outcomes as in ``results.json`` (mean over the languages of the
  task, then over the tasks of the cell); then the mean over the seed pairs: D_b.
* p-value: two-sided, p = min(1, 2 · min(#{b: D_b ≤ 0}, #{b: D_b ≥ 0}) / resamples) (a difference
  within 1e-9 of zero counts as zero, on both sides). Identical systems give p = 1; a system
  better on every resample gives p = 0 (read: p < 1/resamples).
* Holm's step-down correction over every tested cell of the table: with the m p-values sorted
  ascending p(1) ≤ … ≤ p(m), adjusted p(i) = max over j ≤ i of min(1, (m − j + 1) · p(j)).
  Marks: ``*`` adjusted p < 0.05, ``**`` adjusted p < 0.01.

Experiments stay apart: every store lists which runs each experiment (a study, a sweep, the plain
runs) used (``harness.store.experiments``), and each experiment gets its own tables.

Records that do not belong together are never averaged: within a table the preset, data source,
core version and backbone files must agree; within a column (target task) the target
hyperparameters, test languages and target data; within a row the intermediate hyperparameters and
data. Where they differ the largest group is kept and the others are left out, each with a line
saying in words what differs (``key=value``, the task, split and language of the data).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import statistics
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.contract.errors import UnknownNameError, UserError

SCHEMA = "xharness.report/1"
RESULTS_SCHEMA = "xharness.results/1"
BASELINE = "none"
AVERAGE = "average"
#: XTREME's task order (Hu et al., 2020); other targets follow alphabetically.
ZERO = 1e-9  # differences this small are ties: float noise must not decide a sign
CHUNK = 4_000_000  # indices drawn at once per test set (bounds memory on big test sets)
FIG_DPI = 100
REFERENCES = {"xlmr-large": "xlmr_large_xtreme.json"}
MARKS = ((0.01, "**"), (0.05, "*"))
FEWER = "†"
PARTIAL = "‡"
#: A number some run behind it has a flagged score for (one class, empty answers, chance, a dev score
#: that never moved; ``harness.cell.diagnostics``).
FLAGGED = "⚑"


# --------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Run:
    """One finished run folder and its ``results.json``."""

    folder: Path
    record: dict = field(compare=False, hash=False, repr=False)

    @property
    def inter(self) -> str:
        """The row: the intermediate task(s), with the variant of their training data (``mnli (de)``,
        ``mnli (all translations)``, ``mnli + mlm``) so that variants never share a row."""
        return row_name(self.record)

    @property
    def target(self) -> str:
        return self.record["target_task"]

    @property
    def seed(self) -> int:
        return int(self.record["seed"])

    @property
    def transfer(self) -> dict:
        """The run's ``--transfer`` setting as recorded in its target settings (empty: zero-shot)."""
        found = ((self.record.get("hyperparameters") or {}).get("target") or {}).get("transfer")
        return found if isinstance(found, Mapping) else {}

    @property
    def setting(self) -> str:
        """How the target languages were reached: ``zero-shot``, ``translate-train`` … ``few-shot (K=100)``;
        the report gives each its own tables, so a Δ and its test stay within one setting."""
        from harness.cell.transfer import describe

        return describe(self.transfer)

    @property
    def replicate(self) -> Any:
        """What tells the repeats of one cell apart: the seed, and for few-shot the shot draw too
        (``"1/2"``: seed 1, shot seed 2); a Δ pairs runs of the same replicate."""
        transfer = self.transfer
        if transfer.get("setting") == "few-shot":
            return f"{self.seed}/{transfer.get('shot_seed')}"
        return self.seed

    @property
    def model(self) -> str:
        return self.record["model"]["name"]

    def languages(self) -> list[str]:
        """Test languages with a score (a language without gold labels records None)."""
        return [lang for lang, value in self.record["scores"]["per_language"].items() if value is not None]

    def score(self, langs: Sequence[str] | None = None) -> float | None:
        """XTREME's task score: the mean over ``langs`` (default: all scored) of the per-language score."""
        per_language = self.record["scores"]["per_language"]
        values = [per_language.get(lang) for lang in (self.languages() if langs is None else langs)]
        if not values or any(v is None for v in values):
            return None
        return sum(values) / len(values)

    def flags(self, langs: Sequence[str] | None = None) -> list[str]:
        """The names of the run's flags (``one class``, ``at chance`` …) on ``langs`` (default: all)
        and on its training; none for a record written before flags were."""
        scores = self.record["scores"]
        by_lang = scores.get("flags") or {}
        found = [flag for lang in (by_lang if langs is None else langs) for flag in by_lang.get(lang, [])]
        found += scores.get("run_flags") or []
        return sorted({flag.split(":")[0] for flag in found})

    def examples(self, langs: Sequence[str] | None = None) -> int | None:
        """How many test examples the score on ``langs`` (default: all scored) is computed from;
        None for a record written before ``n`` was."""
        counts = self.record["scores"].get("n")
        if not counts:
            return None
        return sum(counts.get(lang, 0) for lang in (self.languages() if langs is None else langs))

    def outcome_path(self, lang: str) -> Path:
        listed = (self.record.get("outcomes") or {}).get("files") or {}
        return self.folder / listed[lang] if lang in listed else self.folder / "outcomes" / f"test-{lang}.json"


def row_name(record: Mapping[str, Any]) -> str:
    """A run's row name: ``none``, ``mnli``, ``a+b``, plus its training-data variant — the translation
    language(s) of each task in parentheses, ``+ mlm`` when masked LM was mixed in."""
    tasks = list(record.get("intermediate_tasks") or [])
    if not tasks:
        return BASELINE
    settings = (record.get("hyperparameters") or {}).get("intermediate") or {}
    translated = settings.get("translated")
    names = []
    for task in tasks:
        langs = translated.get(task) if isinstance(translated, Mapping) else translated
        names.append(task + _translation_suffix(task, langs))
    name = "+".join(names)
    if settings.get("mlm_weight") is not None:
        name += " + mlm"
    return name


def _translation_suffix(task: str, langs: Any) -> str:
    if not langs:
        return ""
    if isinstance(langs, str):
        return f" ({langs})"
    langs = [str(lang) for lang in langs]
    offered = _translations_of(task)
    if offered and set(offered) <= set(langs):  # --translated all (with the original too when en is there)
        extra = [lang for lang in langs if lang not in offered]
        return f" ({' + '.join(extra + ['all translations'])})"
    return f" ({', '.join(langs)})"


@functools.lru_cache(maxsize=None)
def _translations_of(task: str) -> tuple[str, ...]:
    """The languages the installed task offers translated training data in (none when not installed);
    asked only for runs trained on several translations, once per task and process."""
    from harness.contract.discovery import discover

    found = discover().tasks.get("intermediate", {}).get(task)
    return tuple(found.spec.translated_train) if found is not None else ()


def collect(folders: Sequence[Path]) -> tuple[list[Run], list[str]]:
    """Every sound run under ``folders`` (stores, ``runs/`` folders or run folders), and what was skipped."""
    from harness.store.runstore import problem

    runs: list[Run] = []
    skipped: list[str] = []
    seen: set[Path] = set()
    for root in folders:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise UserError(f"{root} is not a folder: give run folders or --output stores")
        for path in sorted(root.rglob("results.json")):
            folder = path.parent.resolve()
            parts = path.relative_to(root).parts[:-1]
            # set aside by the store, or a temporary folder of a writer: never part of a table
            if folder in seen or "damaged" in parts or any(p.startswith(".") for p in parts):
                continue
            seen.add(folder)
            trouble = problem(folder)
            if trouble is None:
                record, trouble = _read_record(path)
            if trouble is not None:
                skipped.append(f"{folder}: {trouble}")
                continue
            runs.append(Run(folder, record))
    return runs, skipped


def _read_record(path: Path) -> tuple[dict, str | None]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, f"results.json is unreadable ({exc})"
    if not isinstance(record, dict) or record.get("schema") != RESULTS_SCHEMA:
        return {}, "results.json is not an xharness results record"
    return record, None


# ------------------------------------------------------------------------------ settings checks


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            out.update(_flat(value[key], f"{prefix}.{key}"))
        return out or {prefix: {}}
    return {prefix: value}


def _table_settings(run: Run) -> dict[str, Any]:
    r = run.record
    model = {k: r["model"].get(k) for k in ("sha256", "revision", "source")}
    return {"preset": r.get("preset"), "data_source": r.get("data_source"),
            "versions.core": (r.get("versions") or {}).get("core"), "model": model}


def _column_settings(run: Run) -> dict[str, Any]:
    r = run.record
    target = dict((r.get("hyperparameters") or {}).get("target") or {})
    if isinstance(target.get("transfer"), Mapping):  # shot draws are repeats of one cell, like seeds
        target["transfer"] = {k: v for k, v in target["transfer"].items() if k != "shot_seed"}
    return {"hyperparameters.target": target, "languages": r.get("languages"),
            "data.target": (r.get("data") or {}).get("target"),
            "data.translations": (r.get("data") or {}).get("translations")}


def _row_settings(run: Run) -> dict[str, Any]:
    r = run.record
    return {"hyperparameters.intermediate": (r.get("hyperparameters") or {}).get("intermediate"),
            "data.intermediate": (r.get("data") or {}).get("intermediate")}


#: Where runs must agree, from the widest to the narrowest: (place, the group a run is in, its settings there).
_CHECKS = (("the table", lambda r: "", _table_settings), ("column", lambda r: r.target, _column_settings),
           ("row", lambda r: r.inter, _row_settings))


def keep_comparable(runs: Sequence[Run]) -> tuple[list[Run], list[str]]:
    """The runs that can share one table, and one line in words for each group of runs left out.

    Within a table the preset, data source, core version and backbone files must agree; within a
    column (target task) the target settings, test languages and target data; within a row the
    intermediate settings and data. Where they differ the largest group is kept (on a tie, the one
    with the newest run) and the others are left out, never averaged in.
    """
    left_out: list[str] = []
    for where, group_of, settings_of in _CHECKS:
        groups: dict[str, list[Run]] = {}
        for run in runs:
            groups.setdefault(group_of(run), []).append(run)
        dropped: set[Path] = set()
        for name, members in groups.items():
            variants: dict[str, list[Run]] = {}
            for run in members:
                variants.setdefault(json.dumps(_flat(settings_of(run), ""), sort_keys=True, default=str), []).append(run)
            if len(variants) == 1:
                continue
            ordered = sorted(variants.values(), key=lambda g: (len(g), max(str(r.record.get("created")) for r in g)),
                             reverse=True)
            place = where if not name else f"{where} {name}"
            for group in ordered[1:]:
                dropped.update(r.folder for r in group)
                left_out.append(_left_out_line(group, ordered[0], place, settings_of))
        runs = [run for run in runs if run.folder not in dropped]
    return list(runs), left_out


def _left_out_line(group: Sequence[Run], kept: Sequence[Run], place: str, settings_of) -> str:
    mine, theirs = _flat(settings_of(group[0]), ""), _flat(settings_of(kept[0]), "")
    reasons: list[str] = []
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            reason = _difference(key.lstrip("."), mine.get(key), theirs.get(key), group[0], kept[0])
            if reason not in reasons:
                reasons.append(reason)
    cells = sorted({f"{r.inter} → {r.target}, seed {r.seed}" for r in group})
    shown = "; ".join(cells[:4]) + (f"; and {len(cells) - 4} more" if len(cells) > 4 else "")
    count = f"{len(group)} run{'s' * (len(group) != 1)}"
    return (f"left out {count} ({shown}) from {place} of model {group[0].model}: {'; '.join(reasons)} — unlike the "
            f"{len(kept)} run{'s' * (len(kept) != 1)} kept; report their folders on their own to see them")


def _words(value: Any) -> str:
    if value is None or value == {}:
        return "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_words(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _difference(key: str, mine: Any, theirs: Any, run: Run, other: Run) -> str:
    """One setting that differs between two runs, in words (``key=value``, never a hash)."""
    plain = {"preset": "preset", "data_source": "data source", "versions.core": "xharness version",
             "languages": "test languages", "model.revision": "model revision", "model.source": "model source"}
    if key in plain:
        return f"{plain[key]} {_words(mine)} (the others: {_words(theirs)})"
    if key == "model.sha256":
        return "other model files (the weights or config differ)"
    for role in ("target", "intermediate"):
        prefix = f"hyperparameters.{role}"
        if key == prefix:
            return f"{role} settings {format_settings(mine)} (the others: {format_settings(theirs)})"
        if key.startswith(prefix + "."):
            name = key[len(prefix) + 1:]
            return f"{role} setting {name}={_words(mine)} (the others: {name}={_words(theirs)})"
    if key.startswith("data.target"):
        return _data_difference(run, other, key)
    if key.startswith("data.intermediate"):
        return "other intermediate training data (the files or their source differ)"
    return f"{key}={_words(mine)} (the others: {key}={_words(theirs)})"


def _data_difference(run: Run, other: Run, key: str) -> str:
    """Which target data differ: by split and language where both records list their files' digests."""
    task = run.target
    field = key.rpartition(".")[2]
    if field in ("source", "root", "dataset", "config", "revision", "commit", "plugin_version", "data_version"):
        mine = ((run.record.get("data") or {}).get("target") or {}).get(field)
        theirs = ((other.record.get("data") or {}).get("target") or {}).get(field)
        what = {"root": "read from", "source": "data source", "plugin_version": "plugin version",
                "data_version": "data version"}.get(field, f"hub {field}")
        return f"{task} {what} {_words(mine)} (the others: {_words(theirs)})"
    mine, theirs = _parts(run), _parts(other)
    if not (mine and theirs):  # a record from before the parts were recorded
        return f"other {task} data files (their contents differ)"

    def by_split(parts) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for part in sorted(parts):
            split, _, lang = part.partition("/")
            grouped.setdefault(split, []).append(lang)
        return grouped

    reasons = [f"other {task} {split} data in {', '.join(langs)}"
               for split, langs in by_split(p for p in set(mine) & set(theirs) if mine[p] != theirs[p]).items()]
    reasons += [f"{task} {split} data in {', '.join(langs)} that the others do not read"
                for split, langs in by_split(set(mine) - set(theirs)).items()]
    reasons += [f"no {task} {split} data in {', '.join(langs)}, which the others read"
                for split, langs in by_split(set(theirs) - set(mine)).items()]
    return "; ".join(reasons) or f"other {task} data files (their contents differ)"


def _parts(run: Run) -> dict[str, str]:
    """``split/language`` → digest of the files read for it (records written since this was recorded)."""
    return dict(((run.record.get("data_files") or {}).get("target")) or {})


def format_settings(settings: Any) -> str:
    """Settings as ``key=value, key=value`` (nested ones as ``outer.inner=value``)."""
    if not isinstance(settings, Mapping):
        return _words(settings)
    flat = _flat(settings, "")
    return ", ".join(f"{key.lstrip('.')}={_words(value)}" for key, value in flat.items()) or "none"


def _index(runs: Sequence[Run]) -> dict[tuple[str, str, int], Run]:
    """(row, target, seed) → run; a copy of the same run is dropped, two different runs are refused."""
    grid: dict[tuple[str, str, int], Run] = {}
    for run in runs:
        key = (run.inter, run.target, run.replicate)
        if key in grid:
            if _run_key(grid[key]) == _run_key(run) and _run_key(run) is not None:
                continue  # the same computation, e.g. a store copied beside the original
            which = f"seed/shot seed {run.replicate}" if run.replicate != run.seed else f"seed {run.seed}"
            raise UserError(f"two different runs of {run.inter} → {run.target} with {which} for model "
                            f"{run.model} ({grid[key].folder} and {run.folder}); pass only one of them")
        grid[key] = run
    return grid


def _run_key(run: Run) -> str | None:
    return ((run.record.get("phases") or {}).get("target") or {}).get("key")


# ------------------------------------------------------------------------------------- statistics


@dataclass
class Stat:
    """Mean ± sample standard deviation (None for one value) over seeds."""

    mean: float
    std: float | None
    n: int
    seeds: list[int]
    values: list[float]

    @classmethod
    def of(cls, by_seed: Mapping[int, float]) -> Stat | None:
        if not by_seed:
            return None
        seeds = sorted(by_seed)
        values = [by_seed[s] for s in seeds]
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values), std, len(values), seeds, values)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order.

    Sorted ascending, p(1) ≤ … ≤ p(m): adjusted p(i) = max_{j ≤ i} min(1, (m − j + 1) · p(j)) — the
    running maximum keeps the adjusted values in the order of the raw ones.
    """
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda k: pvalues[k])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def p_value(differences) -> float:
    """Two-sided bootstrap p: min(1, 2 · min(share of D_b ≤ 0, share of D_b ≥ 0)); |D_b| ≤ 1e-9 is zero."""
    import numpy as np

    d = np.asarray(differences, dtype=float)
    below, above = float(np.mean(d <= ZERO)), float(np.mean(d >= -ZERO))
    return min(1.0, 2.0 * min(below, above))


def mark(p: float | None) -> str:
    if p is None:
        return ""
    return next((symbol for limit, symbol in MARKS if p < limit), "")


class Resampler:
    """Bootstrap resamples of every test set (task, language), shared by all cells of a table.

    Outcome records are registered under a key; the first request for a test set resamples it once
    for every record registered there (the same indices for all), and keeps each record's score on
    each resample.
    """

    def __init__(self, resamples: int, seed: int):
        self.resamples, self.seed = resamples, seed
        self.pending: dict[tuple[str, str], dict[Any, dict]] = {}
        self.done: dict[tuple[str, str], dict[Any, tuple[float, Any]]] = {}

    def add(self, task: str, lang: str, key: Any, outcome: dict) -> None:
        self.pending.setdefault((task, lang), {})[key] = outcome

    def scores(self, task: str, lang: str, key: Any) -> tuple[float, Any]:
        """(the score on the full test set, the scores on the resamples) of one registered record."""
        unit = (task, lang)
        done = self.done.setdefault(unit, {})
        if key not in done:
            # the draw depends only on (seed, task, language): records registered late get the same
            # resamples as those computed before (register everything first to draw once)
            done.update(self._resample(unit, self.pending.pop(unit, {})))
        return done[key]

    def _rng(self, task: str, lang: str):
        import numpy as np

        # seeded by the test set, not by the order cells are visited: a table's resamples do not
        # depend on which other cells it holds
        return np.random.default_rng([self.seed, zlib.crc32(task.encode()), zlib.crc32(lang.encode())])

    def _resample(self, unit: tuple[str, str], outcomes: dict[Any, dict]) -> dict[Any, tuple[float, Any]]:
        import numpy as np

        from harness.compute.outcomes import AGGREGATES, score

        keys = list(outcomes)
        ids = outcomes[keys[0]]["ids"]
        for key in keys[1:]:
            if outcomes[key]["ids"] != ids:
                raise UserError(f"the outcomes of {unit[0]}/{unit[1]} list different test examples in different "
                                f"runs: they were not tested on the same data and cannot be paired")
        n = len(ids)
        layout = [(key, outcomes[key]["aggregate"]) for key in keys]
        for _, aggregate in layout:
            if aggregate not in AGGREGATES:
                raise UserError(f"the outcomes of {unit[0]}/{unit[1]} use the aggregate {aggregate!r}, which this "
                                f"version of xharness does not know (known: {', '.join(AGGREGATES)})")
        # aggregates with a sums form: one matrix product over every record; the others (a rank
        # correlation) are recomputed from each resample's examples, with the same draws
        summed = [(key, aggregate) for key, aggregate in layout if aggregate in SUMMED]
        columns = [column for key, aggregate in summed for column in _sum_columns(aggregate, outcomes[key])]
        matrix = np.column_stack(columns) if columns else np.zeros((n, 0))
        sums = np.zeros((self.resamples, matrix.shape[1]))
        direct = {key: np.zeros(self.resamples) for key, aggregate in layout if aggregate not in SUMMED}
        rng = self._rng(*unit)
        step = max(1, CHUNK // max(n, 1))
        for start in range(0, self.resamples if n else 0, step):
            m = min(step, self.resamples - start)
            idx = rng.integers(0, n, size=(m, n))
            # counts of each example in each resample: one matrix product sums every array at once
            counts = np.bincount((idx + n * np.arange(m)[:, None]).ravel(), minlength=m * n).reshape(m, n)
            sums[start:start + m] = counts @ matrix
            for key, values in direct.items():
                values[start:start + m] = [score(outcomes[key], row) for row in idx.tolist()]
        result, column = {}, 0
        for key, aggregate in layout:
            if aggregate in SUMMED:
                width = SUMMED[aggregate]
                resampled = _from_sums(aggregate, sums[:, column:column + width], n)
                column += width
            else:
                resampled = direct[key]
            result[key] = (score(outcomes[key]), resampled)
        return result


#: Aggregates whose score on a resample follows from sums over its examples, with how many sums:
#: the aggregate's arrays, or for Pearson's r the five moments (x, y, x², y², xy).
SUMMED = {"accuracy": 1, "f1_counts": 3, "qa": 2, "mean": 1, "pearson": 5}


def _sum_columns(aggregate: str, outcome: dict) -> list:
    """The per-example columns whose sums over a resample give its score (``_from_sums``)."""
    import numpy as np

    from harness.compute.outcomes import AGGREGATES

    if aggregate == "pearson":
        x, y = (np.asarray(outcome[name], dtype=float) for name in ("prediction", "gold"))
        return [x, y, x * x, y * y, x * y]
    return [np.asarray(outcome[name], dtype=float) for name in AGGREGATES[aggregate]]


def _from_sums(aggregate: str, sums, n: int):
    """Scores on the resamples from the per-resample sums of the aggregate's arrays (as outcomes.score)."""
    import numpy as np

    if aggregate == "pearson":
        sx, sy, sxx, syy, sxy = (sums[:, i] for i in range(5))
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = (n * sxx - sx * sx) * (n * syy - sy * sy)
            # a resample whose predictions (or gold scores) are all equal has no correlation: NaN
            return np.where(spread > 0, 100.0 * (n * sxy - sx * sy) / np.sqrt(np.maximum(spread, 0)), np.nan)

    if aggregate == "accuracy":
        return 100.0 * sums[:, 0] / n
    if aggregate == "f1_counts":
        tp, fp, fn = sums[:, 0], sums[:, 1], sums[:, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tp > 0, 100.0 * 2 * tp / (2 * tp + fp + fn), 0.0)
    if aggregate == "qa":
        return 50.0 * (sums[:, 0] + sums[:, 1]) / n
    if aggregate == "mean":
        return 100.0 * sums[:, 0] / n
    raise ValueError(f"unknown aggregate {aggregate!r}")


#: One side of a pair: task → language → key of a registered outcome record.
Side = Mapping[str, Mapping[str, Any]]


def _side_scores(resampler: Resampler, side: Side):
    """A side's score (mean over languages, then over tasks) on the full test sets and on each resample."""
    observed, vector = 0.0, 0.0
    for task, langs in side.items():
        pairs = [resampler.scores(task, lang, key) for lang, key in langs.items()]
        observed += sum(p[0] for p in pairs) / len(pairs) / len(side)
        vector = vector + sum(p[1] for p in pairs) / len(pairs) / len(side)
    return observed, vector


def _paired_vector(resampler: Resampler, pairs: Sequence[tuple[Side, Side]]):
    """(observed mean difference over the seed pairs, the mean difference on each resample)."""
    observed, vector = 0.0, 0.0
    for system, baseline in pairs:
        (o_sys, v_sys), (o_base, v_base) = _side_scores(resampler, system), _side_scores(resampler, baseline)
        observed += (o_sys - o_base) / len(pairs)
        vector = vector + (v_sys - v_base) / len(pairs)
    return observed, vector


def _paired(resampler: Resampler, pairs: Sequence[tuple[Side, Side]]) -> tuple[float, float]:
    """(observed mean difference over the seed pairs, its two-sided bootstrap p-value)."""
    observed, vector = _paired_vector(resampler, pairs)
    return observed, p_value(vector)


def paired_bootstrap_samples(pairs: Sequence[tuple[Mapping[str, Mapping[str, dict]], Mapping[str, Mapping[str, dict]]]],
                             resamples: int = 1000, seed: int = 0):
    """(observed difference, the difference on each bootstrap resample) of a system against a
    baseline; see ``paired_bootstrap``. The resamples of a test set depend only on (seed, task,
    language), so two calls on the same test sets draw the same examples and their vectors can
    be subtracted (an interaction between two comparisons)."""
    if not pairs:
        raise ValueError("no seed pairs to compare")
    resampler = Resampler(resamples, seed)
    sides: list[tuple[dict, dict]] = []
    for number, pair in enumerate(pairs):
        keyed = []
        for role, side in zip(("system", "baseline"), pair):
            keyed.append({task: {lang: (number, role, task, lang) for lang in langs} for task, langs in side.items()})
            for task, langs in side.items():
                for lang, outcome in langs.items():
                    resampler.add(task, lang, (number, role, task, lang), outcome)
        sides.append((keyed[0], keyed[1]))
    return _paired_vector(resampler, sides)


def paired_bootstrap(pairs: Sequence[tuple[Mapping[str, Mapping[str, dict]], Mapping[str, Mapping[str, dict]]]],
                     resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Paired bootstrap of a system against a baseline; returns (observed difference, p-value).

    ``pairs`` holds one (system, baseline) per seed, each ``{task: {language: outcome record}}`` (the
    format of :mod:`harness.compute.outcomes`); the definition is in this module's docstring.
    """
    observed, vector = paired_bootstrap_samples(pairs, resamples, seed)
    return observed, p_value(vector)


# ------------------------------------------------------------------------------------------ tables


@dataclass
class Cell:
    row: str
    column: str
    score: Stat | None = None  # the row's own scores over its seeds
    delta: Stat | None = None  # Δ against the baseline, seed by seed (Δ mode, rows other than the baseline)
    tasks: list[str] = field(default_factory=list)  # the target tasks the cell averages
    runs: list[str] = field(default_factory=list)
    baseline_runs: list[str] = field(default_factory=list)
    p: float | None = None
    p_holm: float | None = None
    marker: str = ""
    untested: str | None = None  # why no p-value
    flags: list[str] = field(default_factory=list)  # flags of the runs behind the number (their names)
    examples: int | None = None  # test examples behind one seed's score (summed over the cell's tasks)
    fewer_seeds: bool = False
    partial: bool = False  # an average over fewer tasks than the table's columns
    # few-shot: the sample std of the shown number over shot draws (each draw's mean over seeds) and
    # over seeds (each seed's mean over draws), with how many of each
    spread: dict[str, Any] | None = None


@dataclass
class Table:
    model: str
    target: str | None  # None: the task matrix; a task: its per-language drill-down
    mode: str  # "delta" or "absolute"
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], Cell]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    tests: int = 0
    reference: list[dict] = field(default_factory=list)  # rows shown next to ours (--compare)
    show_n: bool = False  # the text formats show each number's test examples (JSON and CSV always hold them)
    experiment: str = ""  # the experiment's label (harness.store.experiments): run, sweep:NAME, study:NAME
    kept: list[str] = field(default_factory=list, repr=False)  # folders of the runs the table was built from
    setting: str = "zero-shot"  # --transfer: every run of a table reached the target languages the same way

    def shown(self, cell: Cell) -> Stat | None:
        """The number a cell shows: Δ in Δ mode (the baseline row shows its scores)."""
        return cell.delta if self.is_delta_row(cell.row) else cell.score

    def is_delta_row(self, row: str) -> bool:
        return self.mode == "delta" and row != BASELINE


@dataclass
class Report:
    tables: list[Table]
    skipped: list[str]
    resamples: int
    seed: int
    reference: dict | None = None
    left_out: list[str] = field(default_factory=list)  # runs that could not share a table, in words
    experiments: list[str] = field(default_factory=list)  # the experiments shown, in order
    #: the runs behind the tables (what the references cite; not part of the JSON or CSV)
    runs: list[Run] = field(default_factory=list, repr=False)


def _task_order(tasks: Iterable[str]) -> list[str]:
    """Columns in the order of the installed leaderboards' tasks (XTREME's table order for the
    built-in plugin), then any other task by name: the core knows no task by name."""
    order = _leaderboard_order()
    return sorted(set(tasks), key=lambda t: (order.index(t) if t in order else len(order), t))


def _leaderboard_order() -> list[str]:
    from harness.contract.discovery import discover

    order: list[str] = []
    for _, board in sorted(discover().leaderboards.items()):
        order += [task.name for task in board.spec.tasks if task.name not in order]
    return order


def _row_order(rows: Iterable[str]) -> list[str]:
    return sorted(set(rows), key=lambda r: (r != BASELINE, r.count("+"), r))


def build(runs: Sequence[Run], *, model: str | None = None, target: str | None = None, mode: str | None = None,
          resamples: int = 1000, seed: int = 0, skipped: Sequence[str] = (), show_n: bool = False,
          experiment: str | None = None, by_experiment: bool = True) -> Report:
    """The report's tables: one per experiment and backbone (``experiment`` and ``model`` pick one),
    the matrix or ``target``'s languages.

    ``mode``: "delta", "absolute" or None (Δ where the backbone has a baseline row). ``show_n``: the
    text formats show the test examples behind each number. Runs that cannot share a table with the
    others (other data, settings or versions) are left out, each group with a line saying why.
    ``by_experiment=False``: the runs given are one experiment (a study's analysis chooses its own).
    """
    if not runs:
        raise UserError("no finished runs found there (a run folder holds results.json and a sound manifest.json)")
    if by_experiment:
        groups, problems = group_by_experiment(runs)
    else:
        groups, problems = {"": list(runs)}, []
    skipped = list(skipped) + problems
    if experiment is not None:
        chosen = _pick_experiment(experiment, groups)
        groups = {chosen: groups[chosen]}
    if target is not None:
        targets = {r.target for group in groups.values() for r in group}
        if target not in targets:
            raise UnknownNameError("target task", target, targets)
        groups = {name: [r for r in group if r.target == target] for name, group in groups.items()}
    if model is not None:
        models = {r.model for group in groups.values() for r in group}
        if model not in models:
            raise UnknownNameError("model", model, models)
        groups = {name: [r for r in group if r.model == model] for name, group in groups.items()}
    tables: list[Table] = []
    left_out: list[str] = []
    shown: dict[Path, Run] = {}
    for name, members in groups.items():
        by_model: dict[str, list[Run]] = {}
        for run in members:
            by_model.setdefault(run.model, []).append(run)
        for backbone, group in sorted(by_model.items()):
            by_setting: dict[str, list[Run]] = {}  # a panel per --transfer setting: Δs and tests stay within one
            for run in group:
                by_setting.setdefault(run.setting, []).append(run)
            for setting, members_of_setting in sorted(by_setting.items(), key=lambda item: _setting_order(item[1][0])):
                kept, dropped = keep_comparable(members_of_setting)
                left_out += [f"{name}: {line}" if name else line for line in dropped]
                tables.append(_table(name, backbone, kept, target, mode, resamples, seed, setting=setting))
                tables[-1].kept = [str(run.folder) for run in kept]
                shown.update((run.folder, run) for run in kept)
    for table in tables:
        table.show_n = show_n
        if show_n:
            table.notes.append("n=: the test examples behind one seed's number (summed over the languages and "
                               "tasks it averages)")
    return Report(tables, skipped, resamples, seed, left_out=left_out,
                  experiments=[name for name in groups if any(t.experiment == name for t in tables)],
                  runs=list(shown.values()))


def drill_down(table: Table, runs: Sequence[Run], task: str, *, mode: str | None = None, resamples: int = 1000,
               seed: int = 0, show_n: bool = False) -> Table:
    """``task``'s per-language table from exactly the runs ``table`` was built from (the same runs a
    reader sees in the matrix, never a group the matrix left out). In Δ mode without a baseline run
    of that task, its plain scores."""
    kept = set(table.kept)
    mine = [run for run in runs if str(run.folder) in kept and run.target == task]
    if mode == "delta" and not any(run.inter == BASELINE for run in mine):
        mode = None
    (drilled,) = build(mine, target=task, mode=mode, resamples=resamples, seed=seed, show_n=show_n,
                       by_experiment=False).tables
    drilled.experiment = table.experiment
    return drilled


def group_by_experiment(runs: Sequence[Run]) -> tuple[dict[str, list[Run]], list[str]]:
    """Experiment label → its runs (a run several experiments used is in each), in order: studies,
    sweeps, plain runs, then runs no experiment lists; and the membership files that were unreadable.

    Membership comes from the store's ``experiments/`` folder (``harness.store.experiments``), else from
    the experiment a run's record names, else ``unrecorded``.
    """
    from harness.store import experiments

    stores: dict[Path, dict[str, list[str]]] = {}
    problems: list[str] = []
    groups: dict[str, list[Run]] = {}
    for run in runs:
        labels: list[str] = []
        if run.folder.parent.name == "runs":
            root = run.folder.parent.parent
            if root not in stores:
                stores[root], trouble = experiments.memberships(root)
                problems += trouble
            labels = stores[root].get(run.folder.name, [])
        if not labels:
            recorded = run.record.get("experiment")
            labels = [recorded["label"]] if isinstance(recorded, Mapping) and isinstance(recorded.get("label"), str) \
                else [experiments.UNRECORDED]
        for label in labels:
            groups.setdefault(label, []).append(run)
    order = {"study": 0, "sweep": 1, "run": 2}
    ranked = sorted(groups, key=lambda label: (order.get(label.partition(":")[0], 3), label))
    return {label: groups[label] for label in ranked}, problems


def _pick_experiment(wanted: str, groups: Mapping[str, list[Run]]) -> str:
    """``--experiment``: a full label (``sweep:grid``) or a name only one experiment has (``grid``)."""
    if wanted in groups:
        return wanted
    matches = [label for label in groups if label.partition(":")[2] == wanted]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UserError(f"--experiment {wanted}: several experiments have that name ({', '.join(matches)}); "
                        f"give one of them in full")
    raise UnknownNameError("experiment", wanted, groups)


#: The order of the settings' tables: zero-shot, the translate settings, then few-shot (by K).
SETTING_ORDER = ("zero-shot", "translate-test", "translate-train", "translate-train-all", "few-shot")


def _setting_order(run: Run) -> tuple:
    name = str(run.transfer.get("setting") or "zero-shot")
    shots = run.transfer.get("shots")
    return (SETTING_ORDER.index(name) if name in SETTING_ORDER else len(SETTING_ORDER), name,
            shots if isinstance(shots, int) else 0)


def _table(experiment: str, model: str, runs: Sequence[Run], target: str | None, mode: str | None, resamples: int,
           seed: int, setting: str = "zero-shot") -> Table:
    grid = _index(runs)
    rows = _row_order(r.inter for r in runs)
    has_baseline = BASELINE in rows
    if mode == "delta" and not has_baseline:
        raise UserError(f"--delta needs a baseline row ('none': runs without an intermediate task) for model "
                        f"{model} in experiment {experiment}; sweep with --inter none,... or use --absolute")
    mode = mode or ("delta" if has_baseline else "absolute")
    if target is None:
        columns = _task_order(r.target for r in runs) + [AVERAGE]
        units = {t: {t: None} for t in columns[:-1]}
    else:
        languages = list(runs[0].record["languages"])  # the same in every run: keep_comparable saw to it
        columns = languages + [AVERAGE]
        units = {lang: {target: [lang]} for lang in languages}
        units[AVERAGE] = {target: None}
    settings = {key.lstrip("."): value for key, value in _flat(_table_settings(runs[0]), "").items()}
    table = Table(model, target, mode, rows, columns, {}, settings, experiment=experiment, setting=setting)
    for row in rows:
        for column in columns:
            table.cells[(row, column)] = _cell(grid, table, row, column, units)
            if setting.startswith("few-shot"):
                table.cells[(row, column)].spread = _spread(grid, table, row, column, units)
    _mark_fewer_seeds(table)
    if table.mode == "delta" and resamples > 0:
        _significance(table, grid, units, resamples, seed)
    _add_notes(table, resamples, seed)
    return table


def _tasks_of(grid: Mapping[tuple[str, str, int], Run], row: str) -> set[str]:
    return {t for (r, t, _) in grid if r == row}


def _cell_units(grid, table: Table, row: str, column: str, units) -> dict[str, list[str] | None]:
    """What a cell averages: task → languages (None: all the task's scored languages)."""
    if column != AVERAGE or table.target is not None:
        return dict(units[column])
    tasks = _tasks_of(grid, row)
    if table.is_delta_row(row):
        tasks &= _tasks_of(grid, BASELINE)  # a Δ average only over tasks both rows have
    return {t: None for t in _task_order(tasks)}


def _by_seed(grid, row: str, cell_units: Mapping[str, list[str] | None]) -> dict[int, tuple[float, list[Run]]]:
    """Seed → (the cell's value, its runs), for seeds with a run of every task the cell averages."""
    if not cell_units:
        return {}
    seeds = set.intersection(*({s for (r, t, s) in grid if r == row and t == task} for task in cell_units))
    out = {}
    for s in sorted(seeds):
        runs = [grid[(row, task, s)] for task in cell_units]
        scores = [run.score(langs) for run, langs in zip(runs, cell_units.values())]
        if None not in scores:
            out[s] = (sum(scores) / len(scores), runs)
    return out


def _cell(grid, table: Table, row: str, column: str, units) -> Cell:
    cell_units = _cell_units(grid, table, row, column, units)
    langs_of = list(cell_units.values())
    mine = _by_seed(grid, row, cell_units)
    cell = Cell(row, column, Stat.of({s: v for s, (v, _) in mine.items()}), tasks=list(cell_units),
                runs=sorted(str(r.folder) for _, runs in mine.values() for r in runs))
    first = next(iter(mine.values()), None)
    if first is not None:  # one seed's examples, over every task and language the cell averages
        cell.examples = sum(run.examples(langs) or 0 for run, langs in zip(first[1], langs_of)) or None
    if column == AVERAGE and table.target is None:
        cell.partial = len(cell_units) < len(table.columns) - 1
    sides, seeds = (mine,), list(mine)
    if table.is_delta_row(row):
        base = _by_seed(grid, BASELINE, cell_units)
        paired = sorted(set(mine) & set(base))
        cell.delta = Stat.of({s: mine[s][0] - base[s][0] for s in paired})
        cell.runs = sorted(str(r.folder) for s in paired for r in mine[s][1])
        cell.baseline_runs = sorted(str(r.folder) for s in paired for r in base[s][1])
        sides, seeds = (mine, base), paired  # a Δ is as flagged as either side behind it
    cell.flags = sorted({flag for s in seeds for side in sides
                         for run, langs in zip(side[s][1], langs_of) for flag in run.flags(langs)})
    return cell


def _spread(grid, table: Table, row: str, column: str, units) -> dict[str, Any] | None:
    """Few-shot: how much the shown number moves with the shot draw, and with the seed (Zhao et al.,
    2021: the choice of shots moves scores by several points). Each replicate is "seed/shot seed";
    the spread over draws is the std of the draws' means over seeds, and the other way round."""
    cell_units = _cell_units(grid, table, row, column, units)
    values = {s: v for s, (v, _) in _by_seed(grid, row, cell_units).items()}
    if table.is_delta_row(row):
        base = {s: v for s, (v, _) in _by_seed(grid, BASELINE, cell_units).items()}
        values = {s: values[s] - base[s] for s in set(values) & set(base)}
    if not values:
        return None
    by_draw: dict[str, list[float]] = {}
    by_seed: dict[str, list[float]] = {}
    for replicate, value in values.items():
        seed_part, _, draw = str(replicate).partition("/")
        by_draw.setdefault(draw, []).append(value)
        by_seed.setdefault(seed_part, []).append(value)

    def std(groups: dict[str, list[float]]) -> float | None:
        means = [statistics.fmean(v) for v in groups.values()]
        return statistics.stdev(means) if len(means) > 1 else None

    return {"draws": len(by_draw), "std_over_draws": std(by_draw), "seeds": len(by_seed), "std_over_seeds": std(by_seed)}


def _mark_fewer_seeds(table: Table) -> None:
    counts = [stat.n for cell in table.cells.values() if (stat := table.shown(cell)) is not None]
    most = max(counts, default=0)
    for cell in table.cells.values():
        stat = table.shown(cell)
        cell.fewer_seeds = stat is not None and stat.n < most


def _significance(table: Table, grid, units, resamples: int, seed: int) -> None:
    """Paired bootstrap for every Δ cell, then Holm over all of the table's tests."""
    resampler = Resampler(resamples, seed)
    registered: set[tuple[Path, str]] = set()
    planned: list[tuple[Cell, list]] = []
    for (row, column), cell in table.cells.items():  # register every outcome first: each test set is drawn once
        if not table.is_delta_row(row) or cell.delta is None:
            continue
        cell_units = _cell_units(grid, table, row, column, units)
        pairs = [tuple(_side(grid, who, s, cell_units, resampler, registered) for who in (row, BASELINE))
                 for s in cell.delta.seeds]
        if any(None in pair for pair in pairs):
            cell.untested = "no per-example outcome files"
        else:
            planned.append((cell, pairs))
    tested: list[Cell] = []
    for cell, pairs in planned:
        observed, cell.p = _paired(resampler, pairs)
        if abs(observed - cell.delta.mean) > 0.01:  # outcomes must reproduce results.json
            table.notes.append(f"{cell.row} / {cell.column}: the outcome files give Δ {observed:+.3f}, "
                               f"results.json {cell.delta.mean:+.3f}")
        tested.append(cell)
    for cell, adjusted in zip(tested, holm([c.p for c in tested])):
        cell.p_holm = adjusted
        cell.marker = mark(adjusted)
    table.tests = len(tested)


def _side(grid, row: str, seed: int, cell_units, resampler: Resampler, registered: set) -> dict | None:
    """One seed's side of a pair, its outcome records registered; None when an outcome file is missing."""
    side: dict[str, dict[str, Any]] = {}
    for task, langs in cell_units.items():
        run = grid[(row, task, seed)]
        side[task] = {}
        for lang in (run.languages() if langs is None else langs):
            key = (run.folder, lang)
            if key not in registered:
                path = run.outcome_path(lang)
                if not path.is_file():
                    return None
                try:
                    resampler.add(task, lang, key, json.loads(path.read_text(encoding="utf-8")))
                except ValueError:
                    return None
                registered.add(key)
            side[task][lang] = key
    return side


def _add_notes(table: Table, resamples: int, seed: int) -> None:
    cells = list(table.cells.values())
    few_shot = table.setting.startswith("few-shot")
    if few_shot:
        spread = "mean ± sample std over seeds × shot draws (- for one), (n) of them"
        paired = "the same setting, paired seed and draw by seed and draw"
    else:
        spread = "mean ± sample std over seeds (- for one seed), (n) seeds"
        paired = "paired seed by seed" if table.setting == "zero-shot" else "the same setting, paired seed by seed"
    if table.mode == "delta":
        table.notes.insert(0, f"{BASELINE}: scores; other rows: Δ against {BASELINE} (same backbone, {paired}); "
                              f"{spread}")
    else:
        table.notes.insert(0, spread)
    def shown(value):
        return "-" if value is None else f"±{value:.2f}"

    if few_shot:
        for cell in cells:
            spread = cell.spread
            if spread and (spread["std_over_draws"] is not None or spread["std_over_seeds"] is not None):
                table.notes.append(f"spread of {cell.row} / {cell.column}: over {spread['draws']} shot draws "
                                   f"{shown(spread['std_over_draws'])}, over {spread['seeds']} seeds "
                                   f"{shown(spread['std_over_seeds'])}")
    if any(c.fewer_seeds for c in cells):
        table.notes.append(f"{FEWER} fewer seeds than the table's other cells")
    if any(c.partial for c in cells):
        table.notes.append(f"{PARTIAL} average over fewer tasks than the table's columns")
    if table.tests:
        table.notes.append(f"* p<0.05, ** p<0.01: paired bootstrap over test examples ({resamples} resamples, "
                           f"seed {seed}), Holm-corrected over the {table.tests} test{'s' * (table.tests != 1)} "
                           f"of this table")
    untested = sum(c.untested is not None for c in cells)
    if untested:
        table.notes.append(f"significance not tested for {untested} cell{'s' * (untested != 1)}: their runs have no "
                           f"per-example outcome files (outcomes/test-<lang>.json)")
    if any(table.shown(c) is None for c in cells):
        table.notes.append("n/a: no run (or no baseline run with the same seed) for this cell")
    flagged = sorted({flag for c in cells if table.shown(c) is not None for flag in c.flags})
    if flagged:
        where = "" if table.target else " (`--target TASK` shows the languages)"
        table.notes.append(f"{FLAGGED} a run behind the number has a score that is no finding: {', '.join(flagged)}"
                           f"{where}")


# --------------------------------------------------------------------------------------- reference


def load_reference(spec: str) -> dict:
    """A reference table: a shipped name (``xlmr-large``) or a JSON file in the report's shape."""
    if spec in REFERENCES:
        from importlib import resources

        text = resources.files("harness.analysis.reference").joinpath(REFERENCES[spec]).read_text(encoding="utf-8")
        where = spec
    else:
        path = Path(spec).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--compare {spec}: cannot read it ({exc.strerror or exc}); give a report JSON file "
                            f"or one of: {', '.join(REFERENCES)}") from None
        where = str(path)
    try:
        reference = json.loads(text)
        assert isinstance(reference["tables"], list) and all(isinstance(t["cells"], list) for t in reference["tables"])
    except (ValueError, KeyError, TypeError, AssertionError):
        raise UserError(f"--compare {where}: not a report JSON (needs tables with cells, as `--format json` "
                        f"writes)") from None
    reference.setdefault("label", Path(where).stem)
    return reference


def attach_reference(report: Report, reference: dict) -> None:
    """Put the reference's rows beside each table: its scores by column, averaged like ours."""
    report.reference = reference
    for table in report.tables:
        table.reference = _reference_rows(reference, table)


def _reference_rows(reference: dict, table: Table) -> list[dict]:
    ref_tables = reference["tables"]
    drill = [t for t in ref_tables if t.get("target") == table.target and table.target is not None]
    matrix = [t for t in ref_tables if t.get("target") is None]
    rows = []
    for ref in (drill or matrix)[:1]:
        for row in ref.get("rows") or sorted({c["row"] for c in ref["cells"]}):
            found = {c["column"]: c for c in ref["cells"] if c["row"] == row and (c.get("score") or {}).get("mean")
                     is not None}
            values = {col: found[col]["score"]["mean"] for col in table.columns if col in found and col != AVERAGE}
            extra = {col: {k: found[col][k] for k in ("f1", "em") if k in found[col]} for col in values}
            if table.target is not None and not drill and table.target in found:
                values[AVERAGE] = found[table.target]["score"]["mean"]  # the drill-down's average is the task score
            elif table.target is None and all(c in found for c in table.columns[:-1]):
                # averaged over our columns, so it reads like our average column
                values[AVERAGE] = statistics.fmean(found[c]["score"]["mean"] for c in table.columns[:-1])
            label = reference["label"] if row == BASELINE else f"{reference['label']}: {row}"
            rows.append({"label": label, "values": values, "details": {k: v for k, v in extra.items() if v}})
    return rows


# ------------------------------------------------------------------------------------------ output


def _signed(value: float, decimals: int, minus: str = "−") -> str:
    text = f"{value:+.{decimals}f}"
    return text.replace("-", minus, 1) if value < 0 else text


def cell_text(table: Table, cell: Cell, decimals: int = 2, *, pm: str = "±", minus: str = "−",
              show_n: bool = False) -> str:
    """``+1.23 ± 0.45 (2)**†``: mean ± std (seeds) with significance and footnote marks, ``⚑`` where
    a run behind it is flagged, and with ``show_n`` the test examples behind it (``n=224``)."""
    stat = table.shown(cell)
    if stat is None:
        return "n/a"
    mean = _signed(stat.mean, decimals, minus) if table.is_delta_row(cell.row) else f"{stat.mean:.{decimals}f}"
    std = "-" if stat.std is None else f"{stat.std:.{decimals}f}"
    marks = cell.marker + (FEWER if cell.fewer_seeds else "") + (PARTIAL if cell.partial else "")
    marks += FLAGGED if cell.flags else ""
    examples = f" n={cell.examples}" if show_n and cell.examples is not None else ""
    return f"{mean} {pm} {std} ({stat.n}){marks}{examples}"


def _title(table: Table) -> str:
    what = f"{table.target}, per language" if table.target else "target tasks"
    mode = f"Δ against {BASELINE}" if table.mode == "delta" else "scores"
    experiment = f"experiment {table.experiment} · " if table.experiment else ""
    setting = f" · {table.setting}" if table.setting != "zero-shot" else ""
    return f"{experiment}model {table.model}{setting} · {what} · {mode}"


def _grid_rows(table: Table, decimals: int, **style) -> list[list[str]]:
    style.setdefault("show_n", table.show_n)
    rows = [[row] + [cell_text(table, table.cells[(row, col)], decimals, **style) for col in table.columns]
            for row in table.rows]
    for ref in table.reference:
        rows.append([ref["label"]] + [f"{ref['values'][col]:.{decimals}f}" if col in ref["values"] else "-"
                                      for col in table.columns])
    return rows


def _header(table: Table) -> list[str]:
    return ["intermediate"] + table.columns


def to_markdown(report: Report, decimals: int = 2, *, references: bool = True) -> str:
    """The tables as GitHub Markdown, then what was left out or skipped, then (``references``) a
    "References" section: what the runs shown cite (``references``)."""
    from tabulate import tabulate

    parts = []
    for table in report.tables:
        body = tabulate(_grid_rows(table, decimals), headers=_header(table), tablefmt="github",
                        colalign=("left",) + ("right",) * len(table.columns), disable_numparse=True)
        notes = "\n".join(f"- {note}" for note in table.notes + _reference_notes(report, table))
        parts.append(f"### {_title(table)}\n\n{body}\n\n{notes}\n")
    text = "\n".join(parts) + _skipped_text(report)
    cited = report_references(report) if references else None
    if cited is not None and cited.entries:
        lines = [f"{number}. {entry.text()}" for number, entry in enumerate(cited.entries, start=1)]
        notes = [wanted.missing_line for wanted in cited.missing] + [f"unreadable: {p}" for p in cited.problems]
        text += "\n\n## References\n\n" + "\n".join(lines) + "\n"
        text += "".join(f"\n- {note}" for note in notes) + ("\n" if notes else "")
        text += "\nThe BibTeX of these: `xharness cite` with the folders of this report.\n"
    return text


def report_references(report: Report):
    """What the runs behind a report's tables cite (``harness.contract.citations.Citations``: their
    tasks, backbones and leaderboards, the protocol paper and xharness), or None for a report
    built without its runs. The Markdown and HTML formats end with them; JSON and CSV hold numbers
    only (``xharness cite`` prints the BibTeX)."""
    if not report.runs:
        return None
    from harness.contract import citations
    from harness.contract.discovery import discover

    return citations.for_records(discover(), [run.record for run in report.runs])


def _reference_notes(report: Report, table: Table) -> list[str]:
    if not table.reference or report.reference is None:
        return []
    return [f"{report.reference['label']}: published figures from {report.reference.get('source', 'the reference')}"]


def _skipped_text(report: Report) -> str:
    return "".join(f"\n{line}" for line in report.left_out) + "".join(f"\nskipped {line}" for line in report.skipped)


def to_csv(report: Report) -> str:
    """One line per number: each cell's score and Δ, and the reference's scores."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["experiment", "model", "target", "row", "column", "kind", "mean", "std", "n", "seeds", "p",
                     "p_holm", "marker", "fewer_seeds", "examples", "flags"])
    for table in report.tables:
        for (row, column), cell in table.cells.items():
            for kind, stat in (("score", cell.score), ("delta", cell.delta)):
                if stat is None:
                    continue
                tested = kind == "delta" and cell.p is not None
                writer.writerow([table.experiment, table.model, table.target or "", row, column, kind, stat.mean,
                                 "" if stat.std is None else stat.std, stat.n, ";".join(map(str, stat.seeds)),
                                 cell.p if tested else "", cell.p_holm if tested else "", cell.marker if tested else "",
                                 int(cell.fewer_seeds and stat is table.shown(cell)),
                                 "" if cell.examples is None else cell.examples, ";".join(cell.flags)])
        for ref in table.reference:
            for column, value in ref["values"].items():
                writer.writerow([table.experiment, table.model, table.target or "", ref["label"], column, "reference",
                                 value, "", "", "",
                                 "", "", "", 0, "", ""])
    return out.getvalue()


def to_dict(report: Report) -> dict[str, Any]:
    """Every number shown, with its seeds, values and the run folders it comes from."""
    tables = []
    for table in report.tables:
        cells = []
        for cell in table.cells.values():
            entry = asdict(cell)
            entry["shown"] = "delta" if table.is_delta_row(cell.row) else "score"
            cells.append(entry)
        tables.append({"experiment": table.experiment, "model": table.model, "setting": table.setting,
                       "target": table.target, "mode": table.mode,
                       "baseline": BASELINE if table.mode == "delta" else None, "rows": table.rows,
                       "columns": table.columns, "settings": table.settings, "tests": table.tests,
                       "notes": table.notes, "cells": cells, "reference": table.reference})
    reference = None
    if report.reference is not None:
        reference = {k: report.reference.get(k) for k in ("label", "source", "url")}
    return {"schema": SCHEMA, "bootstrap": {"resamples": report.resamples, "seed": report.seed,
                                            "test": "paired bootstrap over test examples, two-sided",
                                            "correction": "holm"},
            "experiments": report.experiments, "tables": tables, "reference": reference,
            "left_out": report.left_out, "skipped": report.skipped}


def to_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#"), ("_", r"\_"),
                          ("{", r"\{"), ("}", r"\}"), ("$", r"\$")):
        text = text.replace(char, escaped)
    return text


def _best(table: Table, column: str) -> set[str]:
    """Rows with the column's best shown value (Δ rows only in Δ mode)."""
    candidates = {row: stat.mean for row in table.rows
                  if (stat := table.shown(table.cells[(row, column)])) is not None
                  and (table.mode == "absolute" or row != BASELINE)}
    if not candidates:
        return set()
    top = max(candidates.values())
    return {row for row, value in candidates.items() if math.isclose(value, top, abs_tol=1e-12)}


def _latex_cell(table: Table, cell: Cell, decimals: int, bold: bool) -> str:
    stat = table.shown(cell)
    if stat is None:
        return "n/a"
    if table.is_delta_row(cell.row):
        mean = _signed(stat.mean, decimals, "$-$")
    else:
        mean = f"{stat.mean:.{decimals}f}"
    std = "-" if stat.std is None else f"{stat.std:.{decimals}f}"
    body = f"{mean} $\\pm$ {std}"
    body = f"\\textbf{{{body}}}" if bold else body
    marks = cell.marker + (r"\dag" if cell.fewer_seeds else "") + (r"\ddag" if cell.partial else "")
    return body + (f"$^{{{marks}}}$" if marks else "")


def to_latex(report: Report, decimals: int = 1) -> str:
    """booktabs tables; the best cell per column in bold, Δ signed."""
    parts = []
    for table in report.tables:
        best = {col: _best(table, col) for col in table.columns}
        lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * len(table.columns) + "}",
                 r"\toprule", " & ".join(_latex_escape(h) for h in _header(table)) + r" \\", r"\midrule"]
        for row in table.rows:
            cells = [_latex_cell(table, table.cells[(row, col)], decimals, row in best[col]) for col in table.columns]
            lines.append(" & ".join([_latex_escape(row)] + cells) + r" \\")
            if row == BASELINE and table.mode == "delta" and len(table.rows) > 1:
                lines.append(r"\midrule")
        if table.reference:
            lines.append(r"\midrule")
            for ref in table.reference:
                values = [f"{ref['values'][c]:.{decimals}f}" if c in ref["values"] else "--" for c in table.columns]
                lines.append(" & ".join([_latex_escape(ref["label"])] + values) + r" \\")
        notes = "; ".join(table.notes).replace("†", r"\dag").replace("‡", r"\ddag")
        notes = _latex_escape(notes).replace(r"\textbackslash{}dag", r"\dag").replace(r"\textbackslash{}ddag", r"\ddag")
        notes = notes.replace("Δ", r"$\Delta$").replace("±", r"$\pm$").replace("−", "$-$").replace("<", "$<$")
        title = _latex_escape(_title(table)).replace("Δ", r"$\Delta$")
        lines += [r"\bottomrule", r"\end{tabular}", f"\\caption{{{title}. {notes}}}", r"\end{table}"]
        parts.append("\n".join(lines))
    return "% needs \\usepackage{booktabs}\n" + "\n\n".join(parts) + "\n"


def print_rich(report: Report, decimals: int = 2) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)  # piped: don't squeeze the matrix into 80 columns
    for table in report.tables:
        view = RichTable(title=_title(table), title_justify="left", caption="\n".join(table.notes),
                         caption_justify="left")
        view.add_column("intermediate")
        for column in table.columns:
            view.add_column(column, justify="right")
        rows = _grid_rows(table, decimals)
        for i, row in enumerate(rows):
            ends = (row[0] == BASELINE and table.mode == "delta") or i == len(table.rows) - 1
            view.add_row(*row, end_section=ends)
        console.print(view)
        for note in _reference_notes(report, table):
            console.print(note, soft_wrap=True)
    for line in report.left_out:
        console.print(line, soft_wrap=True)
    for line in report.skipped:
        console.print(f"skipped {line}", soft_wrap=True)


# ------------------------------------------------------------------------------------------ figures


#: The heatmap's caption: font size (points) and the height of one of its lines (inches).
CAPTION_PT = 7
CAPTION_LINE = 0.13
#: Shown instead of FLAGGED where the figures' font has no glyph for it (matplotlib would draw a box).
FLAGGED_PLAIN = "!"


def figure_size(rows: int, columns: int, caption: int = 0) -> tuple[float, float]:
    """The figure's size in inches (saved at FIG_DPI, so its pixel size is known in advance): each
    cell holds two lines (the mean with its marks, ± std beneath), and ``caption`` lines of caption
    (:func:`figure_caption`) go under the plot."""
    return 2.0 + 1.3 * columns, 1.6 + 0.6 * rows + CAPTION_LINE * caption


def plotted_rows(table: Table) -> list[str]:
    """The heatmap's rows: in Δ mode, the Δ rows (the baseline's scores are no Δ)."""
    return [r for r in table.rows if table.mode == "absolute" or r != BASELINE]


def figure_caption(table: Table) -> list[str]:
    """The lines under the heatmap saying what its numbers and marks mean (only the marks it shows),
    wrapped to the figure's width."""
    import textwrap

    cells = [table.cells[(r, c)] for r in plotted_rows(table) for c in table.columns]
    shown = [c for c in cells if table.shown(c) is not None]
    what = f"Δ against {BASELINE} (points), paired seed by seed" if table.mode == "delta" else "score (points)"
    notes = [f"Each cell: the {what}, mean over seeds; beneath it, ± the sample standard deviation over seeds "
             f"(none for one seed)."]
    if table.tests:
        notes.append(f"* p<0.05, ** p<0.01: paired bootstrap over test examples, Holm-corrected over the "
                     f"{table.tests} test{'s' * (table.tests != 1)} of this table.")
    elif table.mode == "delta":
        notes.append("No significance marks: no test was made (--bootstrap 0, or no per-example outcome files).")
    if any(c.fewer_seeds for c in shown):
        notes.append(f"{FEWER} fewer seeds than the table's other cells.")
    if any(c.partial for c in shown):
        notes.append(f"{PARTIAL} average over fewer tasks than the table's columns.")
    flagged = sorted({flag for c in shown for flag in c.flags})
    if flagged:
        notes.append(f"{_flag_mark()} a run behind the number has a score that is no finding: {', '.join(flagged)}.")
    if len(shown) < len(cells):
        notes.append("n/a: no run (or no baseline run with the same seed) for this cell.")
    width, _ = figure_size(0, len(table.columns))
    # a character of DejaVu Sans is about 0.5 em wide on average; counting 0.6 em (and 95 % of the
    # width) leaves a margin, so no line runs off the figure
    chars = int(width * 72 * 0.95 / (0.6 * CAPTION_PT))
    return [line for note in notes for line in textwrap.wrap(note, chars)]


def _flag_mark() -> str:
    """FLAGGED where the figures' font can draw it, else FLAGGED_PLAIN (the caption explains either)."""
    return FLAGGED if _drawable(FLAGGED) else FLAGGED_PLAIN


@functools.lru_cache
def _drawable(char: str) -> bool:
    """Whether the font figures are drawn in has a glyph for ``char`` (matplotlib would draw an
    empty box and warn)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return ord(char) in FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap()


def _figure_cell_text(table: Table, cell: Cell) -> str:
    """A heatmap cell: the mean with its marks (significance, fewer seeds, partial, flagged) and,
    beneath it, ± the std over seeds (nothing for one seed); ``n/a`` without a number."""
    stat = table.shown(cell)
    if stat is None:
        return "n/a"
    mean = _signed(stat.mean, 1) if table.is_delta_row(cell.row) else f"{stat.mean:.1f}"
    marks = cell.marker + (FEWER if cell.fewer_seeds else "") + (PARTIAL if cell.partial else "")
    marks += _flag_mark() if cell.flags else ""
    return mean + marks + ("" if stat.std is None else f"\n± {stat.std:.1f}")


def plot(table: Table, path: Path) -> tuple[int, int]:
    """Write the table's :func:`heatmap` to ``path`` (.png, .pdf or .svg); returns its pixel size."""
    return _save_figure(heatmap, table, path)


def _save_figure(draw, table: Table, path: Path) -> tuple[int, int]:
    """``draw(table)`` written to ``path`` (its suffix checked before anything is drawn); its pixel size."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise UserError(f"{path}: a figure is written as .png, .pdf or .svg")
    fig = draw(table)
    fig.savefig(path, dpi=FIG_DPI)
    width, height = fig.get_size_inches()
    return round(width * FIG_DPI), round(height * FIG_DPI)


def heatmap(table: Table):
    """The table as a heatmap (Δ rows in Δ mode, diverging and centred on zero): every cell shows its
    mean with its marks and ± std beneath, and a caption under the plot says what they mean. Its
    size is :func:`figure_size`'s."""
    import numpy as np
    from matplotlib.colors import Normalize, TwoSlopeNorm
    from matplotlib.figure import Figure  # no pyplot: no global backend or state

    rows = plotted_rows(table)
    if not rows:
        raise UserError(f"model {table.model}: nothing to plot (only the baseline row)")
    values = np.array([[_mean_or_nan(table, table.cells[(r, c)]) for c in table.columns] for r in rows])
    caption = figure_caption(table)
    width, height = figure_size(len(rows), len(table.columns), len(caption))
    fig = Figure(figsize=(width, height), dpi=FIG_DPI, layout="constrained")
    axes = fig.add_subplot()
    if table.mode == "delta":
        bound = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        bound = bound or 1.0
        norm, cmap, label = (TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound), "RdBu",
                             f"Δ against {BASELINE} (points)")
    else:
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        norm, cmap, label = Normalize(low, high if high > low else low + 1), "viridis", "score (points)"
    image = axes.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    for i, row in enumerate(rows):
        for j, column in enumerate(table.columns):
            axes.text(j, i, _figure_cell_text(table, table.cells[(row, column)]), ha="center", va="center",
                      fontsize=9, linespacing=1.15, color=_ink(image, values[i, j]))
    axes.set_xticks(range(len(table.columns)), table.columns, rotation=30, ha="right")
    axes.set_yticks(range(len(rows)), rows)
    axes.set_title(_title(table), fontsize=9)
    fig.colorbar(image, ax=axes, label=label)
    if caption:  # under the plot; constrained layout keeps room for it
        fig.supxlabel("\n".join(caption), x=0.01, ha="left", multialignment="left", fontsize=CAPTION_PT)
    return fig


def curve_runs(table: Table) -> dict[tuple[str, str], list[dict]]:
    """(row, target task) → the records of the runs behind that cell of the task matrix, by seed
    (read again from their folders: a table keeps its numbers, not whole records)."""
    found: dict[tuple[str, str], list[dict]] = {}
    for (row, column), cell in table.cells.items():
        if column == AVERAGE or (table.target is None and len(cell.tasks) != 1):
            continue
        records = []
        for folder in cell.runs:
            record, trouble = _read_record(Path(folder) / "results.json")
            if trouble is None and record.get("target_task") == cell.tasks[0]:
                records.append(record)
        found[(row, cell.tasks[0])] = sorted(records, key=lambda r: r["seed"])
    return found


def curves(table: Table):
    """Learning curves of the table's cells, one panel per intermediate task × target task: the
    target fine-tuning's training loss over updates (a line per seed; ``results.json``'s
    ``history.steps``, averaged over windows of updates) and its English dev score after each epoch
    (markers, right axis). A legend appears only with several seeds."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    by_cell = curve_runs(table)
    rows = [r for r in table.rows if any(key[0] == r for key in by_cell)]
    tasks = [t for t in (table.columns[:-1] if table.target is None else [table.target])
             if any(key[1] == t for key in by_cell)]
    if not rows or not tasks:
        raise UserError(f"model {table.model}: no runs to draw learning curves for")
    fig = Figure(figsize=(1.0 + 3.0 * len(tasks), 0.8 + 2.2 * len(rows)), dpi=FIG_DPI, layout="constrained")
    grid = fig.subplots(len(rows), len(tasks), squeeze=False)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]
    seeds = sorted({r["seed"] for records in by_cell.values() for r in records})
    for i, row in enumerate(rows):
        for j, task in enumerate(tasks):
            axes = grid[i][j]
            axes.set_title(f"{row} → {task}", fontsize=8)
            records = by_cell.get((row, task), [])
            drawn = False
            dev = axes.twinx()
            for record in records:
                history = ((record.get("phases") or {}).get("target") or {}).get("history") or {}
                colour = colours[seeds.index(record["seed"]) % len(colours)]
                steps = history.get("steps") or {}
                if steps.get("update"):
                    axes.plot(steps["update"], steps["train_loss"], color=colour, linewidth=1,
                              label=f"seed {record['seed']}")
                    drawn = True
                epochs = [e for e in history.get("epochs") or [] if e.get("dev_score") is not None]
                if epochs:
                    dev.plot([e["updates"] for e in epochs], [e["dev_score"] for e in epochs], color=colour,
                             linestyle=":", marker="o", markersize=3, linewidth=1)
                    drawn = True
            if not drawn:
                why = "no training (retrieval)" if records and all(
                    not (((r.get("phases") or {}).get("target") or {}).get("history")) for r in records) \
                    else "no curve recorded"
                axes.text(0.5, 0.5, why, ha="center", va="center", fontsize=8, transform=axes.transAxes)
                dev.set_yticks([])
            elif not axes.lines:  # dev scores only: a run from before the per-step curve was recorded
                axes.text(0.5, 0.5, "training loss not recorded\n(an older run)", ha="center", va="center",
                          fontsize=7, color="#777", transform=axes.transAxes)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # updates are whole
            axes.tick_params(labelsize=7)
            dev.tick_params(labelsize=7)
            if j == 0:
                axes.set_ylabel("training loss", fontsize=7)
            if j == len(tasks) - 1:
                dev.set_ylabel("English dev score (points)", fontsize=7)
            if i == len(rows) - 1:
                axes.set_xlabel("update", fontsize=7)
    if len(seeds) > 1:
        handles, labels = grid[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", fontsize=7, ncol=min(len(seeds), 6))
    heading = f"experiment {table.experiment} · " if table.experiment else ""
    fig.suptitle(f"{heading}model {table.model} · learning curves\nline: training loss; dotted: dev score after "
                 f"each epoch", fontsize=8)
    return fig


def plot_curves(table: Table, path: Path) -> tuple[int, int]:
    """Write the table's :func:`curves` to ``path`` (.png, .pdf or .svg); returns its pixel size."""
    return _save_figure(curves, table, path)


def _ink(image, value: float) -> str:
    """Black on light cells, white on dark ones, so every number stays readable."""
    if not math.isfinite(value):
        return "black"
    red, green, blue, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def _mean_or_nan(table: Table, cell: Cell) -> float:
    stat = table.shown(cell)
    return float("nan") if stat is None else stat.mean


def render(report: Report, fmt: str) -> str | None:
    """The report as text in ``fmt``; None for the terminal table (printed directly)."""
    if fmt == "table":
        print_rich(report)
        return None
    return {"markdown": to_markdown, "latex": to_latex, "csv": to_csv, "json": to_json}[fmt](report)
