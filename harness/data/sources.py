"""Finding and reading a task's data: bundled samples, local files or the hub.

Everything a run needs is located *before* training starts, so a missing test file or an
unreachable hub is reported at once in one line, not after hours of training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from harness.data import hub
from harness.contract.errors import DataFormatError, UserError
from harness.data.readers import strict_answers
from harness.common.fsutil import sha256_files
from harness.contract.discovery import Registered
from harness.contract.kindset import Kinds
from harness.contract.spec import Example, HubSource, TaskSpec, is_commit
from harness.kinds import builtin_kinds

SOURCES = ("bundled", "local", "hub")


@dataclass
class TaskData:
    """Where one task's splits come from, resolved and checked."""

    task: Registered
    source: str
    needs: list[tuple[str, str]]  # (split, language) pairs the run will read
    files: dict[tuple[str, str], list[Path]] = field(default_factory=dict)
    # --data-revision values that changed this task's hub sources (recorded, and keyed, when given)
    revision_overrides: dict[str, str] = field(default_factory=dict)
    # the task kinds of the registry the task came from (``Registry.kind_set``)
    kinds: Kinds = field(default_factory=builtin_kinds, repr=False)
    # a fixed share of the batches in multi-task training (the --mlm corpus); None: by its size
    weight: float | None = None
    _loaded: dict[tuple[str, str], list[Example]] = field(default_factory=dict, repr=False)

    @property
    def spec(self) -> TaskSpec:
        return self.task.spec

    @cached_property
    def identity(self) -> dict[str, Any]:
        """What determines this data, for cache keys and the results record (files hashed once)."""
        spec = self.spec
        base: dict[str, Any] = {
            "task": spec.name, "plugin": self.task.plugin, "plugin_version": self.task.plugin_version,
            "data_version": spec.data_version, "source": self.source,
        }
        if self.source == "hub":
            # each source as read: its dataset, config and the commit resolved for its revision
            base.update(dataset=spec.hub.path, config=spec.hub.config, **_revision_identity(spec.hub))
            # a language read from another dataset; named only when a run reads one, so the keys of
            # runs that do not are as they were before per-language sources existed
            others = sorted({lang for _, lang in self.needs if lang in spec.hub.per_language})
            if others:
                base["per_language"] = {lang: _source_identity(spec.hub.per_language[lang], lang) for lang in others}
            # the splits read from other datasets (XNLI trains on MNLI, QA tasks on SQuAD)
            splits = sorted({split for split, lang in self.needs
                             if lang not in spec.hub.per_language and split in spec.hub.per_split})
            if splits:
                base["per_split"] = {split: [{"dataset": s.path, "config": s.config, **_revision_identity(s)}
                                             for s in spec.hub.sources_for(split)] for split in splits}
            if self.revision_overrides:
                base["revision_overrides"] = dict(sorted(self.revision_overrides.items()))
        else:
            paths = sorted({path for group in self.files.values() for path in group})
            common = Path(os.path.commonpath([str(p.parent) for p in paths]))
            base["sha256"] = sha256_files(paths, root=common)
            if self.source == "local":
                base["root"] = str(common)
        return base

    def part_digests(self) -> dict[str, str]:
        """``split/language`` → digest of the files read for it (local and bundled data; the hub's are
        named by revision in ``identity``): recorded so that a report can say which split and language
        of two runs' data differ. Not part of any key (``identity`` is)."""
        if self.source == "hub":
            return {}
        parts = {}
        try:
            for (split, lang), paths in sorted(self.files.items()):
                if paths:
                    root = Path(os.path.commonpath([str(p.parent) for p in paths]))
                    parts[f"{split}/{lang}"] = sha256_files(list(paths), root=root)
        except OSError:  # a file gone since the run read it: the record goes without them, not the run
            return {}
        return parts

    def preload(self) -> None:
        """Read and check every needed split now, so bad or empty data fails before any training starts."""
        for split, lang in self.needs:
            examples = self.load(split, lang)
            if not examples:
                raise UserError(f"{self.spec.name}: the {split} split for {lang} is empty "
                                f"({self.where(split, lang)}); check that file, or leave the language out "
                                f"with --languages")
            problem = _label_problem(self.spec, examples)
            if problem is not None:
                raise UserError(f"{self.spec.name}: {split} {lang} ({self.where(split, lang)}): {problem}")

    def where(self, split: str, lang: str) -> str:
        """The file(s), or hub dataset, that one split and language are read from."""
        if self.source == "hub":
            sources = self.spec.hub.sources_for(split, lang)
            return "; ".join(f"hub {s.path} {s.config_for(lang) or ''} split {s.splits[split]}".replace("  ", " ")
                             for s in sources)
        return ", ".join(str(p) for p in self.files[(split, lang)])

    def load(self, split: str, lang: str) -> list[Example]:
        if (split, lang) not in self._loaded:
            self._loaded[(split, lang)] = self._read(split, lang)
        return self._loaded[(split, lang)]

    def _read(self, split: str, lang: str) -> list[Example]:
        # Training places a QA answer by its offset: an answer off it is refused there, not skipped
        # (evaluation scores answer texts only, and keeps XTREME's lenient reading).
        training = split == "train"
        if self.source == "hub":
            examples = _load_hub(self.spec, split, lang)
            check = self.kinds.spec(self.spec.kind).check_training
            if training and check is not None:  # the kind's own check of training rows (span QA: answer offsets)
                check(self.spec.name, examples, self.where(split, lang))
            return examples
        examples: list[Example] = []
        for path in self.files[(split, lang)]:
            try:
                with strict_answers(training):
                    examples.extend(self.spec.local.read(path, split, lang))
            except UnicodeDecodeError as exc:
                # A reader may also read files beside ``path`` (BUCC's and Tatoeba's English side).
                error = DataFormatError.not_utf8(path) or DataFormatError(
                    path, None, f"a file read with it is not UTF-8 text ({exc.reason})")
                raise error from None
        return examples


