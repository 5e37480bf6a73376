"""XTREME-R's new tasks (XCOPA, SIQa, LAReQA, Mewsli-X): readers on the bundled samples and on
hand-written records, their errors on malformed input, the sentence splitter, and registration."""

import json
from pathlib import Path

import pytest

from harness.data.sources import plan_task_data
from harness.contract.errors import DataFormatError
from xharness_xtreme import lareqa, mewslix, sentences, siqa, xcopa

SAMPLES = Path(xcopa.__file__).resolve().parent / "samples"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _bundled(registry, role: str, name: str, needs):
    data = plan_task_data(registry.task(role, name), needs, source="bundled", data_dir=None)
    return {need: data.load(*need) for need in needs}


# -- registration --------------------------------------------------------------------------------

def test_the_xtreme_r_tasks_are_registered(registry):
    counts = {("target", "xcopa"): 11, ("target", "lareqa"): 11, ("target", "mewslix"): 11,
              ("intermediate", "siqa"): 1}
    for (role, name), count in counts.items():
        item = registry.task(role, name)
        assert item.spec.name == name and len(item.spec.languages) == count
        assert item.plugin == "xtreme-r"
    assert registry.task("target", "xcopa").spec.languages[:3] == ("et", "ht", "id")
    assert registry.task("target", "lareqa").spec.kind == registry.task("target", "mewslix").spec.kind == "dual_encoder"
    assert registry.task("target", "xcopa").spec.num_choices == 2
    assert registry.task("intermediate", "siqa").spec.num_choices == 3


# -- XCOPA / COPA ---------------------------------------------------------------------------------

def test_xcopa_reads_the_bundled_samples(registry):
    languages = registry.task("target", "xcopa").spec.languages
    needs = [("train", "en"), ("dev", "en")] + [(s, lang) for lang in languages for s in ("dev", "test")]
    loaded = _bundled(registry, "target", "xcopa", needs)
    for (split, lang), examples in loaded.items():
        if lang == "en":
            path = SAMPLES / "xcopa" / "COPA" / {"train": "train.jsonl", "dev": "val.jsonl"}[split]
        else:
            path = SAMPLES / "xcopa" / "data" / lang / f"{'val' if split == 'dev' else 'test'}.{lang}.jsonl"
        rows = _jsonl(path)
        assert len(examples) == len(rows) >= 10
        for example, row in zip(examples, rows):
            question = {"cause": "What was the cause?", "effect": "What happened as a result?"}[row["question"]]
            assert example == {"context": f"{row['premise']} {question}", "choices": [row["choice1"], row["choice2"]],
                               "label": row["label"], "id": str(row["idx"])}
    assert len(loaded[("train", "en")]) == 40
    assert {e["label"] for e in loaded[("train", "en")]} == {0, 1}


