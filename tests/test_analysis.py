"""Analysis code on tiny models built in the tests (no downloads): heads, caching, engines, aggregation, topics,
the analysis stage in a run, and re-analysis."""

import datetime as dt
import hashlib
import re

import numpy as np
import pytest

from monitor.analysis.analyze import Analyzer, TopicModel, analysis_rows
from monitor.analysis.engines import EmbeddingCache
from monitor.analysis.heads import LinearHead, evaluate
from monitor.db.store import Store
from monitor.records import ArticleAnalysisRow, ArticleRow, MentionRow, MentionToneRow
from monitor.runner import reanalyze
from monitor.training.train_head import balanced_weights, train_logistic

from helpers import batch, make_config, tiny_sentiment_layout

NOW = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)


class HashingEngine:
    """A tiny deterministic 'model': hashed bag of words, L2-normalised."""

    name = "hashing-64"
    dim = 64

    def __init__(self):
        self.calls = []

    def embed(self, texts, kind="query"):
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


POSITIVE = ["warga mengapresiasi layanan yang cepat", "program itu berhasil dan tepat sasaran", "meraih penghargaan terbaik"]
NEGATIVE = ["warga mengeluhkan layanan yang lambat", "pejabat itu ditetapkan tersangka korupsi", "kebijakan itu dikritik keras"]
NEUTRAL = ["rapat dijadwalkan pekan depan", "data akan dirilis besok", "pendaftaran dibuka bulan depan"]


def toy_head(engine):
    texts = POSITIVE * 5 + NEGATIVE * 5 + NEUTRAL * 5
    labels = ["positive"] * 15 + ["negative"] * 15 + ["neutral"] * 15
    return train_logistic(engine.embed(texts), labels, l2=0.01)


def test_logistic_head_learns_saves_and_loads(tmp_path):
    engine = HashingEngine()
    head = toy_head(engine)
    X = engine.embed(POSITIVE + NEGATIVE + NEUTRAL)
    assert head.predict(X) == ["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3
    head.meta["task"] = "sentiment"
    head.save(tmp_path / "head")
    loaded = LinearHead.load(tmp_path / "head")
    assert loaded.version == head.version and loaded.meta["task"] == "sentiment"
    np.testing.assert_allclose(loaded.predict_proba(X), head.predict_proba(X), atol=1e-5)
    assert np.allclose(head.predict_proba(X).sum(1), 1)


def test_balanced_weights_and_evaluation():
    weights = balanced_weights(["positive", "positive", "positive", "negative"])
    assert weights[:3].sum() == pytest.approx(weights[3])
    result = evaluate(["positive", "negative", "neutral", "neutral"], ["positive", "neutral", "neutral", "neutral"])
    assert result["accuracy"] == 0.75 and result["confusion"] == [[0, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert result["macro_f1"] == pytest.approx((0 + 0.8 + 1) / 3)


def test_embedding_cache_embeds_each_text_once_and_buckets_by_length():
    engine = HashingEngine()
    cache = EmbeddingCache(engine)
    a = cache.embed(["kalimat panjang sekali untuk diuji", "pendek", "pendek"])
    b = cache.embed(["pendek", "baru"])
    assert cache.embedded == 3 and cache.reused == 2
    assert engine.calls == [["pendek", "kalimat panjang sekali untuk diuji"], ["baru"]]
    np.testing.assert_array_equal(a[1], b[0])


def test_agency_tone_is_confidence_weighted_with_neutral_sentences_at_half_weight():
    analyzer = Analyzer(HashingEngine(), toy_head(HashingEngine()))
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.5, 0.3], [0.1, 0.8, 0.1]])  # classes: negative, neutral, positive
    weights = np.array([0.9, 0.25, 0.4])
    np.testing.assert_allclose(analyzer.aggregate(probs), (probs * weights[:, None]).sum(0) / weights.sum())
    one_criticism = np.array([[0.85, 0.1, 0.05]] + [[0.1, 0.8, 0.1]] * 2)  # one criticism, two neutral reports
    assert analyzer.label(analyzer.aggregate(one_criticism)) == "negative"


