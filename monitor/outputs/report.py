"""Weekly HTML report for PR heads: one self-contained file (charts embedded as PNG), readable on a phone,
labelled in Indonesian. Per agency: tone over the last four weeks, daily volume, top topics, spikes and the
stories to read first (negative first, then the most widely carried)."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path

from monitor.db.views import views_for
from monitor.localtime import LocalTime
from monitor.outputs.export import Week, clean_text, weekly_rows

CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;padding:12px;background:#f6f7f9;color:#1d2330}
main{max-width:860px;margin:auto}h1{font-size:1.4rem}h2{font-size:1.15rem;margin:0 0 6px}
section{background:#fff;border-radius:8px;padding:12px 14px;margin:12px 0;box-shadow:0 1px 2px #0002}
img{max-width:100%;height:auto;display:block}.kpi{display:flex;flex-wrap:wrap;gap:8px}.kpi div{background:#eef1f5;border-radius:6px;padding:6px 10px}
.neg{color:#b3261e}.pos{color:#1b7f3b}ol{padding-left:20px}li{margin:6px 0;overflow-wrap:anywhere}a{color:#0b57d0}
.muted{color:#667}.spike{background:#fde7e7;border-radius:6px;padding:6px 10px}"""


def _chart(days: list[dt.date], series: dict[str, list[float]], title: str, kind: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=110)
    x = mdates.date2num(days)  # matplotlib's own day numbers: exact bar positions and typed arguments
    if kind == "bars":
        bottom = [0.0] * len(days)
        colours = {"Negatif": "#d9534f", "Netral": "#9aa5b1", "Positif": "#3a9d5d"}
        for name, values in series.items():
            ax.bar(x, values, bottom=bottom, label=name, color=colours.get(name), width=0.8)
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), fontsize=9, frameon=False, ncol=3)
        ax.set_ylabel("Jumlah berita")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        for name, values in series.items():
            ax.plot(x, values, marker="o", label=name, color="#0b57d0")
        ax.axhline(0, color="#999", linewidth=0.8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlim(float(x[0]) - 0.5, float(x[-1]) + 0.5)
        ax.set_ylabel("Tonasi bersih")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m"))
    ax.set_title(title, fontsize=11)
    ax.tick_params(axis="x", labelsize=8, rotation=45)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _link(url: str | None, text: str) -> str:
    text = clean_text(text)
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">{html.escape(text)}</a>'
    return html.escape(text)


def render_weekly(con, week: Week, agencies: list[str] | None, now: dt.datetime | None = None,
                  local: LocalTime | None = None, units: bool = True) -> str:
    """The report as one HTML string (days, weeks and the generation time in the local zone)."""
    local = local or LocalTime()
    generated = local.local(now or dt.datetime.now(dt.UTC))
    summary, _ = weekly_rows(con, week, agencies, local, units)
    parts = [f"<!doctype html><html lang='id'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>Laporan mingguan {html.escape(week.label)}</title><style>{CSS}</style></head><body><main>",
             f"<h1>Laporan pemberitaan mingguan {html.escape(week.label)}</h1>",
             f"<p class='muted'>{week.start:%d/%m/%Y} – {week.end - dt.timedelta(days=1):%d/%m/%Y} ({local.label}). "
             f"Dibuat {generated:%d/%m/%Y %H:%M} {local.label} oleh monitor.</p>"]
    if not summary:
        parts.append("<section><p>Tidak ada pemberitaan tentang instansi yang dipantau pada minggu ini.</p></section>")
    start = week.start - dt.timedelta(days=21)
    days = [start + dt.timedelta(days=i) for i in range((week.end - start).days)]
    for row in summary:
        agency = row["agency_id"]
        daily = {d: (m, p, n, g, t, nt) for d, m, p, n, g, t, nt in con.execute(views_for(
            "SELECT day, mentions, positive, neutral, negative, toned, net_tone FROM agency_daily WHERE agency_id = ? "
            "AND day >= ? AND day < ?", units), [agency, start, week.end]).fetchall()}
        week_days = [d for d in days if d >= week.start]
        volume = _chart(week_days, {"Negatif": [daily.get(d, (0,) * 6)[3] for d in week_days],
                                    "Netral": [daily.get(d, (0,) * 6)[2] for d in week_days],
                                    "Positif": [daily.get(d, (0,) * 6)[1] for d in week_days]},
                        "Volume berita per hari dan nada terhadap instansi", "bars")
        tone = _chart(days, {"Tonasi bersih": [daily[d][5] if d in daily and daily[d][5] is not None else float("nan") for d in days]},
                      "Tonasi bersih per hari, 4 minggu terakhir", "line")
        change = row["mentions_change"]
        net = row["net_tone"]
        parts.append(f"<section><h2>{html.escape(row['agency_name'])}</h2><div class='kpi'>"
                     f"<div>{row['mentions']} berita ({'+' if change >= 0 else ''}{change} dari minggu lalu)</div>"
                     f"<div>{row['stories']} cerita unik</div>"
                     f"<div><span class='pos'>{row['positive']} positif</span> · {row['neutral']} netral · "
                     f"<span class='neg'>{row['negative']} negatif</span></div>"
                     f"<div>tonasi bersih {'–' if net is None else f'{net:+.2f}'}</div></div>"
                     f"<img alt='Volume berita {html.escape(agency)}' src='{volume}'><img alt='Tonasi {html.escape(agency)}' src='{tone}'>"
                     "<p class='muted'>Tonasi bersih = (positif − negatif) / berita bernada, dari −1 sampai +1.</p>")
        if row["top_topics"]:
            parts.append(f"<p><b>Isu utama:</b> {html.escape(row['top_topics'])}</p>")
        if row["spike_days"]:
            parts.append(f"<p class='spike'><b>Lonjakan:</b> {html.escape(row['spike_days'])} — volume atau porsi berita negatif "
                         "jauh di atas kebiasaan 28 hari sebelumnya.</p>")
        stories = con.execute(views_for(
            "SELECT title, url, first_outlet, outlets, tone, p_negative FROM agency_stories WHERE agency_id = ? AND day >= ? "
            "AND day < ? ORDER BY (tone = 'negative') DESC, p_negative DESC, outlets DESC LIMIT 5", units),
            [agency, week.start, week.end]).fetchall()
        if stories:
            parts.append("<p><b>Berita yang perlu dibaca lebih dulu:</b></p><ol>")
            for title, url, outlet, outlets, story_tone, _ in stories:
                label = {"negative": "<span class='neg'>negatif</span>", "positive": "<span class='pos'>positif</span>"}.get(
                    story_tone, "netral")
                parts.append(f"<li>{_link(url, title or '(tanpa judul)')} <span class='muted'>— {html.escape(outlet or '')}, "
                             f"{outlets} media, nada {label}</span></li>")
            parts.append("</ol>")
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "".join(parts)


def write_weekly_report(con, week: Week, agencies: list[str] | None, out: str | Path, now: dt.datetime | None = None,
                        local: LocalTime | None = None, units: bool = True) -> Path:
    """Write the report to `out` (must end in .html, else ValueError); returns the path."""
    out = Path(out)
    if out.suffix.lower() != ".html":
        raise ValueError("the report file must end in .html")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_weekly(con, week, agencies, now, local, units), encoding="utf-8")
    return out