@pytest.mark.parametrize("record, problem", [
    ({"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "idx": 1}, "KeyError: 'label'"),
    ({"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 2, "idx": 1},
     "label must be 0 or 1"),
    ({"premise": "p", "choice1": "a", "choice2": "b", "question": "why", "label": 0, "idx": 1}, "'cause' or 'effect'"),
    ({"premise": "p", "choice2": "b", "question": "effect", "label": 0, "idx": 1}, "KeyError: 'choice1'"),
])
@pytest.mark.parametrize("name", ["val.et.jsonl", "train.jsonl"])
def test_malformed_xcopa_and_copa_name_file_and_line(registry, tmp_path, record, problem, name):
    spec = registry.task("target", "xcopa").spec
    good = {"premise": "p", "choice1": "a", "choice2": "b", "question": "effect", "label": 1, "idx": 0}
    path = tmp_path / name
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{name}:3: .*{problem}"):
        list(spec.local.read(path, "dev", "et"))


def test_xcopa_hub_rows(registry):
    row = {"premise": "The man fell.", "choice1": "He slipped.", "choice2": "He sang.", "question": "cause",
           "label": 0, "idx": 7, "changed": False}
    assert xcopa.from_hub(row, "et") == {"context": "The man fell. What was the cause?",
                                         "choices": ["He slipped.", "He sang."], "label": 0, "id": "7"}
    assert xcopa.from_hub({**row, "label": -1}, "en") is None
    hub = registry.task("target", "xcopa").spec.hub
    assert hub.sources_for("train", "en")[0].path == "aps/super_glue"
    assert hub.sources_for("test", "et")[0].config_for("et") == "et"


# -- SIQa -------------------------------------------------------------------------------------------

def test_siqa_reads_the_bundled_samples(registry):
    loaded = _bundled(registry, "intermediate", "siqa", [("train", "en"), ("dev", "en")])
    for split, name, count in (("train", "trn", 40), ("dev", "dev", 10)):
        rows = _jsonl(SAMPLES / "siqa" / f"socialIQa_v1.4_{name}.jsonl")
        examples = loaded[(split, "en")]
        assert len(examples) == len(rows) == count
        for example, row in zip(examples, rows):
            assert example["context"] == f"{row['context']} {row['question']}"
            assert example["choices"] == [row["answerA"], row["answerB"], row["answerC"]]
            assert example["label"] == "ABC".index(row["correct"])
    assert {e["label"] for e in loaded[("train", "en")]} == {0, 1, 2}


@pytest.mark.parametrize("change, problem", [({"correct": "D"}, "correct must be A, B or C"),
                                             ({"correct": 1}, "correct must be A, B or C"),
                                             ({"answerC": None}, "KeyError: 'answerC'")])
def test_malformed_siqa_names_file_and_line(registry, tmp_path, change, problem):
    spec = registry.task("intermediate", "siqa").spec
    good = {"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c", "correct": "B"}
    bad = {k: v for k, v in {**good, **change}.items() if v is not None}
    path = tmp_path / "socialIQa_v1.4_dev.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"socialIQa_v1.4_dev.jsonl:2: .*{problem}"):
        list(spec.local.read(path, "dev", "en"))


def test_siqa_hub_labels_are_one_based_strings():
    row = {"context": "c", "question": "q?", "answerA": "a", "answerB": "b", "answerC": "c"}
    assert siqa.from_hub({**row, "label": "2\n"}, "en") == {"context": "c q?", "choices": ["a", "b", "c"], "label": 1}
    assert siqa.from_hub({**row, "label": "3"}, "en")["label"] == 2
    assert siqa.from_hub({**row, "label": ""}, "en") is None


# -- sentences -------------------------------------------------------------------------------------

def test_sentence_spans_on_hand_worked_strings():
    text = "Anna lives in Paris. It is 3.5 km wide!  Really? Yes."
    assert sentences.sentence_spans(text) == [(0, 20), (21, 39), (41, 48), (49, 53)]
    assert sentences.split_sentences(text) == ["Anna lives in Paris.", "It is 3.5 km wide!", "Really?", "Yes."]
    assert sentences.sentence_spans("我住在北京。他住在上海！好吗？") == [(0, 6), (6, 12), (12, 15)]
    assert sentences.split_sentences("「走吧。」他说。") == ["「走吧。」", "他说。"]
    assert sentences.split_sentences('He said "no." Then he left') == ['He said "no."', "Then he left"]
    assert sentences.split_sentences("यह घर है। वह कहाँ है؟ ठीक") == ["यह घर है।", "वह कहाँ है؟", "ठीक"]
    assert sentences.sentence_spans("  \n ") == []
    assert sentences.sentence_spans(" lead.\nnext ") == [(1, 6), (7, 11)]
    thai = "ฉันกินข้าว  เขาไปโรงเรียน"
    assert sentences.split_sentences(thai) == [thai]
    assert sentences.sentence_spans(thai, "th") == [(0, 10), (12, 25)]
    assert sentences.sentence_at([(0, 5), (6, 9)], 5) is None
    assert sentences.sentence_at([(0, 5), (6, 9)], 6) == 1


# -- LAReQA ----------------------------------------------------------------------------------------

def test_lareqa_reads_the_bundled_samples(registry):
    languages = registry.task("target", "lareqa").spec.languages
    needs = [("train", "en"), ("dev", "en")] + [("test", lang) for lang in languages]
    loaded = _bundled(registry, "target", "lareqa", needs)
    for split, name in (("train", "train"), ("dev", "dev")):
        data = json.loads((SAMPLES / "lareqa" / "squad" / f"{name}-v1.1.json").read_text(encoding="utf-8"))
        qas = [qa for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
        pairs = loaded[(split, "en")]
        assert len(pairs) == len(qas) >= 12
        for pair, qa in zip(pairs, qas):
            assert pair["query"] == qa["question"] and qa["answers"][0]["text"] in pair["candidate"]
            assert pair["candidate"] in pair["candidate_context"]
    question_ids = None
    for lang in languages:
        data = json.loads((SAMPLES / "lareqa" / "xquad-r" / f"{lang}.json").read_text(encoding="utf-8"))
        paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
        expected = {}
        for number, p in enumerate(paragraphs, start=1):
            for s, (start, end) in enumerate(p["sentence_breaks"]):
                expected[f"{lang}_{number}_{s}"] = (p["sentences"][s], sorted(
                    qa["id"] for qa in p["qas"] if start <= qa["answers"][0]["answer_start"] < end))
        examples = loaded[("test", lang)]
        candidates = {e["id"]: (e["candidate"], sorted(e["answers"])) for e in examples if "candidate" in e}
        assert candidates == expected and len(candidates) == 9
        queries = [e for e in examples if "query" in e]
        assert len(queries) == 15 and all(q["key"] == q["id"] for q in queries)
        ids = {q["id"] for q in queries}
        assert question_ids is None or ids == question_ids  # parallel: the same questions in every language
        question_ids = ids
        assert {a for _, answers in candidates.values() for a in answers} == ids


def _xquad_r_file(path: Path, context: str, breaks, qas) -> None:
    paragraph = {"context": context, "qas": qas, "sentence_breaks": breaks,
                 "sentences": [context[s:e] for s, e in breaks]}
    path.write_text(json.dumps({"data": [{"paragraphs": [paragraph]}]}, ensure_ascii=False), encoding="utf-8")


def test_xquad_r_reader_on_hand_written_files(registry, tmp_path):
    spec = registry.task("target", "lareqa").spec
    (tmp_path / "xquad-r").mkdir()
    en = "Tom lives in Rome. He is a cook. Ann lives in Oslo."
    _xquad_r_file(tmp_path / "xquad-r" / "en.json", en, [[0, 18], [19, 32], [33, 51]], [
        {"id": "q1", "question": "Where does Tom live?", "answers": [{"answer_start": 13, "text": "Rome"}]},
        {"id": "q2", "question": "What is Tom?", "answers": [{"answer_start": 27, "text": "cook"}]},
        {"id": "q3", "question": "Who lives in Rome?", "answers": [{"answer_start": 0, "text": "Tom"}]}])
    de = "Tom wohnt in Rom. Er ist Koch."
    _xquad_r_file(tmp_path / "xquad-r" / "de.json", de, [[0, 17], [18, 30]], [
        {"id": "q1", "question": "Wo wohnt Tom?", "answers": [{"answer_start": 13, "text": "Rom"}]},
        {"id": "q2", "question": "Was ist Tom?", "answers": [{"answer_start": 25, "text": "Koch"}]},
        {"id": "q3", "question": "Wer wohnt in Rom?", "answers": [{"answer_start": 0, "text": "Tom"}]}])
    data = plan_task_data(registry.task("target", "lareqa"), [("test", "en"), ("test", "de")], source="local",
                          data_dir=tmp_path)
    english, german = data.load("test", "en"), data.load("test", "de")
    assert [(e["id"], e["candidate"], e["answers"]) for e in english if "candidate" in e] == [
        ("en_1_0", "Tom lives in Rome.", ["q1", "q3"]), ("en_1_1", "He is a cook.", ["q2"]),
        ("en_1_2", "Ann lives in Oslo.", [])]
    assert [(e["id"], e["answers"]) for e in german if "candidate" in e] == [("de_1_0", ["q1", "q3"]),
                                                                           ("de_1_1", ["q2"])]
    assert [(e["query"], e["id"], e["key"]) for e in german if "query" in e] == [
        ("Wo wohnt Tom?", "q1", "q1"), ("Was ist Tom?", "q2", "q2"), ("Wer wohnt in Rom?", "q3", "q3")]
    assert all(e["candidate_context"] == en for e in english if "candidate" in e)
    # without sentence_breaks, our splitter gives the sentences
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"data": [{"paragraphs": [{"context": en, "qas": [
        {"id": "q2", "question": "What is Tom?", "answers": [{"answer_start": 27, "text": "cook"}]}]}]}]}))
    assert [(e["candidate"], e["answers"]) for e in spec.local.read(plain, "test", "en") if "candidate" in e] == [
        ("Tom lives in Rome.", []), ("He is a cook.", ["q2"]), ("Ann lives in Oslo.", [])]
    plain.write_text('{"data": [{"paragraphs": [{"qas": []}]}]}')
    with pytest.raises(DataFormatError, match="plain.json: not XQuAD-R JSON"):
        list(spec.local.read(plain, "test", "en"))


def test_squad_pairs_on_the_real_xquad_english_file(registry, shared_data):
    path = shared_data / "squad" / "v1.1" / "xquad.en.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    questions = {qa["question"]: qa["answers"][0]["text"]
                 for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]}
    total = sum(len(p["qas"]) for article in data["data"] for p in article["paragraphs"])
    pairs = list(registry.task("target", "lareqa").spec.local.read(path, "train", "en"))
    assert 0.95 * total <= len(pairs) <= total
    for pair in pairs:
        assert questions[pair["query"]] in pair["candidate"]
        assert pair["candidate"] in pair["candidate_context"]
        assert pair["candidate"] == pair["candidate"].strip()
    assert len({p["candidate_id"] for p in pairs}) < len(pairs)  # questions share answer sentences