def _label_problem(spec: TaskSpec, examples: list[Example]) -> str | None:
    """The first example whose integer ``label`` lies outside the task's classes (``labels``) or
    answers (``num_choices``): a head that size would fail at the first step with an index error."""
    count = len(spec.labels) or spec.num_choices
    if not count:
        return None
    what = f"the task's {len(spec.labels)} labels ({', '.join(spec.labels)})" if spec.labels else \
        f"its {spec.num_choices} choices"
    for index, example in enumerate(examples):
        label = example.get("label") if isinstance(example, dict) else None
        if isinstance(label, int) and not isinstance(label, bool) and not 0 <= label < count:
            return (f"example {index + 1} (id {example.get('id', index)!r}) has label {label}, outside {what}; "
                    f"fix the reader or the task's labels")
    return None


def plan_task_data(task: Registered, needs: list[tuple[str, str]], *, source: str,
                   data_dir: Path | None, revision_overrides: dict[str, str] | None = None,
                   kinds: Kinds | None = None) -> TaskData:
    """Resolve one task's data for the given (split, language) pairs, or raise UserError.

    ``revision_overrides`` (``--data-revision``): the values already applied to ``task``'s hub
    sources, recorded in the data identity. ``kinds``: the kinds of the registry ``task`` comes
    from (``Registry.kind_set``; the core's own when omitted).
    """
    spec: TaskSpec = task.spec
    data = TaskData(task, source, needs, revision_overrides=dict(revision_overrides or {}),
                    kinds=kinds if kinds is not None else builtin_kinds())
    if source == "bundled":
        if spec.samples is None:
            raise UserError(f"task {spec.name!r} ships no bundled samples; use --data-dir or the hub")
        for need in needs:
            path = _find(spec, spec.samples, *need)
            if path is None:
                wanted = spec.local.file(*need)
                first = wanted if isinstance(wanted, str) else wanted[0]
                raise UserError(f"task {spec.name!r}: plugin {task.plugin!r} ships no bundled sample for {need[0]} "
                                f"{need[1]} ({spec.samples / first}): add that file to the plugin's samples, or drop "
                                f"{need[1]!r} from the task's languages")
            data.files[need] = path
    elif source == "local":
        assert data_dir is not None
        if not data_dir.is_dir():
            raise UserError(f"--data-dir {data_dir} is not a folder")
        for need in needs:
            path = _find(spec, data_dir, *need)
            if path is None:
                where = ", ".join(str(data_dir / r) if r else str(data_dir) for r in spec.local.roots)
                wanted = spec.local.file(*need)
                missing = next(w for w in ((wanted,) if isinstance(wanted, str) else wanted)
                               if _find_one(spec, data_dir, w) is None)
                raise UserError(f"{spec.name}: file {missing} not found under --data-dir "
                                f"(looked in {where}); put the {spec.name} files there in their original layout")
            data.files[need] = path
    elif source == "hub":
        if spec.hub is None:
            wanted = spec.local.file(*needs[0])
            first = wanted if isinstance(wanted, str) else wanted[0]
            raise UserError(f"{spec.name} is read from local files only: pass --data-dir DIR with its files as "
                            f"DIR/{first} (or under DIR/{spec.local.roots[-1]}/), or --preset smoke")
        missing = [s for s, lang in needs if any(s not in src.splits for src in spec.hub.sources_for(s, lang))]
        if missing:
            raise UserError(f"task {spec.name!r} has no {missing[0]!r} split on the hub; pass --data-dir")
        if not hub.hub_reachable():
            for split, lang in sorted(set(needs)):
                for source in spec.hub.sources_for(split, lang):
                    if not hub.dataset_maybe_cached(source.path):
                        raise UserError(_offline_message(spec, source.path, (split, lang)))
            hub.go_offline()
    else:
        raise ValueError(source)
    return data


