"""Tone toward an agency on real news: the project's labelled corpus (models/data/real_tone, texts read from
../shared/data/news), sentence and article level, with the floors of issue 13.

Sentence level, served as the pipeline serves it (ONNX int8, the item's agency as the target):
- real-news test split at its natural class mix (floor macro-F1 0.75), and a class-balanced sample of it (equal
  numbers per class, the size of the rarest; floor 0.75); the validation split for the record;
- no regression elsewhere: SmSA test (floor 0.86), NusaX-ind test rows not seen in training (floor 0.87).

Article level (models/data/real_tone/article_labels.csv, IndoSum articles of the validation and test splits): the
product's own mention sentences of each (article, agency) pair are scored and combined by each aggregation rule
(monitor/analysis/aggregate.py); the rule (and the `polar` threshold) is chosen on the validation half and
reported on the test half (floor macro-F1 0.70).

Speed: sentences/s of this model and of `--baseline` (the model shipped before, ONNX int8) on the same 400 real
sentences in the same run (floor: not slower than 0.9x, the noise of this shared machine).

    python benchmarks/tone_real_news.py [--model models/tone-e5] [--baseline models/cache/tone-e5-before]
    python benchmarks/tone_real_news.py --ablation DIR [DIR ...]     # one row per model, same sets

Exits 1 when the model is below a floor.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tone_e5_eval import speed  # noqa: E402

from monitor.analysis import aggregate  # noqa: E402
from monitor.analysis.heads import evaluate  # noqa: E402
from monitor.analysis.tone_model import target_names  # noqa: E402
from monitor.analysis.tone_serve import OnnxTone  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.ingest.mentions import matcher_from_config  # noqa: E402
from monitor.training.real_news import detokenize, indosum_day, read_indosum  # noqa: E402
from monitor.training.train_head import format_report  # noqa: E402
from monitor.training.train_tone import TrainingSources, score, tone_datasets  # noqa: E402

FLOORS = {"test-real": 0.75, "test-real-balanced": 0.75, "article-test": 0.70, "test-smsa": 0.86,
          "test-nusax-unseen": 0.87, "speed-ratio": 0.9}
SHARED = ROOT.parent / "shared" / "data"
LABELS = ROOT / "models" / "data" / "real_tone" / "labels.csv"
ARTICLES = ROOT / "models" / "data" / "real_tone" / "article_labels.csv"
THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def datasets(names: dict[str, str]):
    return tone_datasets(TrainingSources(SHARED / "sentiment", ROOT / "models" / "data" / "news_tone.csv",
                                         real_news=LABELS, news_dir=SHARED / "news"), names)


def article_pairs(config) -> list[dict]:
    """Each labelled (article, agency) pair with the product's mention sentences for that agency."""
    rows = [r for r in csv.DictReader(ARTICLES.open(encoding="utf-8")) if r["label"] in ("negative", "neutral", "positive")]
    wanted = {r["doc_id"] for r in rows}
    matcher = matcher_from_config(config)
    sentences: dict[tuple[str, str], list[str]] = {}
    for article, _ in read_indosum(SHARED / "news" / "indosum-dev"):
        if article["id"] not in wanted:
            continue
        text = "\n\n".join(" ".join(detokenize(s) for s in paragraph) for paragraph in article["paragraphs"])
        day = indosum_day(article["id"])
        published = dt.datetime.combine(day, dt.time(), dt.UTC) if day else None
        for mention in matcher.mentions(None, text, published):
            sentences[(article["id"], mention.agency_id)] = mention.sentences
    return [dict(r, sentences=sentences.get((r["doc_id"], r["agency_id"]), [])) for r in rows]


