"""Bad input stopped in one line before any training: a --max-length beyond the model's
positions, SQuAD answers off their context, malformed BUCC predictions given to `xharness
score`, names beyond the file system's limit and a read-only XHARNESS_CACHE."""

import json
import shutil

import pytest
from asuser import ensure_user, run_as
from clicheck import one_error_line
from click.testing import CliRunner

from harness.cli import cli
from harness.contract.errors import UserError


# -- xharness score: BUCC predictions ---------------------------------------------------------

def _bucc_folders(shared_data, tmp_path):
    mock = shared_data / "xtreme_mock_test_data"
    for side in ("predictions", "labels"):
        shutil.copytree(mock / side / "bucc2018", tmp_path / side / "bucc2018")
    return tmp_path / "predictions" / "bucc2018" / "test-de.tsv", tmp_path / "labels" / "bucc2018" / "test-de.tsv"


def _score(tmp_path, *extra):
    return CliRunner().invoke(cli, ["score", "--predictions", str(tmp_path / "predictions"),
                                    "--labels", str(tmp_path / "labels"), "--leaderboard", "xtreme", *extra])


@pytest.mark.parametrize(("line", "problem"), [
    (b"de-000413482\ten-000367951\t0.93", "expected 2 tab-separated ids, found 3"),
    (b"de-000413482", "expected 2 tab-separated ids, found 1"),
    (b"de-000413482 en-000367951",
     "expected 2 tab-separated ids, found 1 (the ids are separated by spaces, not a tab)"),
    (b"de-000413482,en-000367951", "expected 2 tab-separated ids, found 1"),
    (b"\ten-000367951", "the source id is empty"),
    (b"de-000413482\t ", "the target id is empty"),
    (b"de-000413482 \ten-000367951", "the source id 'de-000413482 ' contains whitespace"),
    (b"de-0004\x00\x01\x02\x03\ten-1", r"control character '\x00' (is this a binary file?)"),
    (b"", "empty line between id pairs"),
])
def test_score_names_file_and_line_of_a_malformed_bucc_prediction(shared_data, tmp_path, line, problem):
    """Before: each of these lines matched no gold pair and lowered the score without a word."""
    predictions, _ = _bucc_folders(shared_data, tmp_path)
    lines = predictions.read_bytes().split(b"\n")
    lines[2] = line
    predictions.write_bytes(b"\n".join(lines))
    one_error_line(_score(tmp_path), f"{predictions}:3: {problem}; each line is source-id<TAB>target-id")


def test_score_names_the_label_file_too(shared_data, tmp_path):
    _, labels = _bucc_folders(shared_data, tmp_path)
    labels.write_text("de-1 en-1\n", encoding="utf-8")
    one_error_line(_score(tmp_path), f"{labels}:1: expected 2 tab-separated ids, found 1")


@pytest.mark.parametrize("junk", [b"\x1f\x8b\x08\x00\xde\xad\xbe\xef\n", b"\xff\xfed\x00e\x00-\x001\x00"])
def test_score_names_file_and_line_of_binary_or_non_utf8_bucc_predictions(shared_data, tmp_path, junk):
    """A gzipped or UTF-16 file given by mistake: one line, not a traceback or a silent zero."""
    predictions, _ = _bucc_folders(shared_data, tmp_path)
    predictions.write_bytes(junk)
    one_error_line(_score(tmp_path), f"{predictions}:1: not UTF-8 text")


def test_score_names_utf16_without_byte_order_mark_as_binary(shared_data, tmp_path):
    predictions, _ = _bucc_folders(shared_data, tmp_path)
    predictions.write_bytes("de-000413461\ten-000367951\n".encode("utf-16-le"))
    one_error_line(_score(tmp_path), f"{predictions}:1: control character '\\x00' (is this a binary file?)")


def test_well_formed_bucc_variants_score_as_the_plain_file(shared_data, tmp_path):
    """Line ends, spaces around the line, a byte-order mark and trailing blank lines change nothing."""
    predictions, _ = _bucc_folders(shared_data, tmp_path)
    plain = json.loads(_score(tmp_path, "--json").output)["bucc2018"]
    text = predictions.read_text(encoding="utf-8")
    variant = "\ufeff" + "".join(f"  {line}  \r\n" for line in text.splitlines()) + "\n\n"
    predictions.write_text(variant, encoding="utf-8", newline="")
    assert json.loads(_score(tmp_path, "--json").output)["bucc2018"] == plain
    predictions.write_text("", encoding="utf-8")  # nothing mined: a valid file that scores 0
    assert json.loads(_score(tmp_path, "--json").output)["bucc2018"]["f1"]["de"] == 0.0