def _offline_message(spec: TaskSpec, path: str, need: tuple[str, str] | None = None) -> str:
    where = f"the {spec.name} files in their original layout"
    if need is not None:
        try:
            wanted = spec.local.file(*need)
        except (KeyError, ValueError, IndexError):
            wanted = None
        if wanted:
            first = wanted if isinstance(wanted, str) else wanted[0]
            root = spec.local.roots[0]
            where = f"its files in their original layout (e.g. DIR/{root + '/' if root else ''}{first})"
    return (f"dataset {path} ({spec.name}) cannot be loaded: the Hugging Face hub is unreachable and "
            f"the dataset is not in the local cache; pass --data-dir DIR with {where}, or --preset smoke "
            f"to run on the bundled samples")


def _find(spec: TaskSpec, base: Path, split: str, lang: str) -> list[Path] | None:
    """The files of one split and language, each under the first root that has it.

    A pattern with ``*`` (UD keeps one file per treebank) matches every file it names. When a
    task names several files (ANLI+ joins four datasets), each must be found.
    """
    wanted = spec.local.file(split, lang)
    found: list[Path] = []
    for relative in (wanted,) if isinstance(wanted, str) else wanted:
        paths = _find_one(spec, base, relative)
        if paths is None:
            return None
        found.extend(paths)
    return found


def _find_one(spec: TaskSpec, base: Path, relative: str) -> list[Path] | None:
    for root in spec.local.roots:
        folder = base / root if root else base
        if "*" in relative:
            matches = sorted(p for p in folder.glob(relative) if p.is_file())
            if matches:
                return matches
        elif (folder / relative).is_file():
            return [folder / relative]
    return None


def _load_hub(spec: TaskSpec, split: str, lang: str) -> list[Example]:
    return [example for source in spec.hub.sources_for(split, lang)
            for example in _load_hub_source(spec, source, split, lang)]


def _load_hub_source(spec: TaskSpec, source, split: str, lang: str) -> list[Example]:
    import datasets

    config = source.config_for(lang)
    try:
        # the commit recorded in the data identity, when one was resolved for a branch or ref
        revision = resolve_revision(source.path, source.revision) or source.revision
        rows = datasets.load_dataset(source.path, config, split=source.splits[split], revision=revision)
    except Exception as exc:  # offline, missing config, gated repo …: one line, not a traceback
        if not hub.hub_reachable():
            raise UserError(_offline_message(spec, source.path)) from None
        raise UserError(f"could not load {source.path} ({config or 'default'}, {source.splits[split]}) from the "
                        f"hub: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    examples = []
    for row in rows:
        example = source.convert(row, lang)
        if isinstance(example, list):  # one row may hold several examples (a query and its candidates)
            examples.extend(example)
        elif example is not None:
            examples.append(example)
    return examples


def _source_identity(source: HubSource, lang: str) -> dict[str, Any]:
    """One secondary hub source as read for ``lang``: dataset, config and revision."""
    return {"dataset": source.path, "config": source.config_for(lang), **_revision_identity(source)}


def _revision_identity(source: HubSource) -> dict[str, Any]:
    """``revision``: the commit read. A pinned source's is its pin; a branch or ref (an unpinned
    source, or ``--data-revision main``) is resolved to its commit where the hub or the local cache
    says which, and then ``ref`` keeps what was asked for; unresolved, ``revision`` is the ref itself."""
    resolved = resolve_revision(source.path, source.revision)
    if resolved is None or resolved == source.revision:
        return {"revision": source.revision}
    return {"revision": resolved, "ref": source.revision or "main"}


@lru_cache(maxsize=None)
def resolve_revision(path: str, revision: str | None) -> str | None:
    """The commit a hub dataset's ``revision`` (None: its default branch) stands for, or None if
    neither the local hub cache nor the hub can say. A full commit stands for itself."""
    if is_commit(revision):
        return revision
    ref = revision or "main"
    cached = hub.hub_cache_dir() / f"datasets--{path.replace('/', '--')}" / "refs" / ref
    try:
        commit = cached.read_text(encoding="utf-8").strip()
        if is_commit(commit):
            return commit
    except OSError:
        pass
    if not hub.hub_reachable():
        return None
    try:
        from huggingface_hub import HfApi

        commit = HfApi().dataset_info(path, revision=ref, timeout=10).sha
    except Exception:  # unknown ref, gated repo, a network fault: the ref is recorded as asked
        return None
    return commit if is_commit(commit) else None