def article_level(tone, pairs: list[dict], names: dict[str, str]) -> dict:
    """Macro-F1 of each rule on the validation and test halves; the rule chosen on validation."""
    scored = []
    for pair in pairs:
        if pair["sentences"]:
            probs = tone.classify_toward(pair["sentences"], [names[pair["agency_id"]]] * len(pair["sentences"]))
            scored.append((pair, probs))
    rules = {"weighted": aggregate.weighted, "mean": aggregate.mean}
    rules.update({f"polar@{t}": (lambda probs, t=t: aggregate.polar(probs, t)) for t in THRESHOLDS})
    table = {}
    for name, rule in rules.items():
        for split in ("valid", "test"):
            chosen = [(p, probs) for p, probs in scored if p["split"] == split]
            predicted = [tone.classes[int(np.argmax(rule(probs)))] for _, probs in chosen]
            table[(name, split)] = evaluate([p["label"] for p, _ in chosen], predicted)
    best = max(rules, key=lambda name: (table[(name, "valid")]["macro_f1"], name == "weighted"))
    return {"table": table, "rules": list(rules), "chosen": best, "pairs": len(scored),
            "unscored": len(pairs) - len(scored)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "tone-e5")
    parser.add_argument("--baseline", type=Path, default=ROOT / "models" / "cache" / "tone-e5-before")
    parser.add_argument("--ablation", type=Path, nargs="*", help="model folders to compare (one row each)")
    args = parser.parse_args()
    config = load_config(ROOT / "feeds.yaml")
    names = target_names(config.agencies)
    data = datasets(names)
    sets = {"valid-real": data.validation["valid-real"], **{k: data.test[k] for k in (
        "test-real", "test-real-balanced", "test-smsa", "test-nusax-unseen")}, "valid-smsa": data.validation["valid-smsa"]}
    counts = {k: {c: sum(e.label == c for e in v) for c in ("negative", "neutral", "positive")} for k, v in sets.items()}
    print(f"real-news corpus: {LABELS.relative_to(ROOT)}; test {counts['test-real']}, valid {counts['valid-real']}, "
          f"balanced test {len(sets['test-real-balanced'])} items")
    if args.ablation:
        pairs = article_pairs(config)
        print("| model | real valid | real test | real test balanced | SmSA valid | SmSA test | NusaX unseen | "
              "article valid / test (rule chosen on valid) |")
        print("|---|---|---|---|---|---|---|---|")
        for folder in args.ablation:
            tone = OnnxTone(folder)
            f1 = {k: score(tone, v)["macro_f1"] for k, v in sets.items()}
            articles = article_level(tone, pairs, names)
            rule = articles["chosen"]
            print(f"| {folder.name} | {f1['valid-real']:.3f} | {f1['test-real']:.3f} | {f1['test-real-balanced']:.3f} | "
                  f"{f1['valid-smsa']:.3f} | {f1['test-smsa']:.3f} | {f1['test-nusax-unseen']:.3f} | "
                  f"{articles['table'][(rule, 'valid')]['macro_f1']:.3f} / {articles['table'][(rule, 'test')]['macro_f1']:.3f} "
                  f"({rule}) |")
        return 0
    tone = OnnxTone(args.model)
    print(f"model {args.model} ({tone.version})")
    results = {}
    for name, rows in sets.items():
        results[name] = score(tone, rows)
        print(format_report(name, results[name]))
    articles = article_level(tone, article_pairs(config), names)
    print(f"article level: {articles['pairs']} labelled (article, agency) pairs scored "
          f"({articles['unscored']} without a mention sentence); macro-F1 by rule, validation / test:")
    for rule in articles["rules"]:
        print(f"  {rule:<12} {articles['table'][(rule, 'valid')]['macro_f1']:.3f} / {articles['table'][(rule, 'test')]['macro_f1']:.3f}")
    chosen = articles["chosen"]
    results["article-test"] = articles["table"][(chosen, "test")]
    print(f"chosen on validation: {chosen}")
    print(format_report(f"article level, test, rule {chosen}", results["article-test"]))
    texts = [e.text for e in sets["test-real"]][:400]
    targets = [e.target for e in sets["test-real"]][:400]
    baseline = OnnxTone(args.baseline)
    print(f"speed on {len(texts)} real sentences, same run (ONNX int8):")
    before = speed(f"before ({args.baseline.name})", lambda t: baseline.classify_toward(t, targets[: len(t)]), texts)
    now = speed(f"this model ({args.model.name})", lambda t: tone.classify_toward(t, targets[: len(t)]), texts)
    ratio = now / before
    print(f"  ratio {ratio:.2f}")
    ok = True
    for name, floor in FLOORS.items():
        value = ratio if name == "speed-ratio" else results[name]["macro_f1"]
        passed = value >= floor
        ok = ok and passed
        print(f"{name:<20} {value:.3f}  floor {floor}  {'ok' if passed else 'BELOW FLOOR'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