def test_topics_threshold_margin_and_keyword_boost():
    model = TopicModel(["bencana", "kesehatan"], np.eye(2, 4, dtype=np.float32), [["banjir"], ["rumah sakit"]], threshold=0.5, margin=0.1)
    vectors = np.array([[0.8, 0.6, 0, 0], [0.45, 0.0, 0.89, 0]], dtype=np.float32)
    scores = model.scores(vectors, ["Banjir di kota", "Tidak ada kata kunci"])
    assert scores[0, 0] == pytest.approx(0.82)  # keyword boost
    assert model.assign(scores) == [[("bencana", pytest.approx(0.82))], []]
    scores[0, 1] = 0.79
    assert [t for t, _ in model.assign(scores)[0]] == ["bencana", "kesehatan"]  # within the margin


def test_the_topic_version_names_the_topics_not_the_last_bits_of_their_vectors():
    config = make_config([])

    class Jittery(HashingEngine):  # the same model whose vectors move in the last bits (as with another batch size)
        def __init__(self, jitter):
            super().__init__()
            self.jitter = np.float32(jitter)

        def embed(self, texts, kind="query"):
            return super().embed(texts, kind) + self.jitter

    first = TopicModel.from_config(config.topics, EmbeddingCache(Jittery(0)))
    again = TopicModel.from_config(config.topics, EmbeddingCache(Jittery(1e-7)))
    assert not np.array_equal(first.vectors, again.vectors) and first.version == again.version
    edited = [t.model_copy(update={"description": t.description + " dan lainnya"}) if i == 0 else t
              for i, t in enumerate(config.topics)]
    assert TopicModel.from_config(edited, EmbeddingCache(HashingEngine())).version != first.version
    assert TopicModel.from_config(config.topics, EmbeddingCache(HashingEngine()), threshold=0.9).version != first.version


def test_the_tone_version_names_what_makes_the_tone_and_nothing_else():
    from monitor.analysis.aggregate import aggregator

    config = make_config([])
    head = toy_head(HashingEngine())
    plain = Analyzer(HashingEngine(), head)
    with_topics = Analyzer(HashingEngine(), head, config.topics, topic_threshold=0.5)
    assert plain.version != with_topics.version and plain.tone_version == with_topics.tone_version
    assert plain.tone_version.startswith("hashing-64|")  # a head reads the engine's vectors: the engine is named
    polar = Analyzer(HashingEngine(), head, aggregation=aggregator("polar", 0.7), aggregation_name="polar@0.7")
    assert polar.tone_version != plain.tone_version and polar.version == plain.version

    class TargetModel:  # a model that reads text itself (tone-e5, hf-classifier): the engine is not named
        classes, version = ("negative", "neutral", "positive"), "tone-e5:abc"

    assert Analyzer(HashingEngine(), TargetModel()).tone_version == "tone-e5:abc|weighted"


def test_analysis_rows_for_articles_and_mentions():
    config = make_config([])
    analyzer = Analyzer(HashingEngine(), toy_head(HashingEngine()), config.topics, topic_threshold=-1.0, topic_margin=0.0)
    articles = [ArticleRow(article_id="a1", title="KPK dikritik keras", lead="Warga mengeluhkan layanan yang lambat.")]
    mentions = [MentionRow(article_id="a1", agency_id="kpk", in_title=True, sentences=["pejabat itu ditetapkan tersangka korupsi"]),
                MentionRow(article_id="a1", agency_id="polri", in_title=True, sentences=[])]
    rows = analysis_rows(analyzer, articles, mentions, NOW)
    (doc,) = rows.of(ArticleAnalysisRow)
    assert doc.tone == "negative" and doc.model_version == analyzer.version
    assert doc.p_negative + doc.p_neutral + doc.p_positive == pytest.approx(1)
    assert len(doc.topics) == 1  # the best topic only: margin 0
    tones = {r.agency_id: r for r in rows.of(MentionToneRow)}
    assert tones["kpk"].tone == "negative" and tones["kpk"].sentences_scored == 1
    assert {r.model_version for r in tones.values()} == {analyzer.tone_version}
    assert tones["polri"].sentences_scored == 1  # no sentence: the title is scored


