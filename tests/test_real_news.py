"""The real-news tone corpus readers (monitor/training/real_news.py) on a miniature ../shared/data/news layout."""

import csv
import datetime as dt
import json
from collections import Counter

import pytest

from monitor.ingest.mentions import matcher_from_config
from monitor.training.real_news import (
    Candidate,
    balanced_sample,
    detokenize,
    find_candidates,
    indosum_day,
    keyword_hint,
    labelled_items,
    news_sentences,
    newsmtsc_rows,
    read_indosum,
    select_per_document,
    split_of,
)

from helpers import make_config

ARTICLE = {"id": "1490674536-kpk-periksa", "paragraphs": [
    [["KPK", "memeriksa", "pejabat", "dinas", "(", "PUPR", ")", ",", "Senin", "."],
     ["Juru", "bicara", "KPK", "menyebut", "pemeriksaan", "berjalan", "lancar", "."]],
    [["Warga", "mengapresiasi", "langkah", "itu", "."]]]}


@pytest.fixture
def news_dir(tmp_path):
    indosum = tmp_path / "indosum-dev"
    indosum.mkdir()
    other = {"id": "1490700000-banjir", "paragraphs": [[["BNPB", "mencatat", "banjir", "di", "Garut", "."]]]}
    (indosum / "dev.01.jsonl").write_text(json.dumps(ARTICLE) + "\n", encoding="utf-8")
    (indosum / "dev.02.jsonl").write_text(json.dumps(ARTICLE) + "\n" + json.dumps(other) + "\n", encoding="utf-8")
    idner = tmp_path / "idner-news-2k"
    idner.mkdir()
    (idner / "train.txt").write_text("Polri NNP B-ORG\nmenangkap VB O\npelaku NN O\n. Z O\n\n", encoding="utf-8")
    (idner / "dev.txt").write_text("", encoding="utf-8")
    (idner / "test.txt").write_text("BMKG NNP B-ORG\nmemperingatkan VB O\nhujan NN O\n. Z O\n", encoding="utf-8")
    return tmp_path


def test_tokens_become_running_text():
    assert detokenize(["KPK", "memeriksa", "pejabat", "(", "PUPR", ")", ",", "Senin", "."]) == \
        "KPK memeriksa pejabat (PUPR), Senin."


def test_an_article_in_two_folds_is_read_once_and_sentences_keep_their_order(news_dir):
    articles = list(read_indosum(news_dir / "indosum-dev"))
    assert [a["id"] for a, _ in articles] == ["1490674536-kpk-periksa", "1490700000-banjir"]
    assert articles[0][1][2] == "Warga mengapresiasi langkah itu."  # paragraphs flattened
    sentences = list(news_sentences(news_dir))
    assert [(s.source, s.doc_id, s.sentence_index) for s in sentences] == [
        ("indosum", "1490674536-kpk-periksa", 0), ("indosum", "1490674536-kpk-periksa", 1),
        ("indosum", "1490674536-kpk-periksa", 2), ("indosum", "1490700000-banjir", 0),
        ("idner", "train:0", 0), ("idner", "test:0", 0)]
    assert sentences[1].previous == sentences[0].text and sentences[0].day == dt.date(2017, 3, 28)


def test_candidates_come_from_the_products_matcher_and_at_most_three_per_article(news_dir):
    matcher = matcher_from_config(make_config([]))
    found = find_candidates(news_sentences(news_dir), matcher)
    assert {(c.doc_id, c.sentence_index, c.agency_id) for c in found} >= {
        ("1490674536-kpk-periksa", 0, "kpk"), ("1490674536-kpk-periksa", 1, "kpk"), ("train:0", 0, "polri")}
    many = [Candidate(f"x:{i}", "indosum", "doc", i, "kpk", ("KPK",), "teks", "", "negative" if i == 4 else "none")
            for i in range(6)]
    chosen = select_per_document(many)
    assert len(chosen) == 3 and 4 in {c.sentence_index for c in chosen}  # the likely-polar one is kept first
    assert select_per_document(many, taken={"doc": 3}) == []