def test_lareqa_hub_rows():
    context = "Tom lives in Rome. He is a cook."
    row = {"id": "q2", "question": "What is Tom?", "context": context,
           "answers": {"text": ["cook"], "answer_start": [27]}}
    query, *candidates = lareqa.xquad_r_from_hub(row, "en")
    assert query == {"query": "What is Tom?", "id": "q2", "key": "q2"}
    assert [(c["candidate"], c["answers"]) for c in candidates] == [("Tom lives in Rome.", []), ("He is a cook.", ["q2"])]
    assert candidates[0]["id"].startswith("en_") and candidates[0]["id"].endswith("_0")
    assert lareqa.xquad_r_from_hub({**row, "id": "q1"}, "en")[2]["id"] == candidates[1]["id"]
    pair = lareqa.pair_from_hub(row, "en")
    assert pair["candidate"] == "He is a cook." and pair["candidate_id"].endswith(":1")
    assert lareqa.pair_from_hub({**row, "answers": {"text": ["cook"], "answer_start": [18]}}, "en") is None


# -- Mewsli-X ----------------------------------------------------------------------------------------

def test_mewslix_reads_the_bundled_samples(registry):
    languages = registry.task("target", "mewslix").spec.languages
    needs = [("train", "en"), ("dev", "en")] + [("test", lang) for lang in languages]
    loaded = _bundled(registry, "target", "mewslix", needs)
    for split in ("train", "dev"):
        rows = _jsonl(SAMPLES / "mewslix" / f"wikipedia_pairs-{split}.jsonl")
        pairs = loaded[(split, "en")]
        assert len(pairs) == len(rows) >= 10
        for pair, row in zip(pairs, rows):
            name = row["contextual_mention"]["mention"]["mention_span"]["text"]
            assert pair["candidate_id"] == row["entity"]["entity_id"]
            assert pair["query"].startswith(f"{name}: ") and f"{{ {name} }}" in pair["query"]
            assert pair["candidate"] == row["entity"]["description"]
    entities = _jsonl(SAMPLES / "mewslix" / "candidate_set_entities.jsonl")
    articles = _jsonl(SAMPLES / "mewslix" / "wikinews_mentions-test.jsonl")
    for lang in languages:
        examples = loaded[("test", lang)]
        gold = {m["example_id"]: [m["entity_id"]] for a in articles if a["context"]["language"] == lang
                for m in a["mentions"]}
        assert len(gold) == 5
        assert {e["id"]: e["relevant"] for e in examples if "query" in e} == gold
        assert [e["id"] for e in examples if "candidate" in e] == [e["entity_id"] for e in entities]
    assert len(entities) == 30