def test_reanalysis_replaces_rows_and_is_idempotent(tmp_path):
    store = Store(tmp_path / "r.duckdb")
    store.write(batch(articles=[{"article_id": "a1", "title": "Program itu berhasil", "lead": "Warga mengapresiasi layanan yang cepat.",
                               "status": "ok", "published_at": NOW, "fetched_at": NOW}],
                       mentions=[{"article_id": "a1", "agency_id": "kemenkes", "mention_count": 1, "in_title": False, "in_lead": True,
                                  "forms": ["Kemenkes"], "sentences": ["Kemenkes meraih penghargaan terbaik"], "legacy_name": False}]))
    first = Analyzer(HashingEngine(), toy_head(HashingEngine()))
    assert reanalyze(store, first, now=NOW) == 1
    assert reanalyze(store, first, now=NOW) == 1
    with store.session(read_only=True) as con:
        assert con.execute("SELECT count(*), any_value(tone) FROM mention_tone").fetchone() == (1, "positive")
        assert con.execute("SELECT count(*) FROM article_analysis").fetchone()[0] == 1
    other_head = toy_head(HashingEngine())
    other_head.bias = other_head.bias + np.array([5.0, 0, 0])  # a different model that calls everything negative
    second = Analyzer(HashingEngine(), other_head)
    reanalyze(store, second, since=NOW - dt.timedelta(days=1), until=NOW + dt.timedelta(days=1), now=NOW)
    with store.session(read_only=True) as con:
        assert con.execute("SELECT DISTINCT model_version FROM article_analysis").fetchall() == [(second.version,)]
        assert con.execute("SELECT DISTINCT model_version FROM mention_tone").fetchall() == [(second.tone_version,)]
    assert reanalyze(store, second, since=NOW + dt.timedelta(days=1), now=NOW) == 0


def _tiny_bert(tmp_path, classifier=False):
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    words = "kpk menetapkan tersangka warga mengapresiasi layanan cepat lambat rapat".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", ":", "passage"] + words
    BertTokenizerFast(vocab={word: i for i, word in enumerate(vocab)}).save_pretrained(tmp_path)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    if classifier:
        config.num_labels = 3
        config.id2label = {0: "NEG", 1: "NET", 2: "POS"}
        config.label2id = {v: k for k, v in config.id2label.items()}
        BertForSequenceClassification(config).save_pretrained(tmp_path)
    else:
        BertModel(config).save_pretrained(tmp_path)
    return str(tmp_path)


