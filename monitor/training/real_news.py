"""Real Indonesian news for the tone corpus: readers, detokenisation and the candidate (sentence, agency) items.

Sources (read from ``../shared/data/news``, never copied into the repository; see models/data/real_tone/README.md):
- IndoSum development folds (Kurniawan & Louvan, 2018, CC BY-SA 4.0): tokenised articles, one JSON object a line.
  An article can sit in several folds: deduplicated by ``id``.
- idner-news-2k (Khairunnisa et al., 2020, MIT): CoNLL sentences (``token POS NER``), no article ids, so each
  sentence is its own unit for the at-most-three rule and for the splits.

Both are tokenised (spaces around punctuation). :func:`detokenize` (the Moses detokeniser from ``sacremoses``)
turns tokens back into running text, once, for labelling, training and evaluation alike, so the model sees text
shaped like the extracted pages it serves on.

An item id names its sentence without its text: ``indosum:<article id>:<sentence index>:<agency id>`` (index over
the article's sentences in order, paragraphs flattened) or ``idner:<split>:<sentence index>:<agency id>``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Keywords choose which candidates enter the pool (the guideline asks for >= 20% likely positive and >= 20% likely
# negative); they never decide a label. Stems, matched case-insensitively at a word start.
LIKELY_POSITIVE = ("apresiasi", "mengapresiasi", "berhasil", "keberhasilan", "sukses", "penghargaan", "prestasi",
                   "memuji", "pujian", "diapresiasi", "wtp", "wajar tanpa pengecualian", "melampaui target",
                   "tercapai", "terbaik", "membanggakan", "kepuasan", "dipercaya", "kepercayaan publik", "meraih",
                   "menyelamatkan", "cepat tanggap", "mendukung", "dukungan", "langkah tepat", "bangga", "inovasi",
                   "terima kasih", "meningkat", "peningkatan", "capai", "mencapai", "optimis", "membantu", "manfaat",
                   "bermanfaat", "apik", "positif", "baik", "tepat", "membaik", "percaya", "puas", "solusi")
LIKELY_NEGATIVE = ("kritik", "mengkritik", "dikritik", "kecam", "mengecam", "dikecam", "tersangka", "korupsi",
                   "suap", "gagal", "kegagalan", "protes", "demo", "unjuk rasa", "tuding", "menuding", "dituding",
                   "gugat", "menggugat", "digugat", "desak", "mendesak", "lamban", "bocor", "kebocoran", "lalai",
                   "kelalaian", "temuan", "penyimpangan", "dicopot", "mundur", "menyesalkan", "kecewa", "mengeluh",
                   "keluhan", "tidak becus", "buruk", "pelanggaran", "melanggar", "salah", "kisruh", "polemik",
                   "dilaporkan", "ditahan", "menolak", "persoalan", "masalah", "mangkrak", "boros")
_POSITIVE_RE = re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, LIKELY_POSITIVE)) + ")", re.I)
_NEGATIVE_RE = re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, LIKELY_NEGATIVE)) + ")", re.I)

MAX_ITEMS_PER_ARTICLE = 3  # tone-guideline.md: at most three items per article


@dataclass(frozen=True)
class NewsSentence:
    """One sentence of a real news document; ``doc_id`` groups sentences for splits and the per-article cap."""

    source: str          # "indosum" | "idner"
    doc_id: str          # IndoSum article id, or "<split>:<index>" for an idner sentence
    sentence_index: int  # position in the document (0 for idner)
    text: str
    previous: str        # the sentence before it in the same document ("" when none)
    day: dt.date | None = None  # publication day (IndoSum ids start with a Unix time); None for idner


@dataclass(frozen=True)
class Candidate:
    """A (sentence, agency) item to label. ``hint`` is the keyword hint used for pool enrichment only."""

    item_id: str
    source: str
    doc_id: str
    sentence_index: int
    agency_id: str
    forms: tuple[str, ...]  # the surface forms the matcher found, as written in the sentence
    text: str
    previous: str
    hint: str               # "positive" | "negative" | "both" | "none"


@lru_cache(maxsize=1)
def _detokenizer():
    from sacremoses import MosesDetokenizer  # optional: the training extra

    return MosesDetokenizer(lang="id")


def detokenize(tokens: list[str]) -> str:
    """Tokens -> running text (Moses rules: no space before , . ) %; quote pairs closed around their words)."""
    return _detokenizer().detokenize(tokens)


def read_indosum(folder: Path) -> Iterator[tuple[dict, list[str]]]:
    """(article object, its detokenised sentences in order), each article id once (first fold wins)."""
    seen: set[str] = set()
    for path in sorted(folder.glob("dev.0*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                article = json.loads(line)
                if article["id"] in seen:
                    continue
                seen.add(article["id"])
                yield article, [detokenize(s) for paragraph in article["paragraphs"] for s in paragraph]


def read_conll(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """(tokens, NER tags) per sentence of a CoNLL file with the tag in the last column."""
    tokens: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if tokens:
                yield tokens, tags
            tokens, tags = [], []
            continue
        parts = line.split()
        tokens.append(parts[0])
        tags.append(parts[-1])


def news_sentences(news_dir: Path) -> Iterator[NewsSentence]:
    """Every sentence of IndoSum (dev folds, deduplicated) and idner-news-2k, in a fixed order."""
    for article, sentences in read_indosum(news_dir / "indosum-dev"):
        day = indosum_day(article["id"])
        for index, text in enumerate(sentences):
            yield NewsSentence("indosum", article["id"], index, text, sentences[index - 1] if index else "", day)
    for split in ("train", "dev", "test"):
        for index, (tokens, _tags) in enumerate(read_conll(news_dir / "idner-news-2k" / f"{split}.txt")):
            yield NewsSentence("idner", f"{split}:{index}", 0, detokenize(tokens), "")


def indosum_day(article_id: str) -> dt.date | None:
    """IndoSum ids start with the article's Unix time ("1490674536-mustahil-..."): its UTC day, or None."""
    head = article_id.split("-", 1)[0]
    return dt.datetime.fromtimestamp(int(head), dt.UTC).date() if head.isdigit() else None


