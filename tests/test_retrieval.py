"""Retrieval: the search itself, Tatoeba's reader, and real embeddings from a real encoder."""

import json

import pytest
import torch
from click.testing import CliRunner

from harness.cli import cli
from harness.data import plan_task_data
from harness.errors import DataFormatError
from harness.kinds.retrieval import default_layer, tatoeba_accuracy, top_k


def _unit(rows, dim, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(rows, dim, generator=generator), dim=-1)


def test_identical_embeddings_for_aligned_pairs_score_100():
    vectors = _unit(500, 32, 0)
    accuracy, predicted = tatoeba_accuracy(vectors, vectors.clone())
    assert accuracy == 100.0 and predicted == list(range(500))
    shuffled = torch.randperm(500, generator=torch.Generator().manual_seed(1))
    accuracy, predicted = tatoeba_accuracy(vectors, vectors[shuffled])
    assert predicted == torch.argsort(shuffled).tolist()  # each sentence still finds its translation
    assert accuracy == pytest.approx(100.0 * (shuffled == torch.arange(500)).sum().item() / 500)


def test_chunked_search_equals_the_full_similarity_matrix():
    queries, keys = _unit(1000, 16, 2), _unit(700, 16, 3)
    scores, indices = top_k(queries, keys, k=4, chunk=64)
    full = (queries @ keys.T).topk(4, dim=1)
    assert torch.equal(indices, full.indices) and torch.allclose(scores, full.values)


def test_default_layer_keeps_xtremes_relative_depth():
    assert default_layer(24) == 14 and default_layer(12) == 7 and default_layer(2) == 1


def test_tatoeba_reads_all_36_real_languages(registry, shared_data):
    tatoeba = registry.task("target", "tatoeba")
    assert len(tatoeba.spec.languages) == 36
    data = plan_task_data(tatoeba, [("test", lang) for lang in tatoeba.spec.languages], source="local",
                          data_dir=shared_data)
    german = data.load("test", "de")
    assert len(german) == 1000
    assert german[0] == {"source": "Maria sagte, sie wisse nicht, wo Tom sei.",
                         "target": "Mary said she didn't know where Tom was."}
    assert len(data.load("test", "sw")) == 390


def test_tatoeba_sides_must_align(registry, tmp_path):
    spec = registry.task("target", "tatoeba").spec
    (tmp_path / "tatoeba.deu-eng.deu").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "tatoeba.deu-eng.eng").write_text("a\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="2 lines, but tatoeba.deu-eng.eng has 1"):
        list(spec.local.read(tmp_path / "tatoeba.deu-eng.deu", "test", "de"))


def _plain_tatoeba(model_dir, source, target, layer):
    """Mean pooling at one layer and nearest neighbour, written directly with transformers."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()

    def vectors(texts):
        out = torch.zeros(len(texts), model.config.hidden_size)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), 64):
            chunk = order[start:start + 64]
            batch = tokenizer([texts[i] for i in chunk], padding=True, truncation=True, max_length=512,
                              return_tensors="pt")
            with torch.no_grad():
                hidden = model(**batch, output_hidden_states=True).hidden_states[layer]
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out[chunk] = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(out, dim=-1)

    predicted = (vectors(source) @ vectors(target).T).argmax(dim=1)
    return 100.0 * (predicted == torch.arange(len(source))).float().mean().item()


def test_tatoeba_with_real_weights_matches_a_plain_computation(tmp_path, e5_model, shared_data):
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "tatoeba", "--model", str(e5_model),
                                      "--data-dir", str(shared_data), "--languages", "de,fr,sw",
                                      "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    phase = record["phases"]["target"]
    assert phase["layer"] == 7 and phase["num_layers"] == 12 and phase["pooling"] == "mean"
    scores = record["scores"]["per_language"]
    assert scores["de"] >= 85.0
    assert min(scores.values()) > 25.0  # chance is 0.1 % (1 in 1000) and 0.26 % (1 in 390)
    folder = shared_data / "tatoeba" / "v1"
    for lang, code in (("de", "deu"), ("fr", "fra"), ("sw", "swh")):
        source = (folder / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        target = (folder / f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        assert scores[lang] == pytest.approx(_plain_tatoeba(e5_model, source, target, 7), abs=0.1)
    predicted = (path.parent / "predictions" / "tatoeba" / "test-de.tsv").read_text().split()
    assert len(predicted) == 1000 and 100.0 * sum(int(p) == i for i, p in enumerate(predicted)) / 1000 == scores["de"]
