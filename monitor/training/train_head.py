"""Training and evaluating the sentiment head: `monitor models train` and `monitor models eval`.

Data (never copied into the repository): SmSA and NusaX-ind from ../shared/data/sentiment, and the project's own
news-domain tone set (models/data/news_tone.csv, written for the project). Embeddings are cached on disk under
models/cache/ keyed by engine and text, so retraining with other settings does not re-embed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monitor.analysis.heads import LABELS, LinearHead, evaluate, softmax

log = logging.getLogger(__name__)
LABEL_ALIASES = {"positive": "positive", "pos": "positive", "positif": "positive", "neutral": "neutral",
                 "neu": "neutral", "netral": "neutral", "negative": "negative", "neg": "negative", "negatif": "negative"}


def train_logistic(X: np.ndarray, y: list[str], classes: tuple[str, ...] = LABELS, l2: float = 1.0,
                   sample_weight: np.ndarray | None = None, max_iter: int = 500) -> LinearHead:
    """Multinomial logistic regression with an L2 penalty (`l2` per unit of total sample weight)."""
    from scipy.optimize import minimize

    X = np.asarray(X, dtype=np.float64)
    n, dim = X.shape
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    Y = np.zeros((n, k))
    Y[np.arange(n), [index[label] for label in y]] = 1.0
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = w / w.sum()

    def loss(params: np.ndarray):
        W = params[: dim * k].reshape(dim, k)
        b = params[dim * k :]
        P = softmax(X @ W + b)
        value = -(w * (Y * np.log(P + 1e-12)).sum(1)).sum() + 0.5 * l2 / n * (W**2).sum()
        G = (P - Y) * w[:, None]
        grad_W = X.T @ G + l2 / n * W
        return value, np.concatenate([grad_W.ravel(), G.sum(0)])

    result = minimize(loss, np.zeros(dim * k + k), jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return LinearHead(classes, result.x[: dim * k].reshape(dim, k), result.x[dim * k :], {"l2": l2, "iterations": int(result.nit)})


def balanced_weights(y: list[str]) -> np.ndarray:
    """Weights so that every class counts equally."""
    labels, counts = np.unique(y, return_counts=True)
    per_class = {label: len(y) / (len(labels) * count) for label, count in zip(labels, counts)}
    return np.array([per_class[label] for label in y])


@dataclass
class Dataset:
    name: str
    texts: list[str]
    labels: list[str]
    targets: list[str | None]
    groups: list[str] = field(default_factory=list)  # e.g. the template a news sentence came from (empty: none)


def _label(value: str, where: str) -> str:
    label = LABEL_ALIASES.get(value.strip().lower())
    if label is None:
        raise ValueError(f"{where}: unknown label {value!r} (expected positive, neutral or negative)")
    return label


def read_labelled(path: str | Path, name: str | None = None) -> Dataset:
    """TSV `text<TAB>label` (no header) or CSV with a header containing text,label and optionally target."""
    path = Path(path)
    texts: list[str] = []
    labels: list[str] = []
    targets: list[str | None] = []
    groups: list[str] = []
    if path.suffix == ".tsv":
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            text, _, label = line.rpartition("\t")
            texts.append(text)
            labels.append(_label(label, f"{path}:{number}"))
            targets.append(None)
    else:
        with open(path, newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle), 2):
                if "text" not in row or "label" not in row:
                    raise ValueError(f"{path}: needs 'text' and 'label' columns")
                texts.append(row["text"])
                labels.append(_label(row["label"], f"{path}:{number}"))
                targets.append(row.get("target") or None)
                groups.append(row.get("template") or "")
    return Dataset(name or path.stem, texts, labels, targets, groups if any(groups) else [])


def news_splits(path: str | Path) -> tuple[Dataset, Dataset]:
    """The project's news tone set: (train, test) by its `split` column."""
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    out = []
    for split in ("train", "test"):
        chosen = [r for r in rows if r["split"] == split]
        out.append(Dataset(f"news-{split}", [r["text"] for r in chosen], [r["label"] for r in chosen],
                           [r["target"] for r in chosen], [r["template"] for r in chosen]))
    return out[0], out[1]


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