# -- SQuAD-format answers off their context -----------------------------------------------------

CONTEXT = "Denver Broncos won Super Bowl 50 in\nSanta Clara."


def _squad_file(path, qas, context=CONTEXT):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": [{"id": i, "question": f"{i}?",
                                      "answers": [{"text": t, "answer_start": s} for t, s in answers]}
                                     for i, answers in qas]}]}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("answer", "problem"), [
    (("Santa Clara", 400), "answer_start 400 of answer 'Santa Clara' lies outside its context (48 characters)"),
    (("Santa Clara", -1), "answer_start -1 of answer 'Santa Clara' lies outside its context (48 characters)"),
    (("Super Bowl 50", 20),
     "answer 'Super Bowl 50' is not at its answer_start 20 (the context has 'uper Bowl 50 ' there)"),
    (("  ", 3), "its answer text is empty"),
])
def test_training_answer_off_its_context_is_refused_naming_file_and_question(registry, tmp_path, answer, problem):
    """Before: the answer was skipped with a warning, or (from the hub) kept and trained on the wrong span."""
    from harness.data.sources import plan_task_data

    path = _squad_file(tmp_path / "squad" / "train-v1.1.json", [("good", [("Broncos", 7)]),
                                                               ("q-17", [("Denver", 0), answer])])
    data = plan_task_data(registry.task("intermediate", "squad"), [("train", "en")], source="local",
                          data_dir=tmp_path)
    with pytest.raises(UserError) as caught:
        data.load("train", "en")
    assert str(caught.value) == (f"{path}: question 'q-17': {problem}; training places each answer by its offset: "
                                 f"correct or remove it")


def test_evaluation_data_keeps_the_lenient_reading(registry, tmp_path, caplog):
    """Scores read answer texts only: dev and test files skip such an answer with one warning, as before."""
    from harness.data.sources import plan_task_data

    path = _squad_file(tmp_path / "xquad" / "xquad.de.json", [("good", [("Broncos", 7)]), ("bad", [("Lima", 3)])])
    data = plan_task_data(registry.task("target", "xquad"), [("test", "de")], source="local", data_dir=tmp_path)
    assert [e["id"] for e in data.load("test", "de")] == ["good"]
    assert "skipped 1 answer(s)" in caplog.text


def test_whitespace_differences_are_not_refused(registry, tmp_path):
    from harness.data.sources import plan_task_data

    _squad_file(tmp_path / "train-v1.1.json", [("spaces", [(" Santa  Clara ", 35)])])
    data = plan_task_data(registry.task("target", "xquad"), [("train", "en")], source="local", data_dir=tmp_path)
    (example,) = data.load("train", "en")
    assert example["answers"] == [{"text": "Santa Clara", "answer_start": 36}]


def test_hub_training_rows_are_checked_too(registry, monkeypatch):
    from harness.data import sources as data_module

    rows = [{"id": "5733be284776f41900661182", "question": "?", "context": CONTEXT,
             "answers": [{"text": "Broncos", "answer_start": 7}]},
            {"id": "5733be284776f4190066117f", "question": "?", "context": CONTEXT,
             "answers": [{"text": "Broncos", "answer_start": 9}]}]
    monkeypatch.setattr(data_module, "_load_hub", lambda spec, split, lang: [dict(r) for r in rows])
    data = data_module.TaskData(registry.task("target", "xquad"), "hub", [("train", "en"), ("test", "de")])
    with pytest.raises(UserError, match=r"^xquad: hub rajpurkar/squad split train: "
                                        r"question '5733be284776f4190066117f': answer 'Broncos' is not at its "
                                        r"answer_start 9 \(the context has 'oncos w' there\); training places each "
                                        r"answer by its offset"):
        data.load("train", "en")
    assert len(data.load("test", "de")) == 2  # evaluation rows are not refused


