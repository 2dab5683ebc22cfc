"""The weekly report a PR head reads in two minutes: one self-contained HTML file (or the same layout as an A4 PDF),
labelled in Indonesian.

Order (issue 19):
1. **The week in three lines**: unique stories and mentions (change from last week), net tone across all agencies
   and its change, the spikes.
2. **Ranked agencies**: followed agencies first (`settings.follow` / `follow: true`, in that order), then by
   mentions; up to `RANKED_ROWS` rows (the rest summed in one line): mentions (change), unique stories, net tone
   (change), and a four-week sparkline of daily mentions.
3. **Stories to answer first**, across agencies: the most negative story clusters, then the most carried ones
   (outlets), each with its outlet, the agencies it names and a link.
4. **Per-agency sections** only for the agencies asked for (`--agency`), else the followed ones, in that order:
   figures, a daily volume chart by tone and a four-week net-tone chart (charts only when a series has at least
   `charts.MIN_POINTS` days of data; otherwise a sentence says what there is), topics, spike days and the stories to
   read first. An agency with fewer than `LITTLE_COVERAGE` mentions gets a row in a compact table instead.
Net tone = (positive − negative) / toned mentions, −1…+1. Tone is never shown by colour alone (signs, words and
hatching carry it). The PDF (WeasyPrint) uses the same HTML with print rules: A4, a page per agency section; its
URL fetcher refuses everything but the embedded `data:` images, so nothing is fetched.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

from monitor.db.views import views_for
from monitor.localtime import LocalTime
from monitor.outputs.charts import enough_points, sparkline, tone_chart, volume_chart
from monitor.outputs.export import Week, clean_text, weekly_rows

RANKED_ROWS = 20
LITTLE_COVERAGE = 5
TOP_STORIES = 5
CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;padding:10px;
background:#f6f7f9;color:#1d2330;font-size:15px;line-height:1.4}main{max-width:820px;margin:auto}h1{font-size:1.3rem;margin:4px 0;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:0 0 8px;overflow-wrap:anywhere}section{background:#fff;border-radius:8px;padding:12px;margin:10px 0;box-shadow:0 1px 2px #0002}
img.chart{width:100%;max-width:480px;height:auto;display:block;margin:6px 0}.lines{margin:0;padding-left:18px}.lines li{margin:4px 0}
table{width:100%;border-collapse:collapse;table-layout:fixed;font-size:.9rem}th,td{padding:5px 4px;border-bottom:1px solid #e3e6ea;
text-align:right;vertical-align:middle;overflow-wrap:anywhere}th:first-child,td:first-child{text-align:left;width:38%}
th{font-size:.8rem;color:#556}.spark-cell{width:76px}svg.spark{display:block;margin-left:auto;width:100%;max-width:84px;height:22px}.neg{color:#b3261e}.pos{color:#1b7f3b}
ol{padding-left:20px;margin:4px 0}li{margin:6px 0;overflow-wrap:anywhere}a{color:#0b57d0}.muted{color:#5f6672;font-size:.85rem}
.kpi{display:flex;flex-wrap:wrap;gap:6px}.kpi div{background:#eef1f5;border-radius:6px;padding:5px 9px}
.spike{background:#fde7e7;border-radius:6px;padding:6px 10px}.star{color:#8a5a00}
@page{size:A4;margin:14mm}@media print{body{background:#fff;padding:0}section{box-shadow:none;border:1px solid #dde}
section.agency{break-before:page}tr,li{break-inside:avoid}}"""
# Phones only; left out of the PDF, whose renderer (WeasyPrint) warns on media queries with features.
NARROW_CSS = ("<style>@media screen and (max-width:480px){.narrow-hide{display:none}"
              "th:first-child,td:first-child{width:42%}.spark-cell{width:52px}}</style>")


def _t(value: str | None) -> str:
    """Untrusted text (titles, outlet and agency names) for the page: control and bidi characters removed, escaped."""
    return html.escape(clean_text(value or ""))


def _link(url: str | None, text: str) -> str:
    text = clean_text(text)
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">{html.escape(text)}</a>'
    return html.escape(text)


