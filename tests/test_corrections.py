"""Analysts' corrections: stored with who/when/previous/new, applied by every view, named query, export and report,
kept across a re-analysis, and given back as labelled (sentence, agency) items."""

import datetime as dt

import pytest

from monitor.db import corrections
from monitor.db.store import Store, scalar
from monitor.outputs.export import Week, weekly_rows
from monitor.outputs.queries import run_named
from monitor.outputs.report import render_weekly

from helpers import batch

UTC = dt.UTC
WEEK = Week.parse("2026-W48")
T0 = dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def tone_row(article: str, agency: str, tone: str, version: str = "v1", at: dt.datetime = T0) -> dict:
    p = {"negative": (0.8, 0.1, 0.1), "neutral": (0.1, 0.8, 0.1), "positive": (0.1, 0.1, 0.8)}[tone]
    return {"article_id": article, "agency_id": agency, "model_version": version, "tone": tone, "p_negative": p[0],
            "p_neutral": p[1], "p_positive": p[2], "analyzed_at": at}


@pytest.fixture
def store(tmp_path) -> Store:
    """Four articles of W48: a1 names KPK (negative; one sentence) and the Polri unit Polda Metro Jaya (neutral), a2
    names KPK (positive), a3 names Polri (negative), a4 names KPK (neutral); two sentences each but a1's KPK."""
    articles, mentions, tones = [], [], []
    for n, (agency_tones) in enumerate([{"kpk": "negative", "polda-metro": "neutral"}, {"kpk": "positive"},
                                         {"polri": "negative"}, {"kpk": "neutral"}], start=1):
        aid = f"a{n}"
        articles.append({"article_id": aid, "url": f"https://contoh.test/{n}", "title": f"Judul berita {n}",
                         "outlet": "Warta Uji", "published_at": T0 + dt.timedelta(hours=n), "fetched_at": T0,
                         "status": "ok", "cluster_id": aid, "text": f"Kalimat pertama {n}. Kalimat kedua {n}."})
        for agency, tone in agency_tones.items():
            sentences = [f"Kalimat pertama {n}."] + ([f"Kalimat kedua {n}."] if (aid, agency) != ("a1", "kpk") else [])
            mentions.append({"article_id": aid, "agency_id": agency, "mention_count": 1, "sentences": sentences})
            tones.append(tone_row(aid, agency, tone))
    agencies = [{"agency_id": "kpk", "name": "Komisi Pemberantasan Korupsi"},
                {"agency_id": "polri", "name": "Kepolisian Negara Republik Indonesia"},
                {"agency_id": "polda-metro", "name": "Polda Metro Jaya", "parent": "polri"}]
    store = Store(tmp_path / "c.duckdb")
    store.write(batch(articles=articles, mentions=mentions, mention_tone=tones, agencies=agencies))
    return store


def correct(store: Store, **kwargs) -> None:
    with store.session() as con:
        corrections.record_correction(con, user="ani", **kwargs)


def daily(store: Store, agency: str) -> dict:
    with store.session(read_only=True) as con:
        columns, rows = run_named(con, "daily", agency, WEEK.start, WEEK.end)
    return {k: sum(dict(zip(columns, r))[k] for r in rows) for k in ("mentions", "negative", "neutral", "positive", "corrected")}


def test_a_tone_correction_is_stored_with_who_when_and_the_previous_value(store):
    correct(store, article_id="a1", agency_id="kpk", kind="tone", new_value="positive", note="klarifikasi, bukan kritik")
    with store.session(read_only=True) as con:
        (row,) = corrections.history(con, "a1")
    assert (row["kind"], row["previous_value"], row["new_value"], row["user_name"]) == ("tone", "negative", "positive", "ani")
    assert row["note"] == "klarifikasi, bukan kritik" and row["created_at"] is not None
    assert daily(store, "kpk") == {"mentions": 3, "negative": 0, "neutral": 1, "positive": 2, "corrected": 1}


