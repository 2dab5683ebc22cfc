"""`monitor demo`: the whole pipeline, offline, on a bundled SAMPLE corpus served from 127.0.0.1."""

from __future__ import annotations

import html
import tempfile
from importlib import resources
from pathlib import Path

import yaml

from monitor.dev.localserver import LocalServer, Reply
from monitor.statuses import RunStatus

EXIT_OK = 0
# The sample's URLs carry the port: the same port on every run lets `--db FILE` be run again without the same
# articles counting twice (any free port when it is taken, with a warning).
DEMO_PORT = 8765


def _page(article: dict, outlet: str) -> bytes:
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in article["paragraphs"])
    return f"""<!doctype html><html lang="id"><head><meta charset="utf-8">
<title>{html.escape(article['title'])}</title><meta property="og:site_name" content="{html.escape(outlet)}">
<link rel="canonical" href="/berita/{article['slug']}"></head>
<body><nav><a href="/">Beranda</a> | <a href="/nasional">Nasional</a></nav>
<article><h1>{html.escape(article['title'])}</h1><p class="byline">Oleh Redaksi Contoh (data sampel)</p>
{paragraphs}</article><footer>Data sampel untuk demo monitor. Bukan berita sungguhan.</footer></body></html>""".encode()


def _rss(items: list[dict], outlet: str, base: str) -> bytes:
    body = "".join(
        f"<item><title>{html.escape(a['title'])}</title><link>/berita/{a['slug']}?utm_source=rss</link>"
        f"<guid>{a['slug']}</guid><pubDate>{a['date']}</pubDate>"
        f"<description>{html.escape(a['paragraphs'][0][:200])}</description></item>" for a in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{html.escape(outlet)}</title>'
            f"<link>{base}/</link><description>Feed sampel</description>{body}</channel></rss>").encode()


def _atom(items: list[dict], outlet: str, base: str) -> bytes:
    body = "".join(
        f"<entry><title>{html.escape(a['title'])}</title><link href=\"/berita/{a['slug']}\"/>"
        f"<id>tag:contoh,{a['slug']}</id>" + (f"<updated>{a['date']}</updated>" if a["date"] else "") +
        f"<summary>{html.escape(a['paragraphs'][0][:200])}</summary></entry>" for a in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}/">'
            f"<title>{html.escape(outlet)}</title><id>tag:contoh</id><updated>2026-11-25T00:00:00Z</updated>{body}</feed>").encode()


def sample_routes(base: str) -> tuple[dict[str, Reply], list[dict]]:
    """Routes for the sample feeds and pages, and the feed entries for a config."""
    sample = yaml.safe_load(resources.files("monitor.dev").joinpath("demo_data/sample.yaml").read_text(encoding="utf-8"))
    routes: dict[str, Reply] = {}
    feeds = []
    for outlet in sample["outlets"]:
        items = [a for a in sample["articles"] if a["feed"] == outlet["feed"]]
        for article in items:
            routes[f"/berita/{article['slug']}"] = Reply(200, _page(article, outlet["outlet"]),
                                                         {"Content-Type": "text/html; charset=utf-8"})
        if outlet["kind"] == "rss":
            body, ctype = _rss(items, outlet["outlet"], base), "application/rss+xml; charset=utf-8"
        else:
            body, ctype = _atom(items, outlet["outlet"], base), "application/atom+xml; charset=utf-8"
        routes[f"/feed/{outlet['feed']}.xml"] = Reply(200, body, {"Content-Type": ctype})
        feeds.append({"name": outlet["feed"], "url": f"{base}/feed/{outlet['feed']}.xml", "outlet": outlet["outlet"]})
    return routes, feeds


def demo_config(base_config_path: str | None, feeds: list[dict]):
    """The bundled register and topics (feeds.yaml next to the package or in the working directory)."""
    from monitor.config import parse_config

    raw = {}
    for candidate in filter(None, [base_config_path, "feeds.yaml", str(Path(__file__).resolve().parent.parent / "feeds.yaml")]):
        if Path(candidate).exists():
            raw = yaml.safe_load(Path(candidate).read_text(encoding="utf-8"))
            break
    settings = dict(raw.get("settings", {}))
    settings.update(allow_private_networks=True, per_host_gap_s=0.0, extract_workers=1)
    return parse_config({"settings": settings, "feeds": feeds, "agencies": raw.get("agencies", []), "regions": raw.get("regions", []),
                         "topics": raw.get("topics", [])}, "demo")


def run_demo(db: str | None, workers: int = 1, echo=print, config_path: str | None = None) -> int:
    from monitor.db.store import Store
    from monitor.runner import execute_run

    tmp = tempfile.TemporaryDirectory(prefix="monitor-demo-")
    db = db or str(Path(tmp.name) / "demo.duckdb")
    with LocalServer(port=DEMO_PORT) as server:
        if server.port != DEMO_PORT and Path(db).exists():
            echo(f"warning: port {DEMO_PORT} is taken, so the sample's URLs differ from earlier demo runs: "
                 f"its articles count again in {db}")
        routes, feeds = sample_routes(server.base)
        server.routes.update(routes)
        config = demo_config(config_path, feeds)
        config = config.model_copy(update={"settings": config.settings.model_copy(update={"extract_workers": workers})})
        echo(f"Serving SAMPLE data (invented articles, real agency names) on {server.base}; database {db}")
        echo(f"Register: {len(config.agencies)} agencies")
        summary = execute_run(config, db, force=True, trigger="demo")
    echo(f"run: {summary.status}, {summary.feeds_ok} feeds ok, {summary.new_articles} new articles, "
         f"{summary.duplicates} duplicates, {summary.extraction_failures} extraction failures, {summary.elapsed_s:.1f}s")
    with Store(db).session(read_only=True) as con:
        echo("\nArticles (status, unique story, title):")
        for row in con.execute("SELECT status, article_id = cluster_id AS is_story, title FROM articles ORDER BY title").fetchall():
            echo(f"  {row[0]:<10} {'story ' if row[1] else 'pickup'} {row[2]}")
        echo("\nPer agency: articles, unique stories, in headlines, and tone toward the agency (neg/neu/pos):")
        for row in con.execute(
                "SELECT m.agency_id, count(*), count(DISTINCT a.cluster_id), sum(m.in_title::INT), "
                "count(*) FILTER (t.tone = 'negative'), count(*) FILTER (t.tone = 'neutral'), count(*) FILTER (t.tone = 'positive') "
                "FROM mentions m JOIN articles a USING (article_id) LEFT JOIN mention_tone t USING (article_id, agency_id) "
                "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall():
            echo(f"  {row[0]:<24} {row[1]:>3} articles {row[2]:>3} stories {row[3]:>3} in title   tone {row[4]}/{row[5]}/{row[6]}")
        echo("\nArticle tone and topics:")
        for row in con.execute("SELECT a.title, x.tone, x.topics FROM articles a JOIN article_analysis x USING (article_id) "
                               "ORDER BY a.title").fetchall():
            echo(f"  {row[1]:<8} {', '.join(row[2]) or '-':<40} {row[0][:70]}")
        echo("\nA mention sentence (what the analysis stage scores):")
        sample = con.execute("SELECT agency_id, sentences[1] FROM mentions WHERE agency_id = 'komdigi' LIMIT 1").fetchone()
        if sample:
            echo(f"  {sample[0]}: {sample[1]}")
    tmp.cleanup()
    return EXIT_OK if summary.status == RunStatus.OK else 1
