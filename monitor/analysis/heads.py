"""Linear heads over sentence embeddings: multinomial logistic regression, trained with L-BFGS (scipy), applied
with numpy. Saved as .npz (weights) + .json (classes, engine, training data, metrics): no pickle, so a model file
cannot run code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LABELS = ("negative", "neutral", "positive")


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class LinearHead:
    classes: tuple[str, ...]
    weights: np.ndarray  # (dim, n_classes)
    bias: np.ndarray  # (n_classes,)
    meta: dict = field(default_factory=dict)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(X, dtype=np.float64) @ self.weights + self.bias)

    def predict(self, X: np.ndarray) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(X).argmax(axis=1)]

    @property
    def version(self) -> str:
        """Content hash of the weights: changes whenever the model changes."""
        # hashed as stored (float32), so a saved and re-loaded head keeps its version
        weights, bias = self.weights.astype(np.float32), self.bias.astype(np.float32)
        digest = hashlib.sha1(weights.tobytes() + bias.tobytes() + ",".join(self.classes).encode()).hexdigest()
        return digest[:12]

    def save(self, path: str | Path) -> None:
        path = Path(path)
        np.savez_compressed(path.with_suffix(".npz"), weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32))
        meta = {**self.meta, "classes": list(self.classes), "version": self.version}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LinearHead:
        path = Path(path)
        arrays = np.load(path.with_suffix(".npz"), allow_pickle=False)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        head = cls(tuple(meta["classes"]), arrays["weights"].astype(np.float64), arrays["bias"].astype(np.float64), meta)
        return head


def evaluate(y_true: list[str], y_pred: list[str], classes: tuple[str, ...] = LABELS) -> dict:
    """Accuracy, macro-F1, per-class F1 and the confusion matrix (rows: truth, columns: prediction)."""
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    for t, p in zip(y_true, y_pred):
        matrix[index[t], index[p]] += 1
    f1 = {}
    for c, i in index.items():
        tp = matrix[i, i]
        precision = tp / matrix[:, i].sum() if matrix[:, i].sum() else 0.0
        recall = tp / matrix[i, :].sum() if matrix[i, :].sum() else 0.0
        f1[c] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(y_true), "accuracy": float(np.trace(matrix) / max(len(y_true), 1)),
            "macro_f1": float(np.mean(list(f1.values()))), "f1": f1, "confusion": matrix.tolist(), "classes": list(classes)}
