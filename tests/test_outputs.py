"""Views, named queries, exports and the report against a small fixed database built here (known counts, known
tones, a week boundary in WIB that differs from UTC, hostile titles, an empty week)."""

import base64
import csv
import datetime as dt
import re

import pytest
from openpyxl import load_workbook

from monitor.db.store import Store
from monitor.outputs.export import Week, neutralise, write_weekly
from monitor.outputs.queries import read_only_connection, run_named
from monitor.outputs.report import write_weekly_report

from helpers import batch

UTC = dt.UTC
HOSTILE = ['=HYPERLINK("http://evil.example.com","klik")', "+62 812 3456", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR",
           'Judul "berkutip", dengan koma; dan titik koma']


def build(tmp_path):
    """KPK: 3 articles in 2026-W48 (WIB) incl. one published Sunday 22 Nov 18:00 UTC = Monday 01:00 WIB; 1 in W47.
    Polri: 1 mention per day for 28 days before 24 Nov, then 8 on 24 Nov (a volume spike). Titles include hostile cells."""
    store = Store(tmp_path / "o.duckdb")
    articles, mentions, tones, analysis = [], [], [], []

    def add(aid, ts, agency, tone, title, outlet="Warta Uji", cluster=None, topics=("korupsi-hukum",)):
        articles.append({"article_id": aid, "url": f"https://contoh.test/{aid}", "title": title, "outlet": outlet,
                         "published_at": ts, "fetched_at": ts, "status": "ok", "cluster_id": cluster or aid})
        mentions.append({"article_id": aid, "agency_id": agency, "mention_count": 1, "in_title": True, "in_lead": True,
                         "forms": [], "sentences": [title], "legacy_name": False})
        p = {"negative": (0.8, 0.1, 0.1), "neutral": (0.1, 0.8, 0.1), "positive": (0.1, 0.1, 0.8)}[tone]
        tones.append({"article_id": aid, "agency_id": agency, "model_version": "v1", "tone": tone, "p_negative": p[0],
                      "p_neutral": p[1], "p_positive": p[2], "sentences_scored": 1, "analyzed_at": ts})
        analysis.append({"article_id": aid, "model_version": "v1", "tone": tone, "p_negative": p[0], "p_neutral": p[1],
                         "p_positive": p[2], "topics": list(topics), "topic_scores": [0.9] * len(topics), "analyzed_at": ts})

    add("k1", dt.datetime(2026, 11, 22, 18, 0, tzinfo=UTC), "kpk", "negative", HOSTILE[0])  # Monday 01:00 WIB
    add("k2", dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC), "kpk", "negative", HOSTILE[6], cluster="k1")
    add("k3", dt.datetime(2026, 11, 25, 3, 0, tzinfo=UTC), "kpk", "positive", "KPK dipuji publik", outlet="Kabar Lain")
    add("k0", dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC), "kpk", "neutral", "KPK periksa saksi")  # Sunday 17:00 WIB: W47
    for day in range(28):
        ts = dt.datetime(2026, 10, 27, 3, 0, tzinfo=UTC) + dt.timedelta(days=day)
        add(f"p{day}", ts, "polri", "neutral", f"Polri hari {day}", topics=("keamanan",))
    for n, title in enumerate(HOSTILE[1:6] + ["a", "b", "c"]):
        add(f"s{n}", dt.datetime(2026, 11, 24, 5, n, tzinfo=UTC), "polri", "negative", title, topics=("keamanan",))
    store.write(batch(articles=articles, mentions=mentions, mention_tone=tones, article_analysis=analysis,
                      agencies=[{"agency_id": "kpk", "name": "Komisi Pemberantasan Korupsi", "type": "lembaga_negara"},
                              {"agency_id": "polri", "name": "Kepolisian Negara Republik Indonesia", "type": "lembaga_negara"}]))
    return str(tmp_path / "o.duckdb")