def _tone(value: float | None) -> str:
    """Net tone with a sign, an arrow and a word class: '▼ −0.50' (never colour alone)."""
    if value is None:
        return "–"
    if value < 0:
        return f"<span class='neg'>▼ −{abs(value):.2f}</span>"
    return f"<span class='pos'>▲ +{value:.2f}</span>" if value > 0 else "0.00"


def _signed(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    text = f"{abs(value):.{digits}f}"
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)


def _totals(con, week: Week, agencies: list[str] | None, units: bool) -> dict[str, tuple]:
    """This week's and last week's (articles, stories, positive, negative, toned mentions) across the agencies."""
    prev_start = week.start - dt.timedelta(days=7)
    # every agency at once: each agency's own mentions (a unit not counted again for its parent), articles once
    rows = con.execute(views_for(
        "SELECT day >= ? AS this_week, count(DISTINCT article_id), count(DISTINCT cluster_id), "
        "count(*) FILTER (tone = 'positive'), count(*) FILTER (tone = 'negative'), count(tone) FROM agency_mentions "
        "WHERE day >= ? AND day < ? AND (? OR agency_id IN (SELECT unnest(?::VARCHAR[]))) GROUP BY 1",
        units and agencies is not None), [week.start, prev_start, week.end, agencies is None, agencies or []]).fetchall()
    return {"this" if this else "prev": tuple(rest) for this, *rest in rows}


def _net(figures: tuple | None) -> float | None:
    return round((figures[2] - figures[3]) / figures[4], 3) if figures and figures[4] else None


def _daily(con, agencies: list[str], start: dt.date, end: dt.date, units: bool) -> dict[str, dict[dt.date, tuple]]:
    """agency -> day -> (mentions, positive, neutral, negative, net_tone) between start and end."""
    out: dict[str, dict[dt.date, tuple]] = {}
    for agency, day, *figures in con.execute(views_for(
            "SELECT agency_id, day, mentions, positive, neutral, negative, net_tone FROM agency_daily WHERE day >= ? "
            "AND day < ? AND agency_id IN (SELECT unnest(?::VARCHAR[]))", units), [start, end, agencies]).fetchall():
        out.setdefault(agency, {})[day] = tuple(figures)
    return out


def _top_stories(con, week: Week, agencies: list[str] | None, units: bool, names: dict[str, str]) -> tuple[list, list]:
    """(most negative, most carried) story clusters of the week across agencies."""
    rows = con.execute(views_for(
        "SELECT cluster_id, arg_min(title, ts), arg_min(url, ts), arg_min(outlet, ts), count(DISTINCT outlet), "
        "list(DISTINCT agency_id ORDER BY agency_id), count(*) FILTER (tone = 'negative'), max(p_negative) "
        "FROM agency_mentions WHERE day >= ? AND day < ? AND (? OR agency_id IN (SELECT unnest(?::VARCHAR[]))) "
        "GROUP BY cluster_id", units), [week.start, week.end, agencies is None, agencies or []]).fetchall()
    negative = sorted((r for r in rows if r[6]), key=lambda r: (-(r[7] or 0), -r[4], r[0]))[:TOP_STORIES]
    carried = sorted((r for r in rows if r not in negative), key=lambda r: (-r[4], -len(r[5]), r[0]))[:TOP_STORIES]

    def item(row) -> str:
        _, title, url, outlet, outlets, agency_ids, negatives, _ = row
        who = ", ".join(_t(names.get(a, a)) for a in agency_ids[:3]) + (" dll." if len(agency_ids) > 3 else "")
        return (f"<li>{_link(url, title or '(tanpa judul)')} <span class='muted'>— {_t(outlet)}, "
                f"dimuat {outlets} media; menyebut {who}" + ("; <span class='neg'>nada negatif</span>" if negatives else "")
                + "</span></li>")
    return [item(r) for r in negative], [item(r) for r in carried]


