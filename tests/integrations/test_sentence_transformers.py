"""sentence-transformers loads an lstmlab sentence encoder (issue 20, item 1): the same vectors as
`SentenceEncoder.encode`, and s-t's search, similarity and evaluators run on it."""

from __future__ import annotations

import gzip
import json
import math
import shutil

import numpy as np
import pytest
import torch
from conftest import BUNDLED_SNLI, FULL_DATA, needs_full_data

st = pytest.importorskip("sentence_transformers")

from lstmlab.data.readers.senteval import read_stsb_file  # noqa: E402
from lstmlab.inference import SentenceEncoder  # noqa: E402
from lstmlab.integrations.sentence_transformers import (  # noqa: E402
    LstmlabEncoder,
    add_sentence_transformers_files,
    export_sentence_transformer,
    to_sentence_transformer,
)
from lstmlab.io.model_folder import WrongModelKind  # noqa: E402
from lstmlab.io.st_files import MODULE_CLASS  # noqa: E402

SENTENCES = ["A man is playing a guitar.", "Nobody plays music.", "Two dogs run across a snowy field!",
             "A woman slices an onion in the kitchen, then she cries.", "Kids play.", "The cat sleeps."]


@pytest.fixture(scope="module")
def encoder(trained_nli):
    return SentenceEncoder.load(trained_nli[0])


@pytest.fixture(scope="module")
def st_folder(trained_nli, tmp_path_factory):
    return export_sentence_transformer(trained_nli[0], tmp_path_factory.mktemp("st") / "encoder")


@pytest.fixture(scope="module")
def run_model_folder(trained_nli):
    """The run's export folder as training wrote it: a sentence-transformers folder too."""
    return trained_nli[0] / "model"


def test_an_older_export_folder_is_made_a_sentence_transformers_folder(trained_nli, encoder, tmp_path):
    from sentence_transformers import SentenceTransformer

    folder = tmp_path / "model"
    shutil.copytree(trained_nli[0] / "model", folder)
    for name in ("modules.json", "config_sentence_transformers.json"):
        (folder / name).unlink()  # as lstmlab 0.2 wrote it
    add_sentence_transformers_files(folder)
    vectors = SentenceTransformer(str(folder), trust_remote_code=True).encode(SENTENCES)
    np.testing.assert_allclose(vectors, encoder.encode(SENTENCES), atol=1e-6, rtol=0)


def snli_pairs(count: int = 40) -> tuple[list[str], list[str], list[float]]:
    """Real raw SNLI dev pairs as an STS-like set: entailment 1, contradiction 0 (neutral left out)."""
    first, second, scores = [], [], []
    with gzip.open(BUNDLED_SNLI / "snli_1.0_dev.jsonl.gz", "rt", encoding="utf-8") as source:
        for line in source:
            pair = json.loads(line)
            if pair["gold_label"] in ("entailment", "contradiction"):
                first.append(pair["sentence1"])
                second.append(pair["sentence2"])
                scores.append(1.0 if pair["gold_label"] == "entailment" else 0.0)
            if len(scores) == count:
                break
    return first, second, scores


@pytest.mark.parametrize("source", ["exported", "run_model", "in_process"])
def test_sentence_transformers_gives_the_encoders_vectors(source, encoder, st_folder, run_model_folder, trained_nli):
    if source == "in_process":
        model = to_sentence_transformer(trained_nli[0], device="cpu")  # no trust_remote_code: nothing imported
    else:
        folder = st_folder if source == "exported" else run_model_folder
        model = st.SentenceTransformer(str(folder), device="cpu", trust_remote_code=True)
    assert isinstance(model[0], LstmlabEncoder)
    assert model.get_embedding_dimension() == encoder.dim
    batch = model.encode(SENTENCES, batch_size=4)
    assert batch.shape == (len(SENTENCES), encoder.dim)
    np.testing.assert_allclose(batch, encoder.encode(SENTENCES), atol=1e-6, rtol=0)
    single = model.encode(SENTENCES[2])
    assert single.shape == (encoder.dim,)
    np.testing.assert_allclose(single, encoder.encode(SENTENCES[2]), atol=1e-6, rtol=0)
    normalized = model.encode(SENTENCES, batch_size=2, normalize_embeddings=True, convert_to_tensor=True)
    assert isinstance(normalized, torch.Tensor)
    np.testing.assert_allclose(normalized.numpy(), encoder.encode(SENTENCES, normalize_embeddings=True),
                               atol=1e-6, rtol=0)