def test_a_run_stops_before_training_on_a_misaligned_training_answer(registry, tmp_path):
    import xharness_xtreme

    samples = __import__("pathlib").Path(xharness_xtreme.__file__).parent / "samples"
    data = tmp_path / "data"
    shutil.copytree(samples / "squad", data / "squad")
    shutil.copy(samples / "xquad" / "xquad.de.json", data / "xquad.de.json")
    train = data / "squad" / "train-v1.1.json"
    raw = json.loads(train.read_text(encoding="utf-8"))
    qa = raw["data"][0]["paragraphs"][0]["qas"][0]
    qa["answers"][0]["answer_start"] += 1
    train.write_text(json.dumps(raw), encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "xquad", "--preset", "smoke",
                                      "--languages", "de", "--data-dir", str(data), "--output", str(tmp_path / "out")])
    one_error_line(result, f"{train}: question {qa['id']!r}: answer ", "is not at its answer_start")
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").iterdir())


def test_real_and_bundled_squad_format_files_read_under_the_strict_check(shared_data):
    """All real SQuAD, XQuAD, MLQA (test, dev, translate-train), TyDiQA-GoldP files and the bundled
    samples hold every answer at its offset, so refusing costs them nothing."""
    import xharness_stilts
    import xharness_xtreme

    from harness.data.readers import read_squad_json, strict_answers

    plugins = [__import__("pathlib").Path(m.__file__).parent / "samples" for m in (xharness_xtreme, xharness_stilts)]
    paths = sorted([*shared_data.glob("squad/**/*.json"), *shared_data.glob("xquad/*.json"),
                    *shared_data.glob("mlqa/MLQA_V1/*/*.json"), *shared_data.glob("mlqa/mlqa-translate-train/*.json"),
                    *shared_data.glob("tydiqa/*.json"),
                    *(p for folder in plugins for p in folder.glob("**/*.json")
                      if "lareqa" not in p.parts and "mewslix" not in p.parts)])
    assert len(paths) >= 80
    with strict_answers():
        for path in paths:
            raw = json.loads(path.read_text(encoding="utf-8"))
            count = sum(len(p["qas"]) for a in raw["data"] for p in a["paragraphs"])
            assert len(list(read_squad_json(path))) == count, path


# -- --max-length beyond the model's positions --------------------------------------------------

def _plan(registry, tmp_path, target="pawsx", model=None, inter="none", seed=42, **overrides):
    from harness.cell.planning import RunRequest, plan_run

    setting = [f"{k}={v}" for k, v in overrides.pop("setting", {}).items()]
    return plan_run(RunRequest(inter=inter, target=target, model=model, seed=seed, preset="smoke",
                               output=tmp_path / "out", overrides={**overrides, "setting": setting}), registry)


def test_max_length_beyond_the_tiny_models_positions_stops_before_training(tmp_path):
    """Before: the run started and died with an index error at the first batch that long."""
    result = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke",
                                      "--max-length", "600", "--output", str(tmp_path / "out")])
    line = one_error_line(result)
    assert line == ("error: --max-length 600 is beyond what model tiny takes (512 positions); "
                    "use --max-length 512 or less")
    assert not list((tmp_path / "out").glob("*/*/phase.json")) and not list((tmp_path / "out").glob("*/*/results.json"))


@pytest.mark.parametrize(("model", "limit"), [("tiny", 512), ("e5", 512)])
def test_max_length_up_to_the_limit_passes_and_one_more_is_refused(registry, tmp_path, e5_model, model, limit):
    """XLM-R-style tiny (514 positions, padding index 1) and BERT-style e5 (512) both take 512 tokens."""
    from harness.cell.planning import check_max_length
    from harness.cell.protocol import prepare_model

    name = str(e5_model) if model == "e5" else None
    prepare_model(_plan(registry, tmp_path, model=name, max_length=limit))
    with pytest.raises(UserError, match=rf"^--max-length {limit + 1} is beyond what model \S+ takes \({limit} "
                                        rf"positions\); use --max-length {limit} or less$"):
        check_max_length(_plan(registry, tmp_path, model=name, max_length=limit + 1))