@pytest.fixture
def con(tmp_path):
    connection = read_only_connection(build(tmp_path))
    yield connection
    connection.close()


W48 = Week.parse("2026-W48")


def test_daily_view_cuts_days_in_wib_and_counts_tone(con):
    columns, rows = run_named(con, "daily", "kpk", dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    table = [dict(zip(columns, r)) for r in rows]
    assert [(r["day"], r["mentions"], r["stories"], r["negative"], r["positive"], r["net_tone"]) for r in table] == [
        (dt.date(2026, 11, 22), 1, 1, 0, 0, 0.0), (dt.date(2026, 11, 23), 1, 1, 1, 0, -1.0),
        (dt.date(2026, 11, 24), 1, 1, 1, 0, -1.0), (dt.date(2026, 11, 25), 1, 1, 0, 1, 1.0)]


def test_weekly_view_uses_wib_weeks_and_week_over_week_change(con):
    columns, rows = run_named(con, "weekly", "kpk", dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    weeks = {r[columns.index("week")]: dict(zip(columns, r)) for r in rows}
    assert weeks["2026-W47"]["mentions"] == 1 and weeks["2026-W48"]["mentions"] == 3  # UTC would put k1 in W47
    assert weeks["2026-W48"]["stories"] == 2  # k1 and k2 are one story over two days
    assert weeks["2026-W48"]["mentions_change"] == 2 and weeks["2026-W48"]["net_tone"] == round(-1 / 3, 3)


def test_share_of_voice_topics_outlets_and_top_stories(con):
    columns, rows = run_named(con, "share-of-voice", None, dt.date(2026, 11, 24), dt.date(2026, 11, 25))
    assert {r[0]: r[3] for r in rows} == {"polri": 0.8889, "kpk": 0.1111}
    _, topics = run_named(con, "topics", "polri", dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert topics == [("polri", "keamanan", 23 + 8)]  # 1 a day from 1 Nov to 23 Nov, then 8
    _, outlets = run_named(con, "outlets", "kpk", dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    assert outlets == [("kpk", "Warta Uji", 2, 2), ("kpk", "Kabar Lain", 1, 0)]
    _, negative = run_named(con, "top-negative", "kpk", dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    assert len(negative) == 1 and negative[0][2] == HOSTILE[0]  # two articles, one story (same cluster)
    _, positive = run_named(con, "top-positive", None, dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    assert [(r[0], r[2], r[6]) for r in positive] == [("kpk", "KPK dipuji publik", 0.8)]


def test_spike_rule_flags_the_volume_jump_and_nothing_else(con):
    columns, rows = run_named(con, "spikes", None, dt.date(2026, 10, 1), dt.date(2026, 12, 1))
    spikes = [dict(zip(columns, r)) for r in rows]
    assert [(s["agency_id"], s["day"], s["mentions"]) for s in spikes] == [("polri", dt.date(2026, 11, 24), 8)]
    assert spikes[0]["volume_spike"] and spikes[0]["negative_spike"] and spikes[0]["vol_median"] == 1


def test_named_queries_bind_parameters(con):
    _, rows = run_named(con, "daily", "kpk' OR '1'='1", dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    assert rows == []
    with pytest.raises(KeyError):
        run_named(con, "drop table articles", None, dt.date(2026, 1, 1), dt.date(2027, 1, 1))


def test_read_only_connection_refuses_writes_and_files(con):
    import duckdb

    with pytest.raises(duckdb.Error):
        con.execute("DELETE FROM articles")
    with pytest.raises(duckdb.Error, match="disabled"):
        con.execute("SELECT * FROM read_csv('/etc/hostname')")


@pytest.mark.parametrize("cell", HOSTILE[:6])
def test_neutralise_every_trigger(cell):
    assert neutralise(cell).startswith("'") and neutralise(cell)[1:] == cell
    assert neutralise("KPK") == "KPK" and neutralise(-0.5) == -0.5


def test_csv_export_is_excel_safe_and_has_the_documented_schema(con, tmp_path):
    now = dt.datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    summary_path, stories_path = write_weekly(con, W48, None, tmp_path / "exports", "csv", now)
    assert summary_path.name == "monitor-weekly-2026-W48-all-agencies-20261130T010000Z-summary.csv"
    raw = summary_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    summary = list(csv.DictReader(open(summary_path, encoding="utf-8-sig")))
    kpk = next(r for r in summary if r["agency_id"] == "kpk")
    assert (kpk["mentions"], kpk["stories"], kpk["negative"], kpk["mentions_previous_week"], kpk["mentions_change"]) == ("3", "2", "2", "1", "2")
    assert kpk["net_tone"] == str(round(-1 / 3, 3)) and kpk["net_tone_change"] == str(round(-1 / 3, 3))
    polri = next(r for r in summary if r["agency_id"] == "polri")
    assert polri["spike_days"] == "2026-11-24" and polri["top_topics"] == "keamanan (9)"  # 23 Nov (1) + 24 Nov (8)
    stories = list(csv.DictReader(open(stories_path, encoding="utf-8-sig", newline="")))
    titles = {r["title"] for r in stories}
    for hostile in HOSTILE[:6]:
        assert "'" + hostile in titles  # neutralised, content kept
    assert HOSTILE[6] in titles  # quotes, commas and semicolons survive quoting
    first = next(r for r in stories if r["url"].endswith("/k1"))
    assert first["date_wib"] == "2026-11-23 01:00" and first["tone_toward_agency"] == "negative"
    assert {r["date_from"] for r in stories} == {"feed"}
    assert all(line.startswith('"') and line.endswith('"') for line in summary_path.read_text(encoding="utf-8-sig").splitlines())


def test_xlsx_export_cells_are_text_not_formulas(con, tmp_path):
    (path,) = write_weekly(con, W48, ["polri"], tmp_path, "xlsx", dt.datetime(2026, 11, 30, tzinfo=UTC))
    assert path.name.startswith("monitor-weekly-2026-W48-polri-")
    book = load_workbook(path)
    assert book.sheetnames == ["Parameter", "Ringkasan", "Berita"]
    cells = [c.value for row in book["Berita"].iter_rows(min_row=2) for c in row]
    assert "'" + HOSTILE[0 + 1] in cells and not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert all(c.data_type != "f" for row in book["Berita"].iter_rows() for c in row)


def test_empty_week_gives_valid_files_not_a_crash(con, tmp_path):
    empty = Week.parse("2026-W10")
    summary, stories = write_weekly(con, empty, None, tmp_path, "csv")
    assert summary.read_text(encoding="utf-8-sig").splitlines() == ['"' + '","'.join(
        ["agency_id", "agency_name", "mentions", "stories", "positive", "neutral", "negative", "net_tone",
         "mentions_previous_week", "mentions_change", "net_tone_previous_week", "net_tone_change", "top_topics", "spike_days",
         "tones_corrected", "mentions_removed_by_analysts"]) + '"']
    report = write_weekly_report(con, empty, None, tmp_path / "kosong.html")
    assert "Tidak ada pemberitaan" in report.read_text(encoding="utf-8")


def test_export_paths_stay_inside_the_output_directory(con, tmp_path):
    with pytest.raises(ValueError):
        write_weekly(con, W48, ["../../etc"], tmp_path, "csv")
    with pytest.raises(ValueError):
        write_weekly_report(con, W48, None, tmp_path / "laporan.exe")


def test_report_opens_with_the_answer_and_details_only_followed_agencies(con, tmp_path):
    path = write_weekly_report(con, W48, None, tmp_path / "laporan.html", dt.datetime(2026, 11, 30, tzinfo=UTC),
                               followed=["kpk", "polri"])
    page = path.read_text(encoding="utf-8")
    overview = page[page.index("id='ringkasan'"):page.index("id='peringkat'")]
    # W48 (WIB): KPK 3 articles in 2 stories, Polri 9 (1 on Monday, 8 on Tuesday); W47: KPK 1, Polri 7
    assert "<b>11 cerita unik</b> (12 berita, +4 dari minggu lalu) tentang 2 instansi" in overview
    assert "1 lonjakan</b>: Kepolisian Negara Republik Indonesia (2026-11-24)" in overview
    ranked = page[page.index("id='peringkat'"):page.index("id='tanggapi'")]
    assert ranked.index("Komisi Pemberantasan Korupsi") < ranked.index("Kepolisian Negara")  # followed order first
    assert ranked.count("title='dipantau'>★") == 2 and ranked.count("<svg class='spark'") == 2
    answer = page[page.index("id='tanggapi'"):]
    assert "=HYPERLINK(&quot;http://evil.example.com&quot;" in answer  # escaped text, not markup
    assert "<section class='agency' id='instansi-polri'>" in page and "id='instansi-kpk'" not in page  # 3 mentions: compact
    assert "Instansi dipantau dengan sedikit berita" in page and "Lonjakan:</b> 2026-11-24" in page
    # Polri's volume has two days this week: words, not a one-bar chart; its 4-week net tone has 29 days: a chart
    assert "Berita per hari: 23/11 (1), 24/11 (8)." in page
    assert page.count("<img ") == 1 and page.count("src='data:image/svg+xml;base64,") == 1
    assert not re.search(r"src=['\"]https?:", page) and "<script" not in page and "width=device-width" in page


def test_report_without_followed_agencies_says_how_to_get_sections(con, tmp_path):
    page = write_weekly_report(con, W48, None, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "class='agency'" not in page and "settings.follow" in page and "id='peringkat'" in page


def test_pdf_has_the_ranked_table_first_links_and_inert_titles(con, tmp_path, caplog):
    from pypdf import PdfReader

    caplog.set_level("WARNING", logger="weasyprint")
    write_weekly_report(con, W48, None, tmp_path / "laporan.pdf", followed=["polri"])
    reader = PdfReader(tmp_path / "laporan.pdf")
    first = reader.pages[0].extract_text()
    assert reader.pages[-1].extract_text().startswith("Kepolisian Negara Republik Indonesia\n9 berita")  # own page
    assert "Peringkat instansi" in first and "Kepolisian Negara Republik Indonesia" in first
    assert '=HYPERLINK("http://evil.example.com","klik")' in first  # shown as text
    links = {a.get_object()["/A"]["/URI"] for page in reader.pages for a in page.get("/Annots", [])}
    assert "https://contoh.test/k1" in links and not any("evil" in link for link in links)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []  # no noise in the logs


def test_report_figures_hold_on_awkward_data(tmp_path):
    """A story that began last week and is carried this week; articles naming two agencies; mentions not scored
    yet; a followed agency quiet this week; a bidi override in an outlet name."""
    store = Store(tmp_path / "w.duckdb")
    rows = {"articles": [], "mentions": [], "mention_tone": []}

    def add(aid, ts, agencies, tone=None, outlet="Warta", cluster=None):
        rows["articles"].append({"article_id": aid, "url": f"https://contoh.test/{aid}", "title": f"Judul {aid}",
                                 "outlet": outlet, "published_at": ts, "fetched_at": ts, "status": "ok",
                                 "cluster_id": cluster or aid})
        for agency in agencies:
            rows["mentions"].append({"article_id": aid, "agency_id": agency, "mention_count": 1})
            if tone:
                rows["mention_tone"].append({"article_id": aid, "agency_id": agency, "model_version": "v1", "tone": tone,
                                             "p_negative": 0.9 if tone == "negative" else 0.1, "p_neutral": 0.1,
                                             "p_positive": 0.1, "analyzed_at": ts})

    monday = dt.datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    add("old", monday - dt.timedelta(days=1), ["kpk"], "negative", cluster="big")  # Sunday of W47
    for n in range(5):
        add(f"pick{n}", monday + dt.timedelta(days=1, hours=n), ["kpk"], "negative", outlet=f"Media {n}", cluster="big")
    for n in range(6):
        add(f"both{n}", monday + dt.timedelta(days=n), ["kpk", "polri"], None, outlet="Media \u202eRTL")
    add("bnpb-old", monday - dt.timedelta(days=3), ["bnpb"], "negative")
    store.write(batch(**rows, agencies=[{"agency_id": "kpk", "name": "KPK"}, {"agency_id": "polri", "name": "Polri"},
                                        {"agency_id": "bnpb", "name": "Badan Nasional Penanggulangan Bencana"}]))
    con = read_only_connection(str(tmp_path / "w.duckdb"))
    try:
        page = write_weekly_report(con, W48, None, tmp_path / "r.html", followed=["kpk", "bnpb"]).read_text(encoding="utf-8")
    finally:
        con.close()
    # 11 articles this week (6 name two agencies: counted once), 2 last week
    # 11 articles this week (6 name two agencies: each counted once) in 7 stories; 2 articles last week
    assert "<b>7 cerita unik</b> (11 berita, +9 dari minggu lalu) tentang 2 instansi." in page
    section = page[page.index("id='instansi-kpk'"):].split("</section>")[0]
    # the story that began on Sunday of last week and is carried by five outlets this week is the first to read
    assert "<li><a href=\"https://contoh.test/pick0\" rel=\"noopener noreferrer\">Judul pick0</a> <span class='muted'>" \
           "— Media 0, 5 media, nada <span class='neg'>▼ negatif</span>" in section
    volume_chart = base64.b64decode(re.search(r"src='data:image/svg\+xml;base64,([^']+)'", section).group(1)).decode()
    assert "Belum dinilai" in volume_chart  # the six mentions not scored yet are drawn, not dropped
    ranked = page[page.index("id='peringkat'"):page.index("id='tanggapi'")]
    assert "Badan Nasional Penanggulangan Bencana</td><td>0 <span class='muted'>(−1)</span>" in ranked  # quiet, followed
    assert "\u202e" not in page and "Media  RTL" not in page and "Media RTL" in page


def test_units_roll_up_into_their_parent_or_show_alone(tmp_path):
    """A Polres mention counts for Polri unless Polri is named in the same article; --no-units shows each alone;
    two units of one parent in one article are one article for the parent, with the more negative tone."""
    store = Store(tmp_path / "u.duckdb")
    day = dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    rows = {"articles": [], "mentions": [], "mention_tone": []}
    for aid, agency, tone in (("a1", "polri-polres", "negative"), ("a2", "polri-polres", "neutral"), ("a2", "polri", "positive"),
                              ("a3", "polri-polres", "neutral"), ("a3", "polri-polda", "negative")):
        if aid not in {a["article_id"] for a in rows["articles"]}:
            rows["articles"].append({"article_id": aid, "url": f"https://contoh.test/{aid}", "title": aid, "status": "ok",
                                     "published_at": day, "fetched_at": day, "cluster_id": aid, "outlet": "Uji"})
        rows["mentions"].append({"article_id": aid, "agency_id": agency, "mention_count": 1})
        p_negative = {"negative": 0.8, "neutral": 0.1, "positive": 0.05}[tone]
        rows["mention_tone"].append({"article_id": aid, "agency_id": agency, "model_version": "v1", "tone": tone,
                                     "p_negative": p_negative, "p_neutral": 0.1, "p_positive": 0.1, "analyzed_at": day})
    agencies = [{"agency_id": "polri", "name": "Polri"}, {"agency_id": "polri-polres", "name": "Polres", "parent": "polri"},
                {"agency_id": "polri-polda", "name": "Polda", "parent": "polri"}]
    store.write(batch(**rows, agencies=agencies))
    con = read_only_connection(str(tmp_path / "u.duckdb"))
    try:
        daily = {r[0]: r[1:] for r in con.execute("SELECT agency_id, mentions, negative, positive FROM agency_daily").fetchall()}
        assert daily["polri"] == (3, 2, 1)  # a1 via Polres, a2 itself (positive), a3 once (its most negative unit)
        assert daily["polri-polres"] == (3, 1, 0)
        alone = dict(con.execute("SELECT agency_id, mentions FROM agency_daily_direct").fetchall())
        assert alone == {"polri": 1, "polri-polres": 3, "polri-polda": 1}
        assert con.execute("SELECT via FROM agency_mentions WHERE agency_id = 'polri' AND article_id = 'a3'").fetchall() == [("polri-polda",)]
        since, until = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
        columns, rolled = run_named(con, "daily", "polri", since, until)
        assert rolled[0][columns.index("mentions")] == 3
        columns, direct = run_named(con, "daily", "polri", since, until, units=False)
        assert direct[0][columns.index("mentions")] == 1
    finally:
        con.close()


def test_an_article_without_a_readable_date_is_marked_as_dated_by_its_fetch_time(tmp_path):
    store = Store(tmp_path / "d.duckdb")
    fetched = dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    store.write(batch(articles=[{"article_id": "x", "url": "https://contoh.test/x", "title": "Tanpa tanggal", "status": "ok",
                                 "published_at": None, "date_source": "unknown", "fetched_at": fetched, "cluster_id": "x"}],
                      mentions=[{"article_id": "x", "agency_id": "kpk", "mention_count": 1}],
                      agencies=[{"agency_id": "kpk", "name": "KPK"}]))
    con = read_only_connection(str(tmp_path / "d.duckdb"))
    try:
        assert con.execute("SELECT date_source, day FROM agency_mentions").fetchall() == [("unknown", dt.date(2026, 11, 24))]
        _summary, stories = write_weekly(con, W48, None, tmp_path / "e", "csv")
        (row,) = list(csv.DictReader(open(stories, encoding="utf-8-sig", newline="")))
        assert row["date_from"] == "fetch time"
    finally:
        con.close()


@pytest.mark.parametrize("character", ["\x16", "\x00", "\x0b", "\x1f", "\x7f", "\x85", "\ufffe"])
def test_exports_and_the_report_survive_characters_a_spreadsheet_cannot_hold(tmp_path, character):
    """xlsx-control-chars: one control character in a feed headline must not lose the week's export."""
    store = Store(tmp_path / "c.duckdb")
    day = dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    titles = {"a": f"Kemenkeu: penerimaan pajak naik Rp 400{character}triliun", "b": "Kemenkeu siapkan insentif pajak mobil listrik"}
    store.write(batch(articles=[{"article_id": k, "url": f"https://contoh.test/{k}", "title": t, "status": "fetch_failed",
                                 "published_at": day, "fetched_at": day, "cluster_id": k} for k, t in titles.items()],
                      mentions=[{"article_id": k, "agency_id": "kemenkeu", "mention_count": 1, "in_title": True} for k in titles],
                      agencies=[{"agency_id": "kemenkeu", "name": "Kementerian Keuangan"}]))
    con = read_only_connection(str(tmp_path / "c.duckdb"))
    try:
        (xlsx,) = write_weekly(con, W48, None, tmp_path / "out", "xlsx")
        cells = {c.value for row in load_workbook(xlsx)["Berita"].iter_rows(min_row=2) for c in row}
        assert {"Kemenkeu: penerimaan pajak naik Rp 400 triliun", titles["b"]} <= cells
        _summary, stories = write_weekly(con, W48, None, tmp_path / "out", "csv")
        assert "Rp 400 triliun" in stories.read_text(encoding="utf-8-sig")
        report = write_weekly_report(con, W48, None, tmp_path / "r.html").read_text(encoding="utf-8")
        assert character not in report and "Rp 400 triliun" in report
    finally:
        con.close()