def test_both_folders_name_the_module_class(st_folder, run_model_folder):
    assert MODULE_CLASS == f"{LstmlabEncoder.__module__}.{LstmlabEncoder.__name__}"
    for folder, path in ((st_folder, "0_LstmlabEncoder"), (run_model_folder, "")):
        assert json.loads((folder / "modules.json").read_text()) == [{"idx": 0, "name": "0", "path": path,
                                                                      "type": MODULE_CLASS}]


def test_a_folder_by_path_needs_trust_remote_code(st_folder):
    """sentence-transformers' own rule since 6.0: a module class outside its namespace is imported only with
    trust_remote_code=True, for local folders too."""
    with pytest.raises(ValueError, match="trust_remote_code"):
        st.SentenceTransformer(str(st_folder), device="cpu")


def test_semantic_search_and_similarity_run_on_it(trained_nli):
    model = to_sentence_transformer(trained_nli[0], device="cpu")
    corpus = model.encode(SENTENCES, convert_to_tensor=True)
    query = model.encode(["Someone plays an instrument."], convert_to_tensor=True)
    hits = st.util.semantic_search(query, corpus, top_k=3)[0]
    assert len(hits) == 3 and all(0 <= hit["corpus_id"] < len(SENTENCES) for hit in hits)
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    similarities = model.similarity(query, corpus)
    assert similarities.shape == (1, len(SENTENCES))
    torch.testing.assert_close(similarities[0], st.util.cos_sim(query, corpus)[0])


def test_an_evaluator_runs_on_it(st_folder):
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    model = st.SentenceTransformer(str(st_folder), device="cpu", trust_remote_code=True)
    first, second, scores = snli_pairs()
    evaluator = EmbeddingSimilarityEvaluator(first, second, scores, name="snli-dev")
    results = evaluator(model)
    assert math.isfinite(results[evaluator.primary_metric])


@needs_full_data
def test_the_sts_benchmark_evaluator_agrees_with_the_cosines_of_encode(trained_nli):
    """sentence-transformers' EmbeddingSimilarityEvaluator on STS-B test, and the Spearman correlation of the same
    cosines computed here from SentenceEncoder.encode (the same vectors): the two agree."""
    from scipy.stats import spearmanr
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    pairs = read_stsb_file(FULL_DATA / "stsbenchmark" / "sts-test.csv")
    first, second, scores = pairs.first[:400], pairs.second[:400], pairs.labels[:400]
    model = st.SentenceTransformer(str(trained_nli[0] / "model"), device="cpu", trust_remote_code=True)
    evaluator = EmbeddingSimilarityEvaluator(first, second, [score / 5 for score in scores], name="sts-test")
    spearman = evaluator(model)[evaluator.primary_metric]
    encoder = SentenceEncoder.load(trained_nli[0])
    u, v = (encoder.encode(side, normalize_embeddings=True) for side in (first, second))
    # float32 cosines on both sides, computed differently: near-ties may rank apart
    assert spearman == pytest.approx(spearmanr((u * v).sum(axis=1), scores).statistic, abs=1e-3)


def test_an_empty_sentence_gets_a_zero_vector(trained_nli):
    model = to_sentence_transformer(trained_nli[0], device="cpu")
    vectors = model.encode(["", *SENTENCES[:2]])
    np.testing.assert_array_equal(vectors[0], 0)
    np.testing.assert_allclose(vectors[1:], SentenceEncoder.load(trained_nli[0]).encode(SENTENCES[:2]), atol=1e-6)


def test_a_tagger_is_refused_clearly(trained, tmp_path):
    for call in (lambda: to_sentence_transformer(trained[0]),
                 lambda: export_sentence_transformer(trained[0], tmp_path / "st"),
                 lambda: add_sentence_transformers_files(trained[0] / "model")):
        with pytest.raises(WrongModelKind, match="SentenceEncoder needs a sentence encoder trained on NLI|'nli'"):
            call()
    assert not (tmp_path / "st").exists() and not (trained[0] / "model" / "modules.json").exists()