def _article(text: str, spans, mentions, language="en") -> dict:
    return {"context": {"document_title": "t", "document_id": f"{language}-1", "language": language, "text": text,
                        "sentence_spans": [{"start": s, "end": e} for s, e in spans]},
            "mentions": mentions}


def _mention(text: str, name: str, ident: str = "m1", qid: str = "Q1") -> dict:
    start = text.index(name)
    return {"example_id": ident, "entity_id": qid, "mention_span": {"start": start, "end": start + len(name),
                                                                    "text": name}}


def test_mewslix_query_and_candidate_texts():
    text = "First one here.  The {big} match in\nOslo ended {late}. Last sentence."
    spans = [(0, 15), (17, 54), (55, 69)]
    assert text[17:54] == "The {big} match in\nOslo ended {late}."
    row = _article(text, spans, [_mention(text, "Oslo")])
    assert mewslix.mention_queries(row, "en") == [
        {"query": "Oslo: The (big) match in { Oslo } ended (late).", "id": "m1", "relevant": ["Q1"]}]
    assert mewslix.mention_queries(row, "de") == []
    unlabelled = _article(text, spans, [{**_mention(text, "Oslo"), "entity_id": ""}])
    assert mewslix.mention_queries(unlabelled, "en")[0]["relevant"] == []
    entity = {"entity_id": "Q5", "title": "Not used", "description": "Oslo is a city.\nIt is old. Unused tail",
              "sentence_spans": [{"start": 0, "end": 15}, {"start": 16, "end": 27}]}
    assert mewslix.entity_text(entity) == "Oslo is a city. It is old."
    assert mewslix.candidate_example(entity) == {"candidate": "Oslo is a city. It is old.", "id": "Q5"}


