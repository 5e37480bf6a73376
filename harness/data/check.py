"""``xharness data check``: is the hub data a task reads the data its benchmark published?

For every hub source a task reads (the pinned commit, each split and language it serves), the
hub's own metadata is compared with what the task declares: the split exists, the columns its
converter reads are there, the label names are in the order the converter maps ids by, and the
row count equals the published count (``TaskSpec.sizes``, each with its citation).

The comparison works on :class:`SourceMeta`, which is built from a ``datasets.DatasetInfo``:
online from ``datasets.load_dataset_builder`` (counting rows by loading a split only where the
dataset card gives no count), offline, in the tests, from a recorded dataset card parsed by the
same libraries (``huggingface_hub.DatasetCardData`` and ``datasets.DatasetInfosDict``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.contract.errors import UserError
from harness.contract.spec import HubSource, TaskSpec


@dataclass(frozen=True)
class SourceMeta:
    """What the hub says of one dataset config at one revision."""

    #: hub split name -> number of rows (None where the metadata does not say)
    splits: dict[str, int | None]
    #: top-level column names
    columns: tuple[str, ...]
    #: column -> class names, for columns of class labels (or sequences of them)
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _class_names(feature: Any) -> tuple[str, ...] | None:
    """The names of a ClassLabel, also inside a List or Sequence (tag columns); None otherwise."""
    import datasets

    while True:
        if isinstance(feature, datasets.ClassLabel):
            return tuple(feature.names)
        inner = getattr(feature, "feature", None)  # datasets.List / Sequence
        if inner is None:
            return None
        feature = inner


def meta_from_info(info: Any) -> SourceMeta:
    """A ``datasets.DatasetInfo`` (from a builder, or from a dataset card) as :class:`SourceMeta`."""
    features = info.features or {}
    splits = {name: (split.num_examples if split.num_examples else None)
              for name, split in (info.splits or {}).items()}
    labels = {}
    for name, feature in features.items():
        names = _class_names(feature)
        if names is not None:
            labels[name] = names
    return SourceMeta(splits=splits, columns=tuple(features), labels=labels)


def metas_from_card(card_yaml: dict) -> dict[str, SourceMeta]:
    """Config name -> :class:`SourceMeta`, from the YAML header of a dataset card (its
    ``dataset_info``), parsed by the hub's and datasets' own readers."""
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    infos = DatasetInfosDict.from_dataset_card_data(DatasetCardData(**card_yaml))
    return {config: meta_from_info(info) for config, info in infos.items()}


@dataclass
class Finding:
    """One split of one language of one task, as checked."""

    task: str
    split: str
    lang: str
    sources: list[str]  # "dataset@revision (config, hub split)" for each source read
    rows: int | None  # rows on the hub, summed over the sources (None: unknown)
    published: int | None  # the count the task declares
    cite: str | None  # where that count is stated
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.problems:
            return "MISMATCH"
        return "ok" if self.published is not None else "unchecked count"


def checked_splits(spec: TaskSpec, languages: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """The (split, language) pairs worth checking: every split the hub serves in the training
    language, every evaluation split (dev, test) in the others, and every published count."""
    hub = spec.hub
    wanted = list(languages) if languages is not None else list(spec.all_languages)
    pairs: list[tuple[str, str]] = []
    for lang in wanted:
        for split in ("train", "dev", "test"):
            served = split in hub.splits or split in hub.per_split or lang in hub.per_language
            if not served or not hub.has_split(split, lang):
                continue
            if lang == spec.train_language or spec.sizes_for(split, lang) is not None or \
                    (split != "train" and _own_split(spec, split, lang)):
                pairs.append((split, lang))
    for split, lang in spec.published_pairs():
        if (split, lang) not in pairs and (languages is None or lang in wanted):
            pairs.append((split, lang))
    return pairs


def _shared_config(spec: TaskSpec, split: str, lang: str) -> bool:
    """Whether ``lang``'s ``split`` is read from one config of the task's own source that holds every
    language (XNLI's, TyDiQA's): the hub counts that config's rows, not one language's."""
    hub = spec.hub
    return "{" not in (hub.config or "") and all(s is hub for s in hub.sources_for(split, lang))


def _own_split(spec: TaskSpec, split: str, lang: str) -> bool:
    """Whether ``lang`` reads a split of its own: not the training language's split served again (the
    QA tasks' dev set is SQuAD's in every language), unless it comes from a shared config."""
    hub = spec.hub
    if _shared_config(spec, split, lang):
        return True
    train = spec.train_language
    return not hub.has_split(split, train) or _key(spec, split, lang) != _key(spec, split, train)


def _where(source: HubSource, lang: str, split: str) -> str:
    return f"{source.path}@{(source.revision or 'main')[:12]} ({source.config_for(lang) or 'default'}, " \
           f"{source.splits.get(split, '?')})"


def _groups(spec: TaskSpec, pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """(split, languages) groups that one set of hub splits serves together: a language of its
    own config is its own group; languages read from one shared config (XNLI's, TyDiQA's) share one,
    since the hub counts that config's rows, not one language's."""
    groups: dict[tuple, tuple[str, list[str]]] = {}
    for split, lang in pairs:
        if not spec.hub.has_split(split, lang):
            groups[(split, lang, "missing")] = (split, [lang])
            continue
        groups.setdefault(_key(spec, split, lang), (split, []))[1].append(lang)
    # one config of the task's own source holding every language (XNLI's, TyDiQA's): its evaluation
    # split's rows are every language's, checked or not (--languages); a training split is read in
    # the training language alone
    for key, (split, langs) in groups.items():
        if key[-1] == "missing" or split == "train" or not _shared_config(spec, split, langs[0]):
            continue
        for lang in spec.all_languages:
            if lang not in langs and spec.hub.has_split(split, lang) and _key(spec, split, lang) == key:
                langs.append(lang)
    return list(groups.values())


def _key(spec: TaskSpec, split: str, lang: str) -> tuple:
    return (split,) + tuple((s.path, s.config_for(lang), s.revision, s.splits.get(split))
                            for s in spec.hub.sources_for(split, lang))


def check_task(name: str, spec: TaskSpec, meta_of: Callable[[HubSource, str | None], SourceMeta],
               languages: Iterable[str] | None = None,
               advance: Callable[[], None] = lambda: None) -> Iterator[Finding]:
    """Compare every checked split of one task with its hub metadata. ``meta_of(source, config)``
    gives the metadata of one config of one source (it may raise :class:`UserError`)."""
    for split, langs in _groups(spec, checked_splits(spec, languages)):
        lang = langs[0]
        counts = [spec.sizes_for(split, each) for each in langs]
        published = sum(c[0] for c in counts) if all(counts) else None
        cite = counts[0][1] if all(counts) else None
        label = lang if len(langs) == 1 else f"{lang} +{len(langs) - 1} (one config)"
        finding = Finding(name, split, label, [], 0, published, cite)
        if not spec.hub.has_split(split, lang):
            finding.problems.append(f"the hub source has no {split} split for {lang}")
            finding.rows = None
        for source in spec.hub.sources_for(split, lang) if finding.rows is not None else ():
            finding.sources.append(_where(source, lang, split))
            config = source.config_for(lang)
            try:
                meta = meta_of(source, config)
            except UserError as error:
                finding.problems.append(str(error))
                finding.rows = None
                continue
            hub_split = source.splits.get(split)
            if hub_split not in meta.splits:
                finding.problems.append(f"{source.path} ({config or 'default'}) has no split {hub_split!r} "
                                        f"(it has {', '.join(sorted(meta.splits)) or 'none'})")
                finding.rows = None
            elif finding.rows is not None:
                count = meta.splits[hub_split]
                finding.rows = None if count is None else finding.rows + count
            missing = [c for c in source.columns if c not in meta.columns]
            if missing:
                finding.problems.append(f"{source.path} ({config or 'default'}) lacks column(s) "
                                        f"{', '.join(missing)} that the task reads (it has {', '.join(meta.columns)})")
            for column, expected in source.label_names.items():
                found = meta.labels.get(column)
                if found is not None and tuple(found) != tuple(expected):
                    finding.problems.append(f"{source.path} ({config or 'default'}) {column}: label names "
                                            f"{list(found)} differ from the order the task maps ids by "
                                            f"{list(expected)}")
        if published is not None and finding.rows is not None and finding.rows != published:
            finding.problems.append(f"{finding.rows} rows where {published} are published ({cite})")
        advance()
        yield finding


def hub_meta_reader(count_missing: bool = True) -> Callable[[HubSource, str | None], SourceMeta]:
    """``meta_of`` for :func:`check_task` that asks the hub: the builder's metadata of each
    config at the source's revision, once per config; a split whose row count the card does not
    give is loaded and counted when ``count_missing``."""
    cache: dict[tuple[str, str | None, str | None], SourceMeta] = {}

    def meta_of(source: HubSource, config: str | None) -> SourceMeta:
        import datasets

        key = (source.path, config, source.revision)
        if key in cache:
            return cache[key]
        try:
            builder = datasets.load_dataset_builder(source.path, config, revision=source.revision)
        except Exception as exc:  # a config that does not exist, a script dataset, a gated one …
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise UserError(f"{source.path} ({config or 'default'}) at {source.revision or 'main'}: "
                            f"{type(exc).__name__}: {first}") from None
        meta = meta_from_info(builder.info)
        if count_missing and (not meta.splits or any(v is None for v in meta.splits.values())):
            counted = {}
            wanted = set(meta.splits) or set(source.splits.values())
            for hub_split in sorted(wanted):
                try:
                    rows = datasets.load_dataset(source.path, config, split=hub_split, revision=source.revision)
                except Exception:
                    continue
                counted[hub_split] = rows.num_rows
                if not meta.columns:
                    meta = meta_from_info(rows.info)
            meta = SourceMeta(splits={**meta.splits, **counted}, columns=meta.columns, labels=meta.labels)
        cache[key] = meta
        return meta

    return meta_of


def unpinned_paths(specs: Iterable[TaskSpec]) -> list[str]:
    """The hub datasets the given tasks read without a full-commit pin, each once, in order."""
    from harness.contract.spec import is_commit

    seen: list[str] = []
    for spec in specs:
        for source in spec.hub.walk() if spec.hub is not None else ():
            if not is_commit(source.revision) and source.path not in seen:
                seen.append(source.path)
    return seen


def pin_candidate(path: str, info: Any) -> str:
    """One line on what to pin an unpinned dataset to, from ``HfApi().dataset_info(path)``: its
    default branch's commit, if that commit holds no loading script (which datasets 5 refuses)."""
    files = [s.rfilename for s in (info.siblings or [])]
    scripts = [f for f in files if f.endswith(".py") and "/" not in f]
    if scripts:
        return f"{path}: main is {info.sha} and still holds {', '.join(scripts)} (a loading script datasets 5 " \
               f"refuses): not pinnable yet; it is read from its branch as now"
    return f"{path}: main is {info.sha} (no loading script): pin it with revision=\"{info.sha}\" and note this " \
           f"line beside it"
