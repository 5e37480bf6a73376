"""Bad input stopped in one line before any training: a --max-length beyond the model's
positions, SQuAD answers off their context, malformed BUCC predictions given to `xharness
score`, names beyond the file system's limit and a read-only XHARNESS_CACHE."""

import json
import shutil

import pytest
from click.testing import CliRunner

from harness.cli import cli


def _one_error_line(result, *expected: str) -> str:
    """The CLI failed through UserError: a non-zero exit, a single ``error:`` line, no traceback."""
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an uncaught exception
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


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
    (b"de-000413482 en-000367951", "expected 2 tab-separated ids, found 1 (the ids are separated by spaces, not a tab)"),
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
    _one_error_line(_score(tmp_path), f"{predictions}:3: {problem}; each line is source-id<TAB>target-id")


def test_score_names_the_label_file_too(shared_data, tmp_path):
    _, labels = _bucc_folders(shared_data, tmp_path)
    labels.write_text("de-1 en-1\n", encoding="utf-8")
    _one_error_line(_score(tmp_path), f"{labels}:1: expected 2 tab-separated ids, found 1")


@pytest.mark.parametrize("junk", [b"\x1f\x8b\x08\x00\xde\xad\xbe\xef\n", b"\xff\xfed\x00e\x00-\x001\x00"])
def test_score_names_file_and_line_of_binary_or_non_utf8_bucc_predictions(shared_data, tmp_path, junk):
    """A gzipped or UTF-16 file given by mistake: one line, not a traceback or a silent zero."""
    predictions, _ = _bucc_folders(shared_data, tmp_path)
    predictions.write_bytes(junk)
    _one_error_line(_score(tmp_path), f"{predictions}:1: not UTF-8 text")


def test_score_names_utf16_without_byte_order_mark_as_binary(shared_data, tmp_path):
    predictions, _ = _bucc_folders(shared_data, tmp_path)
    predictions.write_bytes("de-000413461\ten-000367951\n".encode("utf-16-le"))
    _one_error_line(_score(tmp_path), f"{predictions}:1: control character '\\x00' (is this a binary file?)")


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