def keyword_hint(text: str) -> str:
    positive, negative = bool(_POSITIVE_RE.search(text)), bool(_NEGATIVE_RE.search(text))
    return "both" if positive and negative else "positive" if positive else "negative" if negative else "none"


def item_id(source: str, doc_id: str, sentence_index: int, agency_id: str) -> str:
    return f"{source}:{doc_id}:{sentence_index}:{agency_id}" if source == "indosum" else f"{source}:{doc_id}:{agency_id}"


def find_candidates(sentences: Iterable[NewsSentence], matcher) -> list[Candidate]:
    """Every (sentence, agency) pair the product's matcher finds (``matcher.find``), in document order."""
    found: list[Candidate] = []
    for sentence in sentences:
        by_agency: dict[str, list[str]] = {}
        for start, end, form in matcher.find(sentence.text, sentence.day):
            forms = by_agency.setdefault(form.agency_id, [])
            written = sentence.text[start:end]
            if written not in forms:
                forms.append(written)
        hint = keyword_hint(sentence.text) if by_agency else "none"
        for agency_id, forms in by_agency.items():
            found.append(Candidate(item_id(sentence.source, sentence.doc_id, sentence.sentence_index, agency_id),
                                   sentence.source, sentence.doc_id, sentence.sentence_index, agency_id,
                                   tuple(forms), sentence.text, sentence.previous, hint))
    return found