def test_the_newest_correction_applies_and_the_previous_value_chains(store):
    correct(store, article_id="a2", agency_id="kpk", kind="tone", new_value="negative", now=T0)
    correct(store, article_id="a2", agency_id="kpk", kind="tone", new_value="neutral", now=T0 + dt.timedelta(minutes=1))
    with store.session(read_only=True) as con:
        rows = corrections.history(con, "a2")
        assert [(r["previous_value"], r["new_value"]) for r in rows] == [("negative", "neutral"), ("positive", "negative")]
        assert scalar(con, "SELECT tone FROM agency_mentions WHERE article_id = 'a2' AND agency_id = 'kpk'") == "neutral"


def test_a_wrong_mention_leaves_every_figure_and_right_brings_it_back(store):
    correct(store, article_id="a4", agency_id="kpk", kind="mention", new_value="wrong", note="KPK di sini nama koperasi")
    assert daily(store, "kpk")["mentions"] == 2
    with store.session(read_only=True) as con:
        assert corrections.counts(con, WEEK.start, WEEK.end, ["kpk"]) == corrections.CorrectionCounts(tone=0, removed=1)
    correct(store, article_id="a4", agency_id="kpk", kind="mention", new_value="right", now=dt.datetime.now(UTC) + dt.timedelta(seconds=1))
    assert daily(store, "kpk")["mentions"] == 3


def test_an_irrelevant_article_leaves_every_agency_including_the_rolled_up_parent(store):
    assert daily(store, "polri")["mentions"] == 2  # a3 itself and a1 through Polda Metro Jaya
    correct(store, article_id="a1", agency_id=None, kind="article", new_value="irrelevant")
    assert daily(store, "polri")["mentions"] == 1 and daily(store, "kpk")["mentions"] == 2


def test_a_unit_tone_correction_reaches_its_parent(store):
    correct(store, article_id="a1", agency_id="polda-metro", kind="tone", new_value="negative")
    assert daily(store, "polri") == {"mentions": 2, "negative": 2, "neutral": 0, "positive": 0, "corrected": 1}