def _overview(summary: list[dict], totals: dict, spikes: list[tuple[str, str]]) -> str:
    this, prev = totals.get("this"), totals.get("prev")
    mentions, stories = (this[0], this[1]) if this else (0, 0)
    change = mentions - (prev[0] if prev else 0)
    net, net_prev = _net(this), _net(prev)
    tone_line = (f"Tonasi bersih keseluruhan {_tone(net)}" + (
        f" (minggu lalu {_tone(net_prev)}, berubah {_signed(round(net - net_prev, 2), 2)})"
        if net is not None and net_prev is not None else " (minggu lalu tidak ada berita bernada)")) if net is not None \
        else "Belum ada berita bernada minggu ini"
    worst = min((r for r in summary if r["net_tone"] is not None and r["mentions"] >= LITTLE_COVERAGE),
                key=lambda r: r["net_tone"], default=None)
    if worst is not None and worst["net_tone"] < 0:
        tone_line += f"; paling negatif: <b>{_t(worst['agency_name'])}</b> ({_tone(worst['net_tone'])})"
    spike_line = (f"<b>{len(spikes)} lonjakan</b>: " + ", ".join(f"{_t(n)} ({d})" for n, d in spikes[:6])
                  + (" …" if len(spikes) > 6 else "")) if spikes else "Tidak ada lonjakan pemberitaan."
    tones_set = sum(r["tones_corrected"] for r in summary)
    removed = sum(r["mentions_removed_by_analysts"] for r in summary)
    corrections_line = (f"<li id='koreksi'>Koreksi analis dipakai: {tones_set} nada diubah, {removed} sebutan dihapus.</li>"
                        if tones_set or removed else "")
    return ("<section id='ringkasan'><h2>Minggu ini</h2><ul class='lines'>"
            f"<li><b>{stories} cerita unik</b> ({mentions} berita, {_signed(change)} dari minggu lalu) tentang "
            f"{sum(1 for r in summary if r['mentions'])} instansi.</li><li>{tone_line}.</li><li>{spike_line}</li>"
            f"{corrections_line}</ul></section>")


def _ranked(summary: list[dict], first: Sequence[str], followed: set[str], daily: dict, days: list[dt.date]) -> str:
    """`first`: the agencies asked for or followed, in that order, before the others (by mentions); ★ marks the
    followed ones."""
    order = {agency: i for i, agency in enumerate(first)}
    ranked = sorted(summary, key=lambda r: (r["agency_id"] not in order, order.get(r["agency_id"], 0), -r["mentions"],
                                            r["agency_id"]))
    shown, rest = ranked[:RANKED_ROWS], ranked[RANKED_ROWS:]
    rows = []
    for r in shown:
        spark = sparkline([daily.get(r["agency_id"], {}).get(d, (0,))[0] for d in days])
        star = "<span class='star' title='dipantau'>★</span> " if r["agency_id"] in followed else ""
        rows.append(f"<tr><td>{star}{_t(r['agency_name'])}</td><td>{r['mentions']} "
                    f"<span class='muted'>({_signed(r['mentions_change'])})</span></td>"
                    f"<td class='narrow-hide'>{r['stories']}</td><td>{_tone(r['net_tone'])}"
                    + (f" <span class='muted'>({_signed(r['net_tone_change'], 2)})</span>" if r["net_tone_change"] is not None else "")
                    + f"</td><td class='spark-cell'>{spark}</td></tr>")
    more = (f"<p class='muted'>Dan {len(rest)} instansi lain dengan {sum(r['mentions'] for r in rest)} berita "
            "(semua ada di ekspor CSV/XLSX).</p>") if rest else ""
    return ("<section id='peringkat'><h2>Peringkat instansi</h2><table><thead><tr><th>Instansi</th><th>Berita (±)</th>"
            "<th class='narrow-hide'>Cerita unik</th><th>Tonasi (±)</th><th class='spark-cell'>Tren</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + more
            + "<p class='muted'>★ instansi yang dipantau. ± = perubahan dari minggu lalu. Tonasi bersih = (positif − "
              "negatif) / berita bernada, dari −1 sampai +1.</p></section>")