class DiskCache:
    """Embeddings of (engine, text) kept in one .npz per engine under models/cache/embeddings (git-ignored)."""

    def __init__(self, engine, root: str | Path = "models/cache/embeddings"):
        self.engine = engine
        self.path = Path(root) / (hashlib.sha1(engine.name.encode()).hexdigest()[:10] + ".npz")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            stored = np.load(self.path, allow_pickle=False)
            self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"]))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(("query: " + text).encode("utf-8")).hexdigest()

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors):
            self._vectors[self.key(text)] = np.asarray(vector, dtype=np.float32)

    def save(self) -> None:
        keys = list(self._vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.vstack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 1)))

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self._vectors))
        for start in range(0, len(missing), 1000):
            chunk = missing[start : start + 1000]
            self.add(chunk, self.engine.embed(chunk, "query"))
            self.save()
            log.info("embedded %d/%d new texts", start + len(chunk), len(missing))
        if not texts:
            return np.zeros((0, self.engine.dim), dtype=np.float32)
        return np.vstack([self._vectors[self.key(t)] for t in texts])


def train_sentiment(engine, shared: Path, news_csv: Path, out: Path, *, l2_grid=(0.3, 1, 3, 10, 30), news_weight: float = 3.0,
                    alphas=(0.5, 0.6, 0.7, 0.8, 1.0),
                    cache_root: str | Path = "models/cache/embeddings") -> dict:
    """Fit the embedding head and the lexical head on SmSA train + NusaX train + news train; pick the L2 penalty
    and the mixing weight alpha on SmSA valid + a news validation part (every fifth template of news train);
    refit on all training rows; report SmSA test, NusaX test (rows not in training) and news test."""
    cache = DiskCache(engine, cache_root)
    smsa_train = read_labelled(shared / "smsa" / "train.tsv", "smsa-train")
    smsa_valid = read_labelled(shared / "smsa" / "valid.tsv", "smsa-valid")
    smsa_test = read_labelled(shared / "smsa" / "test.tsv", "smsa-test")
    nusax_train = read_labelled(shared / "nusax-ind" / "train.csv", "nusax-train")
    nusax_test = read_labelled(shared / "nusax-ind" / "test.csv", "nusax-test")
    news_train, news_test = news_splits(news_csv)
    # hold out every fifth template of news train for choosing the penalty
    templates = sorted(set(news_train.groups), key=lambda t: int(t.split("-")[1]))
    held = {t for i, t in enumerate(templates) if i % 5 == 0}
    pick = lambda ds, keep: Dataset(ds.name, *[[v for v, g in zip(col, ds.groups) if (g in held) == keep] for col in (ds.texts, ds.labels, ds.targets)])  # noqa: E731
    news_fit, news_valid = pick(news_train, False), pick(news_train, True)
    seen = {normalise(t) for t in smsa_train.texts + nusax_train.texts}
    keep = [i for i, t in enumerate(nusax_test.texts) if normalise(t) not in seen]
    nusax_unseen = Dataset("nusax-test-unseen", [nusax_test.texts[i] for i in keep], [nusax_test.labels[i] for i in keep], [None] * len(keep))

    def xy(*sets):
        texts = [t for s in sets for t in s.texts]
        return cache.embed(texts), [label for s in sets for label in s.labels]

    from monitor.analysis.lexical import LexicalHead

    X_fit, y_fit = xy(smsa_train, nusax_train, news_fit)
    texts_fit = smsa_train.texts + nusax_train.texts + news_fit.texts
    weights = balanced_weights(y_fit)
    weights[-len(news_fit.texts):] *= news_weight  # the in-domain rows count more
    valid_sets = [(smsa_valid, *xy(smsa_valid)), (news_valid, *xy(news_valid))]

    def validation(head: LinearHead, lexical: LexicalHead | None, alpha: float) -> float:
        scores = []
        for ds, X, y in valid_sets:
            probs = head.predict_proba(X)
            if lexical is not None:
                probs = alpha * probs + (1 - alpha) * lexical.predict_proba(ds.texts)
            scores.append(evaluate(y, [head.classes[i] for i in probs.argmax(1)])["macro_f1"])
        return float(np.mean(scores))

    best = max((validation(train_logistic(X_fit, y_fit, l2=l2, sample_weight=weights), None, 1.0), l2) for l2 in l2_grid)
    log.info("embedding head: l2=%s, validation macro-F1 (mean of SmSA and news) %.3f", best[1], best[0])
    head_fit = train_logistic(X_fit, y_fit, l2=best[1], sample_weight=weights)
    lexical_fit = LexicalHead.fit(texts_fit, y_fit, weights)
    alpha_score, alpha = max((validation(head_fit, lexical_fit, a), a) for a in alphas)
    log.info("hybrid: alpha=%s, validation macro-F1 %.3f", alpha, alpha_score)
    X_all, y_all = xy(smsa_train, nusax_train, news_train)
    texts_all = smsa_train.texts + nusax_train.texts + news_train.texts
    weights = balanced_weights(y_all)
    weights[-len(news_train.texts):] *= news_weight
    head = train_logistic(X_all, y_all, l2=best[1], sample_weight=weights)
    lexical = LexicalHead.fit(texts_all, y_all, weights) if alpha < 1 else None
    metrics = {}
    for ds in (smsa_test, nusax_unseen, news_test):
        X, y = xy(ds)
        probs = head.predict_proba(X)
        if lexical is not None:
            probs = alpha * probs + (1 - alpha) * lexical.predict_proba(ds.texts)
        metrics[ds.name] = evaluate(y, [head.classes[i] for i in probs.argmax(1)])
        metrics[ds.name + " (embedding head alone)"] = evaluate(y, head.predict(X))
    head.meta.update({
        "task": "sentiment", "engine": engine.name, "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": {"smsa-train": len(smsa_train.texts), "nusax-train": len(nusax_train.texts), "news-train": len(news_train.texts)},
        "news_weight": news_weight, "l2": best[1], "alpha": alpha, "validation_macro_f1": alpha_score,
        "lexical": out.name + "-lexical" if lexical is not None else None, "metrics": metrics,
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    head.save(out)
    if lexical is not None:
        lexical.save(out.with_name(out.name + "-lexical"))
    return head.meta


def evaluate_file(analyzer, path: str | Path, matcher=None) -> dict:
    """Accuracy, macro-F1 and the confusion matrix of the analyzer's sentiment on a labelled file. Rows with a
    `target` are scored as agency tone (the sentences that mention the target, aggregated), others as text tone."""
    data = read_labelled(path)
    predicted = []
    for text, target in zip(data.texts, data.targets):
        sentences = [text]
        if target and matcher is not None:
            mention = next((m for m in matcher.mentions(None, text) if m.agency_id == target), None)
            sentences = mention.sentences if mention and mention.sentences else [text]
        predicted.append(analyzer.label(analyzer.aggregate(analyzer.tone_toward(sentences, [target] * len(sentences)))))
    return evaluate(data.labels, predicted, tuple(analyzer.sentiment.classes))


def format_report(name: str, result: dict) -> str:
    lines = [f"{name}: n={result['n']} accuracy={result['accuracy']:.3f} macro-F1={result['macro_f1']:.3f}",
             "  confusion (rows = truth, columns = prediction): " + " ".join(result["classes"])]
    for cls, row in zip(result["classes"], result["confusion"]):
        lines.append(f"  {cls:>9} " + " ".join(f"{v:>8}" for v in row))
    return "\n".join(lines)


def dump(meta: dict) -> str:
    return json.dumps(meta, indent=2, default=str)