def test_the_limits_are_where_the_models_really_fail():
    """The offset rule checked against transformers itself, on small configs of both families."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    from harness.cell.planning import model_positions

    small = {"vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 8, "max_position_embeddings": 20, "pad_token_id": 1}
    for config, model_class in ((XLMRobertaConfig(**small), XLMRobertaModel), (BertConfig(**small), BertModel)):
        limit = model_positions(config.to_dict())
        assert limit == (18 if model_class is XLMRobertaModel else 20)
        model = model_class(config).eval()
        with torch.no_grad():
            model(input_ids=torch.full((1, limit), 5))
            with pytest.raises((IndexError, RuntimeError)):
                model(input_ids=torch.full((1, limit + 1), 5))


def test_default_max_length_names_where_it_comes_from(registry, tmp_path, monkeypatch):
    from harness.cell import planning

    monkeypatch.setattr(planning, "model_positions", lambda config: 100)
    with pytest.raises(UserError, match=r"^--max-length 128 \(--preset smoke\) is beyond what model tiny takes"):
        planning.check_max_length(_plan(registry, tmp_path))


def test_dual_encoder_lengths_are_checked_as_they_are_used(registry, tmp_path):
    """Its query and candidate lengths are capped by --max-length: the smaller one is what must fit."""
    from harness.cell.planning import check_max_length
    from harness.cell.protocol import prepare_model

    prepare_model(_plan(registry, tmp_path, target="lareqa", max_length=600))  # 96 and 256 tokens: fine
    with pytest.raises(UserError, match=r"^--setting candidate_max_length=600 is beyond what model tiny takes \(512 "
                                        r"positions\); use --setting candidate_max_length=512 or less$"):
        check_max_length(_plan(registry, tmp_path, target="lareqa", max_length=1000,
                               setting={"candidate_max_length": 600}))
    with pytest.raises(UserError, match=r"^--max-length 700 is beyond"):
        check_max_length(_plan(registry, tmp_path, target="lareqa", max_length=700,
                               setting={"candidate_max_length": 800}))


def test_intermediate_settings_are_checked_too(registry, tmp_path):
    from harness.cell import planning

    plan = _plan(registry, tmp_path, inter="hellaswag,mnli", max_length=512)
    planning.check_max_length(plan)
    plan.inter_settings["max_length"] = 513  # e.g. a task default above the model's positions
    with pytest.raises(UserError, match=r"^--max-length 513 is beyond"):
        planning.check_max_length(plan)


def test_a_hub_model_without_a_cached_config_is_not_checked():
    from harness.cell.planning import ModelChoice, model_config

    assert model_config(ModelChoice("nobody/no-such-model", "hub", "nobody/no-such-model", "main")) is None


# -- names beyond the file system's limit -------------------------------------------------------

LONG = "o" * 300


@pytest.mark.parametrize("option", ["--output", "--data-dir", "--model", "--mlm"])
def test_a_name_beyond_255_bytes_in_a_path_option_is_one_line(tmp_path, option):
    """Before: OSError: [Errno 36] File name too long, as a traceback."""
    args = ["run", "--inter", "hellaswag" if option == "--mlm" else "none", "--target", "pawsx", "--preset", "smoke",
            "--output", str(tmp_path / "out"), option, str(tmp_path / LONG / "x")]
    result = CliRunner().invoke(cli, args)
    one_error_line(result, f"{option}: the name '{'o' * 40}…' is 300 bytes, beyond the file system's limit of 255 "
                            f"bytes per name; use a shorter name")


def test_a_whole_path_beyond_path_max_is_one_line(tmp_path):
    deep = tmp_path.joinpath(*["d" * 200] * 21)
    one_error_line(CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                             "--output", str(deep)]),
                    "--output: the path is ", "beyond the file system's limit of 4095; use a shorter path")


@pytest.mark.parametrize("board", [["--leaderboard", "xtreme"], []])  # without: before the leaderboard is guessed
def test_score_folders_beyond_the_limit_are_one_line(tmp_path, board):
    (tmp_path / "labels").mkdir()
    one_error_line(CliRunner().invoke(cli, ["score", "--predictions", str(tmp_path / LONG), "--labels",
                                             str(tmp_path / "labels"), *board]),
                    "--predictions: the name")


@pytest.mark.parametrize("seed", [str(2**40), "-1", str(10**300)])
def test_a_seed_numpy_and_torch_cannot_take_is_one_line(tmp_path, seed):
    """Before: a huge seed made a run folder name beyond 255 bytes (or failed in set_seed), a traceback."""
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path / "out"), "--seed", seed])
    one_error_line(result, f"--seed {seed}: use a whole number from 0 to 4294967295")


def _long_named(plan, names):
    import dataclasses

    for data, name in zip(plan.inter, names):
        data.task = dataclasses.replace(data.task, spec=dataclasses.replace(data.task.spec, name=name))
    return plan


def test_normal_folder_names_are_unchanged(registry, tmp_path):
    """Stores are keyed by folder name: every name that fits keeps the form it always had."""
    from harness.cell.protocol import cell_paths, prepare_model

    plan = _plan(registry, tmp_path, inter="hellaswag,mnli,qqp", seed=7)
    paths = cell_paths(plan, prepare_model(plan))
    assert paths.inter_folder.name == f"hellaswag+mnli+qqp-tiny-seed7-{paths.inter_key}"
    assert paths.run_dir.name == f"hellaswag+mnli+qqp__pawsx__tiny__seed7-{paths.run_key}"
    every = _plan(registry, tmp_path, inter="all", seed=4294967295)
    paths = cell_paths(every, prepare_model(every))
    names = "+".join(d.spec.name for d in every.inter)
    assert paths.run_dir.name == f"{names}__pawsx__tiny__seed4294967295-{paths.run_key}"


def test_overlong_phase_folder_names_are_cut_to_fit_keeping_the_key(registry, tmp_path):
    """Long task names from plugins: before, the phase could not be locked or written (Errno 36)."""
    from harness.cell.planning import MAX_FOLDER_NAME
    from harness.cell.protocol import cell_paths, prepare_model
    from harness.store.runstore import RunStore

    identity = prepare_model(_plan(registry, tmp_path))
    long_names = ["ü" * 40 + "-intermediate-task-a", "intermediate_task_" + "b" * 60, "c" * 90]
    paths = cell_paths(_long_named(_plan(registry, tmp_path, inter="hellaswag,mnli,qqp"), long_names), identity)
    other = cell_paths(_long_named(_plan(registry, tmp_path, inter="hellaswag,mnli,qqp", seed=1), long_names),
                       identity)
    for folder, key, twin in ((paths.inter_folder, paths.inter_key, other.inter_folder),
                              (paths.run_dir, paths.run_key, other.run_dir)):
        assert len(folder.name.encode()) <= MAX_FOLDER_NAME and folder.name.endswith(f"--{key}")
        assert folder.name.startswith("ü" * 40 + "-intermediate-task-a+intermediate_task_bbb")
        assert twin.name != folder.name
        store = RunStore(tmp_path / "out")
        with store.lock(folder, "a phase", print):
            store.write(folder, lambda tmp: (tmp / "results.json").write_text("{}", encoding="utf-8"))
        assert (folder / "results.json").is_file()


# -- a read-only XHARNESS_CACHE -----------------------------------------------------------------
# Root ignores permission bits, so these tests make the cache immutable (chattr +i) or run the
# command as an ordinary user; run as root they prove nothing otherwise, and skip when they cannot.

def _as_root_or_skip():
    import os

    if os.geteuid() != 0:
        pytest.skip("needs root: to make a folder immutable, or to run a command as another user")


def test_an_immutable_cache_is_one_line_naming_the_folder(tmp_path, monkeypatch):
    import subprocess

    _as_root_or_skip()
    cache = tmp_path / "cache"
    cache.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(cache)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available on this file system")
    try:
        monkeypatch.setenv("XHARNESS_CACHE", str(cache))
        result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                          "--output", str(tmp_path / "out")])
    finally:
        subprocess.run(["chattr", "-i", str(cache)], check=True)
    one_error_line(result, f"cannot write the built model tiny in {cache / 'models'} (Operation not permitted); "
                            f"set XHARNESS_CACHE to a writable folder (it is {cache})")


USER = "xhtest"


@pytest.mark.parametrize("given", [True, False])
def test_a_cache_an_ordinary_user_cannot_write_is_one_line(given):
    """As an ordinary user (EACCES, not root's EPERM): before, a PermissionError traceback."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="xharness-readonly-"))  # pytest's tmp_path is private to root
    try:
        folder.chmod(0o755)
        _, gid = ensure_user(USER)
        cache, work = folder / "cache", folder / "work"
        cache.mkdir()  # root's, mode 755: the user may read it, not write it
        work.mkdir(mode=0o777)
        work.chmod(0o777)
        env = {"HOME": str(cache / "home"), "HF_HOME": str(work / "hf")}
        if given:
            env["XHARNESS_CACHE"] = str(cache)
        done = run_as(USER, gid, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                  "--output", work / "out"], folder=folder, env=env, timeout=300)
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert done.returncode != 0 and len(lines) == 1, done.stdout + done.stderr
        where = cache / "models" if given else cache / "home" / ".cache" / "xharness" / "models"
        now = f"it is {cache}" if given else f"unset, it means {cache / 'home' / '.cache' / 'xharness'}"
        assert lines[0] == (f"error: cannot write the built model tiny in {where} (Permission denied); set "
                            f"XHARNESS_CACHE to a writable folder ({now})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