def _agency_section(con, row: dict, daily: dict[dt.date, tuple], week: Week, days: list[dt.date], units: bool) -> str:
    agency = row["agency_id"]
    week_days = [d for d in days if d >= week.start]
    counts = {name: [daily.get(d, (0, 0, 0, 0, None))[i] for d in week_days]
              for name, i in (("Negatif", 3), ("Netral", 2), ("Positif", 1))}
    volume = [daily.get(d, (0,))[0] for d in week_days]
    untoned = [v - sum(c[i] for c in counts.values()) for i, v in enumerate(volume)]
    if any(untoned):
        counts["Belum dinilai"] = untoned
    net = [daily[d][4] if d in daily else None for d in days]
    parts = [f"<section class='agency' id='instansi-{html.escape(agency)}'><h2>{_t(row['agency_name'])}</h2>"
             f"<div class='kpi'><div>{row['mentions']} berita ({_signed(row['mentions_change'])})</div>"
             f"<div>{row['stories']} cerita unik</div><div>{row['positive']} positif · {row['neutral']} netral · "
             f"{row['negative']} negatif</div><div>tonasi {_tone(row['net_tone'])}</div></div>"]
    if enough_points(volume):
        parts.append("<p class='muted'>Berita per hari menurut nada terhadap instansi</p><img class='chart' "
                     f"alt='Berita per hari menurut nada, {html.escape(agency)}' src='{volume_chart(week_days, counts)}'>")
    else:
        parts.append("<p class='muted'>Berita per hari: " + (", ".join(
            f"{d:%d/%m} ({v})" for d, v in zip(week_days, volume, strict=True) if v) or "tidak ada") + ".</p>")
    if enough_points(net, zero_is_data=True):
        parts.append("<p class='muted'>Tonasi bersih per hari, 4 minggu</p><img class='chart' "
                     f"alt='Tonasi bersih per hari, 4 minggu, {html.escape(agency)}' "
                     f"src='{tone_chart(days, net)}'>")
    else:
        parts.append("<p class='muted'>Tonasi bersih 4 minggu: terlalu sedikit hari bernada untuk grafik.</p>")
    if row["top_topics"]:
        parts.append(f"<p><b>Isu utama:</b> {html.escape(row['top_topics'])}</p>")
    if row["spike_days"]:
        parts.append(f"<p class='spike'><b>Lonjakan:</b> {html.escape(row['spike_days'])} — volume atau porsi berita "
                     "negatif jauh di atas kebiasaan 28 hari sebelumnya.</p>")
    # the week's mentions of each story (a story that began last week and is carried this week counts), filtered
    # by agency and day before grouping: the all-history `agency_stories` view would scan the agency's whole past
    stories = con.execute(views_for(
        "SELECT arg_min(title, ts), arg_min(url, ts), arg_min(outlet, ts), count(DISTINCT outlet) AS outlets, "
        "mode(tone) AS tone FROM agency_mentions WHERE agency_id = ? AND day >= ? AND day < ? GROUP BY cluster_id "
        "ORDER BY (mode(tone) = 'negative') DESC, max(p_negative) DESC NULLS LAST, outlets DESC, cluster_id LIMIT 5",
        units), [agency, week.start, week.end]).fetchall()
    if stories:
        parts.append("<p><b>Berita yang perlu dibaca lebih dulu:</b></p><ol>")
        for title, url, outlet, outlets, tone in stories:
            label = {"negative": "<span class='neg'>▼ negatif</span>", "positive": "<span class='pos'>▲ positif</span>"}.get(
                tone, "netral")
            parts.append(f"<li>{_link(url, title or '(tanpa judul)')} <span class='muted'>— {_t(outlet)}, "
                         f"{outlets} media, nada {label}</span></li>")
        parts.append("</ol>")
    return "".join(parts) + "</section>"