def test_transformers_engine_loads_a_local_model_and_mean_pools(tmp_path):
    pytest.importorskip("torch", reason="the transformers engine is the optional 'hf' extra")
    from monitor.analysis.engines import TransformersEngine

    engine = TransformersEngine(_tiny_bert(tmp_path), cache_dir=tmp_path / "cache", device="cpu", batch_size=2)
    vectors = engine.embed(["KPK menetapkan tersangka", "warga", "layanan cepat"], "query")
    assert vectors.shape == (3, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    again = engine.embed(["warga"], "query")
    np.testing.assert_allclose(again[0], vectors[1], atol=1e-5)  # batching and padding do not change a vector
    assert not np.allclose(engine.embed(["warga"], "passage")[0], again[0])  # e5 prefixes are applied


def test_a_transformers_engine_beside_the_tone_model_keeps_its_own_tokenizer(tmp_path):
    pytest.importorskip("torch", reason="the transformers engine is the optional 'hf' extra")
    from monitor.analysis.analyze import build_analyzer, shared_e5_parts
    from monitor.analysis.engines import TransformersEngine

    config = make_config([], analysis={"engine": "transformers", "model": _tiny_bert(tmp_path), "cache_dir": str(tmp_path / "c"),
                                       "device": "cpu"})
    analyzer = build_analyzer(config.settings, config.topics, config.agencies)
    assert isinstance(analyzer.engine, TransformersEngine) and shared_e5_parts(analyzer.engine) == {}
    assert analyzer.tone(["KPK menahan tersangka suap."]).shape == (1, 3)
    assert analyzer.tone_toward(["KPK menahan tersangka suap."], ["kpk"]).shape == (1, 3)


def test_hf_classifier_maps_labels(tmp_path):
    pytest.importorskip("torch", reason="the hf-classifier is the optional 'hf' extra")
    from monitor.analysis.analyze import HFClassifierSentiment

    path = _tiny_bert(tmp_path, classifier=True)
    with pytest.raises(ValueError, match="label_map must map every model label"):
        HFClassifierSentiment(path, {"NEG": "negative"}, cache_dir=tmp_path / "c", device="cpu")
    sentiment = HFClassifierSentiment(path, {"NEG": "negative", "NET": "neutral", "POS": "positive"}, cache_dir=tmp_path / "c", device="cpu")
    probs = sentiment.classify(["warga mengapresiasi layanan", "kpk"])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    analyzer = Analyzer(HashingEngine(), sentiment)
    assert analyzer.version.startswith("hashing-64|hf-classifier:")


def test_training_command_code_on_tiny_data(tmp_path):
    """train_sentiment end to end on a tiny synthetic SmSA/NusaX/news layout with the hashing model."""
    from monitor.training.train_head import train_sentiment

    rows = [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE] + [(t, "neutral") for t in NEUTRAL]
    shared, news = tiny_sentiment_layout(tmp_path, rows)
    meta = train_sentiment(HashingEngine(), shared, news, tmp_path / "out" / "head", l2_grid=(0.01, 0.1),
                           alphas=(0.5, 1.0), cache_root=tmp_path / "cache")
    assert set(meta["metrics"]) >= {"smsa-test", "nusax-test-unseen", "news-test"}
    assert meta["metrics"]["smsa-test"]["macro_f1"] == 1.0
    head = LinearHead.load(tmp_path / "out" / "head")
    assert head.meta["engine"] == "hashing-64" and head.meta["alpha"] in (0.5, 1.0)
    assert list((tmp_path / "cache").glob("*.npz"))  # embeddings cached for the next training run


def test_onnx_batches_fill_every_row_and_only_the_last_run_releases_the_arena():
    from monitor.analysis.e5_bundle import length_sorted_batches
    from monitor.analysis.engines import run_onnx_batches

    class Bundle:
        def word_rows(self, ids):
            return ids[..., None].astype(np.float16).repeat(2, axis=-1)

    class Session:
        def __init__(self):
            self.options = []

        def run(self, outputs, inputs, options=None):
            self.options.append(options)
            return [inputs["inputs_embeds"].sum(axis=(1, 2))[:, None]]

    session = Session()
    encoded = [[3] * n for n in (5, 1, 4, 2, 3)]
    out = run_onnx_batches(session, "embeddings", Bundle(), length_sorted_batches(encoded, 2, 0), np.zeros((5, 1)))
    assert out[:, 0].tolist() == [30, 6, 24, 12, 18]  # each row back in its place
    assert session.options[:-1] == [None, None]
    assert session.options[-1].get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0"


def test_status_names_the_tone_version_in_use_and_the_articles_left_on_another(tmp_path):
    from monitor.outputs.status import collect_status, render_status

    tmp_db = str(tmp_path / "s.duckdb")
    store = Store(tmp_db)
    articles = [{"article_id": a, "title": "KPK", "lead": "KPK.", "status": "ok", "published_at": NOW, "fetched_at": NOW}
                for a in ("a1", "a2", "a3")]
    mentions = [{"article_id": a, "agency_id": "kpk", "mention_count": 1, "in_title": True, "in_lead": True,
                 "forms": ["KPK"], "sentences": ["KPK."], "legacy_name": False} for a in ("a1", "a2", "a3")]
    tones = [{"article_id": a, "agency_id": "kpk", "model_version": version, "tone": "neutral", "p_negative": 0.1,
              "p_neutral": 0.8, "p_positive": 0.1, "analyzed_at": NOW + dt.timedelta(minutes=minutes)}
             for a, version, minutes in (("a1", "tone-old|weighted", 0), ("a2", "tone-old|weighted", 0), ("a3", "tone-new|polar@0.7", 5))]
    store.write(batch(articles=articles, mentions=mentions, mention_tone=tones))
    text = render_status(collect_status(tmp_db, now=NOW + dt.timedelta(hours=1)))
    assert "tone toward agencies by: tone-new|polar@0.7 (other versions in 2 articles: run monitor reanalyze)" in text