def test_keyword_hints_choose_candidates_only():
    assert keyword_hint("Warga mengapresiasi langkah KPK") == "positive"
    assert keyword_hint("KPK menetapkan tersangka korupsi") == "negative"
    assert keyword_hint("KPK menggelar rapat") == "none"


def test_splits_are_by_document_stable_and_near_their_shares():
    assert split_of("indosum", "1490674536-kpk-periksa") == split_of("indosum", "1490674536-kpk-periksa")
    shares = Counter(split_of("indosum", f"doc-{i}") for i in range(4000))
    assert abs(shares["test"] / 4000 - 0.20) < 0.03 and abs(shares["valid"] / 4000 - 0.15) < 0.03


def write_labels(path, rows):
    fields = ["item_id", "source", "doc_id", "sentence_index", "agency_id", "split", "label"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(dict(zip(fields, row, strict=True)) for row in rows)


def test_labels_get_their_text_back_and_a_missing_sentence_is_named(news_dir, tmp_path):
    labels = tmp_path / "labels.csv"
    write_labels(labels, [("a", "indosum", "1490674536-kpk-periksa", 0, "kpk", "test", "neutral"),
                          ("b", "indosum", "1490674536-kpk-periksa", 2, "kpk", "test", "not_body"),
                          ("c", "idner", "train:0", 0, "polri", "train", "positive")])
    items = labelled_items(labels, news_dir)
    assert [(i.item_id, i.label, i.text) for i in items] == [
        ("a", "neutral", "KPK memeriksa pejabat dinas (PUPR), Senin."), ("c", "positive", "Polri menangkap pelaku.")]
    assert len(labelled_items(labels, news_dir, tone_only=False)) == 3
    write_labels(labels, [("d", "indosum", "1490674536-kpk-periksa", 9, "kpk", "test", "neutral")])
    with pytest.raises(KeyError, match="no sentence for item d"):
        labelled_items(labels, news_dir)


def test_a_balanced_sample_has_the_rarest_class_size_of_each(news_dir, tmp_path):
    labels = tmp_path / "labels.csv"
    rows = [(f"n{i}", "indosum", "1490674536-kpk-periksa", 0, "kpk", "test", "neutral") for i in range(5)]
    rows += [("p", "idner", "train:0", 0, "polri", "test", "positive"), ("q", "idner", "test:0", 0, "bmkg", "test", "positive"),
             ("g", "indosum", "1490700000-banjir", 0, "bnpb", "test", "negative"),
             ("h", "indosum", "1490674536-kpk-periksa", 1, "kpk", "test", "negative")]
    write_labels(labels, rows)
    sample = balanced_sample(labelled_items(labels, news_dir))
    assert Counter(i.label for i in sample) == {"negative": 2, "neutral": 2, "positive": 2}
    assert sample == balanced_sample(labelled_items(labels, news_dir))  # seeded


def test_newsmtsc_gives_one_target_per_sentence_with_its_polarity(tmp_path):
    path = tmp_path / "train.jsonl"
    records = [{"sentence_normalized": "The senator criticized the agency.",
                "targets": [{"mention": "the agency", "polarity": 2.0}, {"mention": "The senator", "polarity": 4.0}]},
               {"sentence_normalized": "Nothing to see.", "targets": [{"mention": "x", "polarity": 3.0}]}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    rows = newsmtsc_rows(path)
    assert len(rows) == 1 and rows[0][0] == "The senator criticized the agency."
    assert rows[0][1:] in {("the agency", "negative"), ("The senator", "neutral")}


def test_indosum_ids_carry_the_day():
    assert indosum_day("1490674536-mustahil-x") == dt.date(2017, 3, 28) and indosum_day("tanpa-waktu") is None
