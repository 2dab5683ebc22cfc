"""Build the serving tokenizer's restricted vocabulary (issue 20: the 250,002-piece Unigram trie costs ~260 MB of
the run's memory; the pieces Indonesian and English news use are a fraction of it).

    python -m monitor.training.restrict_vocab [--news-dir ../shared/data/news] [--sentiment-dir ../shared/data/sentiment]

Kept: every piece made only of Latin-script characters (`_latin`: Basic Latin to Latin Extended-B, general
punctuation, currency signs, the word-start mark), every piece the full tokenizer uses on the fitting half of the
corpora (IndoSum dev articles with an even position, idner-news-2k train, SmSA and NusaX train, NewsMTSC train, the
agency register's names and aliases), every piece of at most one character besides the word-start mark (so any
text can still be spelled out), the special tokens, and the lowest-scored piece (the unknown-character penalty is
computed from the lowest score). Why the ids stay the same for Latin-script text: Unigram segmentation is the
best-scoring path over the pieces that match the text, and every piece that can match such a text is kept. A text
in another script whose best path needs a removed piece gets the best path over the kept pieces (valid ids, a
smaller split). The held-out half (IndoSum odd positions, idner-news-2k dev and test, SmSA and NusaX test, NewsMTSC
test) measures it; the figures are written beside the ids (`monitor/data/e5_kept_pieces.json`) and in
docs/performance.md.

Writes `monitor/data/e5_kept_pieces.npy` (uint32 piece ids, ascending) and the JSON report. Needs the hf extra
(sacremoses, to detokenise the CoNLL and IndoSum tokens).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from monitor.analysis.e5_bundle import E5Tokenizer, read_bundle, restricted_vocabulary_path

BATCH = 2_000


def _latin(character: str) -> bool:
    """Latin letters with their accents (Basic Latin to Latin Extended-B), general punctuation, currency signs and the
    word-start mark: the alphabet of Indonesian and English news."""
    code = ord(character)
    return code < 0x250 or 0x2000 <= code <= 0x206F or 0x20A0 <= code <= 0x20CF or character == "▁"


def _sentiment_texts(folder: Path, split: str) -> Iterator[str]:
    smsa = folder / "smsa" / f"{split}.tsv"
    for line in smsa.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            yield line.rsplit("\t", 1)[0]
    with (folder / "nusax-ind" / f"{split}.csv").open(encoding="utf-8", newline="") as handle:
        yield from (row["text"] for row in csv.DictReader(handle))
    newsmtsc = folder / "newsmtsc" / f"{'train' if split == 'train' else 'test'}.jsonl"
    if newsmtsc.exists():
        for line in newsmtsc.read_text(encoding="utf-8").splitlines():
            yield json.loads(line).get("sentence_normalized") or json.loads(line).get("sentence", "")


def _news_texts(folder: Path, fitting: bool) -> Iterator[str]:
    from monitor.training.real_news import detokenize, read_conll, read_indosum

    for position, (_article, sentences) in enumerate(read_indosum(folder / "indosum-dev")):
        if (position % 2 == 0) == fitting:
            yield " ".join(sentences)
    for split in (("train",) if fitting else ("dev", "test")):
        for tokens, _tags in read_conll(folder / "idner-news-2k" / f"{split}.txt"):
            yield detokenize(tokens)


def _register_texts() -> Iterator[str]:
    from monitor.config import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "feeds.yaml")
    for agency in config.agencies:
        yield agency.name
        yield from (getattr(agency, "aliases", None) or [])
        yield from (getattr(agency, "abbreviations", None) or [])


def _used(tokenizer: E5Tokenizer, texts: Iterable[str]) -> tuple[set[int], int]:
    used: set[int] = set()
    batch: list[str] = []
    count = 0
    for text in texts:
        batch.append(text)
        if len(batch) == BATCH:
            used.update(i for ids in tokenizer.content_ids(batch) for i in ids)
            count += len(batch)
            batch = []
    if batch:
        used.update(i for ids in tokenizer.content_ids(batch) for i in ids)
        count += len(batch)
    return used, count


def parity(full: E5Tokenizer, restricted: E5Tokenizer, texts: list[str]) -> dict[str, float | int]:
    """Texts whose ids differ between the two tokenizers, and pieces that differ, over `texts`."""
    differing_texts = differing_pieces = pieces = 0
    for start in range(0, len(texts), BATCH):
        chunk = texts[start:start + BATCH]
        for a, b in zip(full.content_ids(chunk), restricted.content_ids(chunk), strict=True):
            pieces += len(a)
            if a != b:
                differing_texts += 1
                differing_pieces += sum(1 for x, y in zip(a, b) if x != y) + abs(len(a) - len(b))
    return {"texts": len(texts), "texts_identical": round(1 - differing_texts / max(len(texts), 1), 5),
            "pieces": pieces, "pieces_identical": round(1 - differing_pieces / max(pieces, 1), 6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--news-dir", type=Path, default=Path("../shared/data/news"))
    parser.add_argument("--sentiment-dir", type=Path, default=Path("../shared/data/sentiment"))
    args = parser.parse_args()
    started = time.perf_counter()
    bundle = read_bundle()
    full = E5Tokenizer(bundle, restricted=False)
    fitting = [*_news_texts(args.news_dir, True), *_sentiment_texts(args.sentiment_dir, "train"), *_register_texts()]
    used, count = _used(full, fitting)
    single = {i for i, piece in enumerate(bundle.pieces) if len(piece.replace("▁", "")) <= 1}
    latin = {i for i, piece in enumerate(bundle.pieces) if all(_latin(c) for c in piece)}
    special = {bundle.bos_id, bundle.eos_id, bundle.pad_id, bundle.unk_id, int(np.argmin(bundle.scores))}
    kept = np.array(sorted(used | single | latin | special), dtype=np.uint32)
    out = restricted_vocabulary_path()
    np.save(out, kept)
    restricted = E5Tokenizer(bundle, restricted=True)
    held_out = [*_news_texts(args.news_dir, False), *_sentiment_texts(args.sentiment_dir, "test")]
    report = {"pieces_kept": len(kept), "pieces_in_vocabulary": len(bundle.pieces), "used_by_fitting_texts": len(used),
              "single_character_pieces": len(single), "latin_pieces": len(latin), "fitting_texts": count,
              "held_out": parity(full, restricted, held_out),
              "fitting": parity(full, restricted, fitting[:20_000]),
              "sources": "fitting: IndoSum dev (even positions), idner-news-2k train, SmSA/NusaX/NewsMTSC train, the register; "
                         "held out: IndoSum dev (odd positions), idner-news-2k dev+test, SmSA/NusaX/NewsMTSC test",
              "seconds": round(time.perf_counter() - started, 1)}
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