def test_mewslix_reader_filters_languages_and_refuses_empty_text(registry, tmp_path):
    spec = registry.task("target", "mewslix").spec
    en, de = "Rain fell in Paris.", "Es regnete in Berlin."
    path = tmp_path / "wikinews_mentions-test.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        _article(en, [(0, len(en))], [_mention(en, "Paris", "e1", "Q90")]),
        _article(de, [(0, len(de))], [_mention(de, "Berlin", "d1", "Q64"), _mention(de, "regnete", "d2", "Q7")],
                 language="de")]) + "\n", encoding="utf-8")
    assert [(q["id"], q["query"]) for q in spec.local.read(path, "test", "de")] == [
        ("d1", "Berlin: Es regnete in { Berlin } ."), ("d2", "regnete: Es { regnete } in Berlin.")]
    assert [q["id"] for q in spec.local.read(path, "test", "en")] == ["e1"]
    empty = _article("", [], [{"example_id": "x", "entity_id": "Q1",
                               "mention_span": {"start": 0, "end": 4, "text": "Oslo"}}])
    first_line = json.dumps(_article(en, [(0, len(en))], [_mention(en, "Paris")]))
    path.write_text(first_line + "\n" + json.dumps(empty) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"wikinews_mentions-test.jsonl:2: .*text is empty.*get-mewsli-x.sh"):
        list(spec.local.read(path, "test", "en"))
    candidates = tmp_path / "candidate_set_entities.jsonl"
    candidates.write_text(json.dumps({"entity_id": "Q1", "description": "A."}) + "\n", encoding="utf-8")
    first = spec.local.read(candidates, "test", "en")
    assert first == [{"candidate": "A.", "id": "Q1"}] and spec.local.read(candidates, "test", "de") is first
    candidates.write_text(json.dumps({"entity_id": "Q1", "description": "A."}) + "\n{\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"candidate_set_entities.jsonl:2: not valid JSON"):
        spec.local.read(candidates, "test", "en")


def test_mewslix_hub_converters_take_nested_or_flat_rows():
    text = "Rain fell in Paris."
    nested = _article(text, [(0, len(text))], [_mention(text, "Paris", "e1", "Q90")])
    assert mewslix.mentions_from_hub(nested, "en") == [{"query": "Paris: Rain fell in { Paris } .", "id": "e1",
                                                        "relevant": ["Q90"]}]
    assert mewslix.mentions_from_hub(nested, "de") is None
    assert mewslix.mentions_from_hub({"mention": "Paris: x", "example_id": "e2", "entity_id": "Q90"}, "en") == {
        "query": "Paris: x", "id": "e2", "relevant": ["Q90"]}
    assert mewslix.pair_from_hub({"mention": "m", "entity": "e", "entity_id": "Q3"}, "en") == {
        "query": "m", "candidate": "e", "candidate_id": "Q3"}
    assert mewslix.candidate_from_hub({"entity_id": "Q3", "description": "Big  city."}, "en") == {
        "candidate": "Big city.", "id": "Q3"}
    assert mewslix.candidate_from_hub({"entity": "Big city.", "id": "Q4"}, "en") == {"candidate": "Big city.",
                                                                                     "id": "Q4"}
    assert mewslix.pair_from_hub({"something": "else"}, "en") is None
    assert mewslix.candidate_from_hub({"title": "no text"}, "en") is None