def render_weekly(con, week: Week, agencies: list[str] | None, now: dt.datetime | None = None,
                  local: LocalTime | None = None, units: bool = True, *, followed: Sequence[str] = ()) -> str:
    """The report as one HTML string (days, weeks and the generation time in the local zone). `agencies`: only these
    (and a section each); else every agency with mentions, and a section for each of `followed`."""
    local = local or LocalTime()
    generated = local.local(now or dt.datetime.now(dt.UTC))
    summary, _ = weekly_rows(con, week, agencies, local, units, with_stories=False)
    quiet = [a for a in followed if not agencies and a not in {r["agency_id"] for r in summary}]
    if summary and quiet:  # a followed agency without news this week still has its row (and last week's figures)
        summary += weekly_rows(con, week, quiet, local, units, with_stories=False)[0]
    names = dict(con.execute("SELECT agency_id, name FROM agencies").fetchall())
    start = week.start - dt.timedelta(days=21)
    days = [start + dt.timedelta(days=i) for i in range((week.end - start).days)]
    detailed = list(agencies or followed)
    ranked_ids = [r["agency_id"] for r in summary]
    daily = _daily(con, sorted(set(ranked_ids) | set(detailed)), start, week.end, units)
    parts = ["<!doctype html><html lang='id'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>Laporan mingguan {html.escape(week.label)}</title><style>{CSS}</style>{NARROW_CSS}</head><body><main>",
             f"<h1>Laporan pemberitaan mingguan {html.escape(week.label)}</h1>",
             f"<p class='muted'>{week.start:%d/%m/%Y} – {week.end - dt.timedelta(days=1):%d/%m/%Y} ({local.label}). "
             f"Dibuat {generated:%d/%m/%Y %H:%M} {local.label} oleh monitor.</p>"]
    if not summary:
        parts.append("<section><p>Tidak ada pemberitaan tentang instansi yang dipantau pada minggu ini.</p></section>")
    else:
        spikes = [(r["agency_name"], day.strip()) for r in summary for day in r["spike_days"].split(";") if day.strip()]
        parts.append(_overview(summary, _totals(con, week, agencies, units), spikes))
        parts.append(_ranked(summary, list(agencies or followed), set(followed), daily, days))
        negative, carried = _top_stories(con, week, agencies, units, names)
        parts.append("<section id='tanggapi'><h2>Berita yang perlu ditanggapi lebih dulu</h2>"
                     + (f"<p><b>Paling negatif</b></p><ol>{''.join(negative)}</ol>" if negative else
                        "<p>Tidak ada berita bernada negatif minggu ini.</p>")
                     + (f"<p><b>Paling banyak dimuat</b></p><ol>{''.join(carried)}</ol>" if carried else "")
                     + "</section>")
    by_id = {r["agency_id"]: r for r in summary}
    little = []
    for agency in detailed:
        row = by_id.get(agency)
        if row is None or row["mentions"] < LITTLE_COVERAGE:
            little.append((agency, row))
        else:
            parts.append(_agency_section(con, row, daily.get(agency, {}), week, days, units))
    if little:
        parts.append("<section id='sedikit'><h2>Instansi dipantau dengan sedikit berita</h2><table><thead><tr>"
                     "<th>Instansi</th><th>Berita</th><th>Tonasi</th></tr></thead><tbody>"
                     + "".join(f"<tr><td>{_t(row['agency_name'] if row else names.get(agency, agency))}</td>"
                               f"<td>{row['mentions'] if row else 0}</td><td>{_tone(row['net_tone']) if row else '–'}</td></tr>"
                               for agency, row in little) + "</tbody></table></section>")
    elif not detailed and summary:
        parts.append("<p class='muted'>Bagian rinci per instansi muncul untuk instansi yang dipantau "
                     "(settings.follow di feeds.yaml) atau yang diminta dengan --agency.</p>")
    parts.append("</main></body></html>")
    return "".join(parts)


def save_report(page: str, path: str | Path) -> Path:
    """Write a rendered report to `path`: .html as it is, .pdf through WeasyPrint (A4; its URL fetcher allows only
    the embedded data: images, so nothing is fetched from a network or a file). Anything else is a ValueError."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".pdf"):
        raise ValueError("the report file must end in .html or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".pdf":
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher

        HTML(string=page.replace(NARROW_CSS, ""), url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf(path)
    else:
        path.write_text(page, encoding="utf-8")
    return path


def write_weekly_report(con, week: Week, agencies: list[str] | None, out: str | Path, now: dt.datetime | None = None,
                        local: LocalTime | None = None, units: bool = True, *, followed: Sequence[str] = ()) -> Path:
    """Write the report to `out` (.html, or .pdf for the print layout; anything else is a ValueError); returns it."""
    if Path(out).suffix.lower() not in (".html", ".pdf"):
        raise ValueError("the report file must end in .html or .pdf")
    return save_report(render_weekly(con, week, agencies, now, local, units, followed=followed), out)