def select_per_document(candidates: list[Candidate], seed: int = 13,
                        limit: int = MAX_ITEMS_PER_ARTICLE, taken: dict[str, int] | None = None) -> list[Candidate]:
    """At most `limit` items per document (minus `taken[doc]` already chosen earlier), polar hints first.

    Among items of equal hint rank the choice is seeded-random, so the pool does not favour lead sentences only.
    """
    rng = random.Random(seed)
    rank = {"both": 0, "negative": 0, "positive": 0, "none": 1}
    by_doc: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_doc.setdefault(candidate.doc_id, []).append(candidate)
    chosen: list[Candidate] = []
    taken = taken or {}
    for doc_id, items in by_doc.items():
        room = limit - taken.get(doc_id, 0)
        if room <= 0:
            continue
        keyed = sorted(items, key=lambda c: (rank[c.hint], rng.random()))
        chosen.extend(sorted(keyed[:room], key=lambda c: (c.sentence_index, c.agency_id)))
    return chosen


SPLIT_SHARES = (("test", 20), ("valid", 15), ("train", 65))  # percent of documents


def split_of(source: str, doc_id: str) -> str:
    """train / valid / test for a document, from a hash of "source:doc_id": stable when items are added, and a
    document's items never straddle two splits (tone-guideline.md: split by article)."""
    bucket = int(hashlib.sha1(f"{source}:{doc_id}".encode()).hexdigest()[:8], 16) % 100
    for name, share in SPLIT_SHARES:
        if bucket < share:
            return name
        bucket -= share
    raise AssertionError("shares add up to 100")


TONE_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class LabelledItem:
    """One row of models/data/real_tone/labels.csv with its sentence text read back from ../shared/data/news."""

    item_id: str
    source: str
    doc_id: str
    sentence_index: int
    agency_id: str
    split: str
    label: str  # negative | neutral | positive | not_body
    text: str


def read_labels(path: Path) -> list[dict[str, str]]:
    """The label rows (ids and labels only; the sentence text is not in the repository)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def labelled_items(labels_csv: Path, news_dir: Path, *, tone_only: bool = True) -> list[LabelledItem]:
    """The corpus with texts. `tone_only` drops `not_body` rows (false mentions: no tone to learn). Raises
    FileNotFoundError when ../shared/data/news is missing and KeyError naming an item whose sentence is gone."""
    rows = read_labels(labels_csv)
    wanted = {(r["source"], r["doc_id"], int(r["sentence_index"])) for r in rows}
    texts = {(s.source, s.doc_id, s.sentence_index): s.text for s in news_sentences(news_dir)
             if (s.source, s.doc_id, s.sentence_index) in wanted}
    items = []
    for r in rows:
        if tone_only and r["label"] not in TONE_LABELS:
            continue
        key = (r["source"], r["doc_id"], int(r["sentence_index"]))
        if key not in texts:
            raise KeyError(f"{labels_csv}: no sentence for item {r['item_id']} in {news_dir}")
        items.append(LabelledItem(r["item_id"], r["source"], r["doc_id"], int(r["sentence_index"]), r["agency_id"],
                                  r["split"], r["label"], texts[key]))
    return items


def balanced_sample(items: list[LabelledItem], seed: int = 13) -> list[LabelledItem]:
    """Equal numbers per class (the size of the rarest), drawn from `items` with a fixed seed."""
    by_label: dict[str, list[LabelledItem]] = {}
    for item in items:
        by_label.setdefault(item.label, []).append(item)
    size = min(len(v) for v in by_label.values())
    rng = random.Random(seed)
    return [x for label in sorted(by_label) for x in rng.sample(by_label[label], size)]


NEWSMTSC_POLARITY = {2.0: "negative", 4.0: "neutral", 6.0: "positive"}


def newsmtsc_rows(path: Path, seed: int = 13) -> list[tuple[str, str, str]]:
    """(sentence, target mention, label) from a NewsMTSC JSON-lines file (Hamborg & Donnay, EACL 2021, MIT):
    one target per sentence, drawn with a fixed seed so every sentence counts once."""
    rng = random.Random(seed)
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            targets = [t for t in record["targets"] if t.get("polarity") in NEWSMTSC_POLARITY]
            if targets:
                target = rng.choice(targets)
                out.append((record["sentence_normalized"], target["mention"], NEWSMTSC_POLARITY[target["polarity"]]))
    return out
