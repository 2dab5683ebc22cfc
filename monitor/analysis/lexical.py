"""A lexical sentiment head: TF-IDF word 1–2-grams and character 2–5-grams with logistic regression
(scikit-learn). It sees spelling and slang the 4-bit sentence encoder smooths over; the shipped model mixes its
probabilities with the embedding head's (`HybridSentiment`). Saved as .npz + .json (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.sparse import hstack

WORD = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 3, "sublinear_tf": True, "max_features": 100000}


class LexicalHead:
    def __init__(self, word, char, coef: np.ndarray, intercept: np.ndarray, classes: tuple[str, ...]):
        self.word, self.char, self.coef, self.intercept, self.classes = word, char, coef, intercept, classes

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], weights: np.ndarray | None = None, C: float = 10.0) -> LexicalHead:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        word, char = TfidfVectorizer(**WORD).fit(texts), TfidfVectorizer(**CHAR).fit(texts)
        features = hstack([word.transform(texts), char.transform(texts)]).tocsr()
        model = LogisticRegression(C=C, max_iter=3000).fit(features, labels, sample_weight=weights)
        return cls(word, char, model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32), tuple(model.classes_))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        features = hstack([self.word.transform(texts), self.char.transform(texts)]).tocsr()
        z = features @ self.coef + self.intercept
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        np.savez_compressed(path.with_suffix(".npz"), coef=self.coef, intercept=self.intercept,
                            word_idf=self.word.idf_.astype(np.float32), char_idf=self.char.idf_.astype(np.float32))
        vocab = {name: sorted(vec.vocabulary_, key=vec.vocabulary_.get) for name, vec in (("word", self.word), ("char", self.char))}
        path.with_suffix(".json").write_text(json.dumps({"classes": list(self.classes), **vocab}, ensure_ascii=False),
                                             encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LexicalHead:
        from sklearn.feature_extraction.text import TfidfVectorizer

        path = Path(path)
        arrays = np.load(path.with_suffix(".npz"), allow_pickle=False)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        vectorizers = []
        for name, params in (("word", WORD), ("char", CHAR)):
            options = {k: v for k, v in params.items() if k not in ("min_df", "max_features")}
            vectorizer = TfidfVectorizer(vocabulary={t: i for i, t in enumerate(meta[name])}, **options)
            vectorizer.idf_ = arrays[f"{name}_idf"].astype(np.float64)
            vectorizers.append(vectorizer)
        word, char = vectorizers
        return cls(word, char, arrays["coef"], arrays["intercept"], tuple(meta["classes"]))


class HybridSentiment:
    """alpha × embedding head + (1 − alpha) × lexical head (alpha chosen on validation data at training time)."""

    def __init__(self, head, lexical: LexicalHead, alpha: float, cache):
        if tuple(head.classes) != tuple(lexical.classes):
            raise ValueError("the two heads must share their classes")
        self.head, self.lexical, self.alpha, self.cache = head, lexical, alpha, cache
        self.classes = head.classes
        self.version = f"hybrid:{head.version}:a{alpha:g}"

    def classify(self, texts: list[str]) -> np.ndarray:
        embedded = self.head.predict_proba(self.cache.embed(texts, "query"))
        return self.alpha * embedded + (1 - self.alpha) * self.lexical.predict_proba(list(texts))