@pytest.mark.parametrize("kwargs, message", [
    ({"article_id": "a1", "agency_id": "kpk", "kind": "tone", "new_value": "sangat buruk"}, "value must be one of"),
    ({"article_id": "a1", "agency_id": "bnpb", "kind": "tone", "new_value": "negative"}, "no mention of agency"),
    ({"article_id": "zzz", "agency_id": "kpk", "kind": "tone", "new_value": "negative"}, "no article"),
    ({"article_id": "a1", "agency_id": "kpk", "kind": "article", "new_value": "irrelevant"}, "names no agency"),
    ({"article_id": "a1", "agency_id": "kpk", "kind": "sentimen", "new_value": "negative"}, "unknown correction kind"),
    ({"article_id": "a1", "agency_id": "kpk", "kind": "tone", "new_value": "negative", "note": "x" * 1001}, "at most 1000"),
])
def test_a_bad_correction_is_refused_with_the_reason_and_nothing_is_stored(store, kwargs, message):
    with store.session() as con, pytest.raises(corrections.CorrectionError, match=message):
        corrections.record_correction(con, user="ani", **kwargs)
    with store.session() as con, pytest.raises(corrections.CorrectionError, match="needs the user"):
        corrections.record_correction(con, user=" ", article_id="a1", agency_id="kpk", kind="tone", new_value="neutral")
    with store.session(read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM corrections") == 0


def test_a_reanalysis_with_a_new_model_keeps_the_correction(store):
    correct(store, article_id="a1", agency_id="kpk", kind="tone", new_value="positive")
    later = dt.datetime.now(UTC) + dt.timedelta(minutes=5)
    store.write(batch(mention_tone=[tone_row("a1", "kpk", "negative", "v2", later), tone_row("a2", "kpk", "negative", "v2", later)]))
    with store.session(read_only=True) as con:
        assert scalar(con, "SELECT tone FROM agency_mentions WHERE article_id = 'a1' AND agency_id = 'kpk'") == "positive"
        assert scalar(con, "SELECT tone FROM agency_mentions WHERE article_id = 'a2' AND agency_id = 'kpk'") == "negative"
        assert scalar(con, "SELECT count(*) FROM corrections") == 1


def test_export_and_report_use_the_corrected_values_and_say_how_many(store):
    with store.session(read_only=True) as con:
        before = {r["agency_id"]: r for r in weekly_rows(con, WEEK, None)[0]}
    correct(store, article_id="a1", agency_id="kpk", kind="tone", new_value="positive")
    correct(store, article_id="a4", agency_id="kpk", kind="mention", new_value="wrong")
    with store.session(read_only=True) as con:
        summary, stories = weekly_rows(con, WEEK, None)
        page = render_weekly(con, WEEK, None)
    kpk = {r["agency_id"]: r for r in summary}["kpk"]
    assert (before["kpk"]["net_tone"], kpk["net_tone"]) == (0.0, 1.0)
    assert (kpk["mentions"], kpk["tones_corrected"], kpk["mentions_removed_by_analysts"]) == (2, 1, 1)
    flagged = [s for s in stories if s["agency_id"] == "kpk"]
    assert sorted((s["url"][-1], s["tone_toward_agency"], s["tone_corrected"]) for s in flagged) == [
        ("1", "positive", "yes"), ("2", "positive", "")]
    assert "Koreksi analis dipakai: 1 nada diubah, 1 sebutan dihapus" in page


def test_named_stories_and_weekly_carry_the_corrected_count(store):
    correct(store, article_id="a2", agency_id="kpk", kind="tone", new_value="negative")
    with store.session(read_only=True) as con:
        columns, rows = run_named(con, "top-negative", "kpk", WEEK.start, WEEK.end)
        assert sorted((r[columns.index("title")], r[columns.index("corrected")]) for r in rows) == [
            ("Judul berita 1", 0), ("Judul berita 2", 1)]
        columns, rows = run_named(con, "weekly", "kpk", WEEK.start, WEEK.end)
        assert [r[columns.index("corrected")] for r in rows] == [1]


def test_tone_items_label_a_mention_s_one_sentence_and_leave_out_several(store):
    correct(store, article_id="a1", agency_id="kpk", kind="tone", new_value="positive")
    correct(store, article_id="a2", agency_id="kpk", kind="tone", new_value="negative")  # two sentences: the article's tone
    correct(store, article_id="a3", agency_id="polri", kind="tone", new_value="neutral")
    correct(store, article_id="a3", agency_id=None, kind="article", new_value="irrelevant")  # removed later: left out
    with store.session(read_only=True) as con:
        items = corrections.tone_items(con)
        assert corrections.multi_sentence_corrections(con) == 1
    assert [(i["article_id"], i["agency_id"], i["sentence_index"], i["label"], i["text"]) for i in items] == [
        ("a1", "kpk", 0, "positive", "Kalimat pertama 1.")]


def test_training_with_corrections_adds_each_corrected_sentence_toward_its_agency(store, tmp_path):
    from monitor.training.train_tone import REAL_WEIGHT, TrainingSources, tone_datasets

    from helpers import tiny_sentiment_layout

    correct(store, article_id="a1", agency_id="kpk", kind="tone", new_value="positive")
    with store.session(read_only=True) as con:
        items = tuple((i["text"], i["label"], i["agency_id"]) for i in corrections.tone_items(con))
    shared, news = tiny_sentiment_layout(tmp_path, [("bagus sekali", "positive"), ("buruk sekali", "negative"), ("biasa saja", "neutral")])
    names = {"kpk": "Komisi Pemberantasan Korupsi (KPK)"}
    plain = tone_datasets(TrainingSources(shared, news), names)
    with_corrections = tone_datasets(TrainingSources(shared, news, corrections=items), names)
    added = with_corrections.train[len(plain.train):]
    assert [(e.text, e.label, e.target) for e in added] == [("Kalimat pertama 1.", "positive", "Komisi Pemberantasan Korupsi (KPK)")]
    assert with_corrections.train_weights[len(plain.train):] == [REAL_WEIGHT]
    assert with_corrections.validation.keys() == plain.validation.keys()  # corrections train, never choose the epoch
    with pytest.raises(ValueError, match="not in the register"):
        tone_datasets(TrainingSources(shared, news, corrections=(("x", "negative", "zzz"),)), names)
