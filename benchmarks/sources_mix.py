"""Share of items that end with full text, per source kind, over a mixed local source set (issue 15).

One LocalServer plays every host (all names resolve to 127.0.0.1, private addresses allowed):
- rss: an outlet's RSS feed and its article pages;
- google_news: a Google News search feed whose links are new-style ids (`/rss/articles/CBMi…`), with stand-ins
  for Google's article page (data-n-a-sg / data-n-a-ts) and the batchexecute answer, each id decoded by the real
  code (monitor/ingest/gnews.py) to a publisher page;
- sitemap: a sitemap index pointing at a Google News sitemap (publication dates just before the run clock);
- fallback: a blocked outlet whose RSS answers 403 with a Cloudflare "Just a moment..." page; its `fallback:` is a
  local RSS listing its articles.
`run_once` runs on a clock advanced 5 h per run until the blocked outlet has switched and its fallback was read
(4 runs with fallback_after_failures=3). Per kind it prints the items the source listed, those that ended as an
article with status ok and text of at least min_text_chars, and the share; exit 1 if a share is under the floor.

    .venv/bin/python benchmarks/sources_mix.py [--items 40] [--workers 1] [--max-runs 8]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.utils
import hashlib
import html
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from monitor.db.store import Store  # noqa: E402
from monitor.dev.localserver import LocalServer, Reply, RequestInfo  # noqa: E402
from monitor.ingest.extract import ExtractionSandbox  # noqa: E402
from monitor.ingest.fetch import FetchPolicy, make_client  # noqa: E402
from monitor.ingest.pipeline import RunContext, run_once  # noqa: E402

from helpers import PARAGRAPHS, article_html, make_config, rss  # noqa: E402

FLOOR = 0.95
T0 = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
KINDS = ("rss", "google_news", "sitemap", "fallback")
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
XML = {"Content-Type": "application/xml"}
CLOUDFLARE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
              b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script></body></html>")
NEWS_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
AGENCIES = ["KPK", "BNPB", "Kementerian Keuangan", "Polri", "BMKG", "Kemenkes", "Pemprov Jabar", "OJK", "BPS", "Basarnas"]
VERBS = ["meninjau", "mengumumkan", "membantah", "menyalurkan", "mengevaluasi", "menyelidiki", "meresmikan", "menunda"]
OBJECTS = ["program bantuan sosial", "harga beras di pasar", "kebijakan tarif baru", "proyek jalan provinsi",
           "layanan kesehatan gratis", "penyaluran pupuk bersubsidi", "data kemiskinan terbaru", "sistem antrean daring"]
SUBJECTS = ["warga", "pedagang pasar", "para petani", "nelayan", "mahasiswa", "guru honorer", "tenaga kesehatan"]
CITIES = ["Jakarta", "Medan", "Makassar", "Surabaya", "Kupang", "Pontianak", "Ambon", "Padang", "Mataram", "Jayapura"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"]


def story(kind: str, i: int) -> tuple[str, list[str]]:
    """A distinct headline and four paragraphs for item i of a kind: a PARAGRAPHS paragraph plus item sentences."""
    rng = random.Random(f"{kind}-{i}")
    agency = rng.choice(AGENCIES)
    title = f"{agency} {rng.choice(VERBS)} {rng.choice(OBJECTS)} di {rng.choice(CITIES)} ({kind} {i})"

    def sentence() -> str:
        return (f"{rng.choice([agency, *AGENCIES])} {rng.choice(VERBS)} {rng.choice(OBJECTS)} bersama "
                f"{rng.choice(SUBJECTS)} di {rng.choice(CITIES)} pada {rng.choice(DAYS)} pukul {rng.randint(7, 21)}."
                f"{rng.randint(10, 59)} WIB, dengan {rng.randint(12, 9800)} orang terdampak dan anggaran "
                f"Rp{rng.randint(1, 900)} miliar.")

    topic = list(PARAGRAPHS.values())[i % len(PARAGRAPHS)]
    paragraphs = [f"{title}. {sentence()} {sentence()}", topic[i % 3], f"{sentence()} {sentence()} {sentence()}",
                  f"Laporan nomor {i} dari {kind}: {sentence()} {sentence()}"]
    return title, paragraphs


def new_style_id(kind: str, i: int) -> str:
    """A post-2024 Google News id: a protobuf around an opaque AU_yq… token, with no publisher URL inside."""
    token = b"AU_yqL" + base64.urlsafe_b64encode(hashlib.sha256(f"{kind}-{i}".encode()).digest()).rstrip(b"=")[:40]
    raw = b"\x08\x13\x22" + bytes([len(token)]) + token + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")  # "CBMi…", as Google's ids start


def news_sitemap(items: list[tuple[str, str, str]]) -> bytes:
    urls = "".join(f"<url><loc>{html.escape(loc)}</loc><news:news><news:publication><news:name>Kabar Peta</news:name>"
                   f"<news:language>id</news:language></news:publication><news:publication_date>{date}"
                   f"</news:publication_date><news:title>{html.escape(title)}</news:title></news:news></url>"
                   for loc, date, title in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NEWS_NS}>{urls}</urlset>'.encode()


def serve(server: LocalServer, n: int) -> tuple[list[dict], list[int]]:
    """Routes for the four kinds; the feeds (named after their kind) and a list counting batchexecute POSTs."""
    port, posts = server.port, []
    host = {"rss": "warta.test", "google_news": "kabar-gn.test", "sitemap": "peta.test", "fallback": "tertutup.test"}
    listed: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    signatures: dict[str, tuple[int, str, str]] = {}  # google id -> (timestamp, signature, publisher URL)
    for kind in KINDS:
        for i in range(n):
            title, paragraphs = story(kind, i)
            url = f"http://{host[kind]}:{port}/berita/{kind}/{i}"
            server.routes[f"/{host[kind]}/berita/{kind}/{i}"] = Reply(200, article_html(title, paragraphs).encode(), HTML)
            date = T0 - dt.timedelta(minutes=5 * i + 1)
            item = {"title": title, "link": url, "date": email.utils.format_datetime(date, usegmt=True),
                    "iso": date.isoformat()}
            if kind == "google_news":
                gid = new_style_id(kind, i)
                signatures[gid] = (1796000000 + i, f"AV1sig{hashlib.sha1(gid.encode()).hexdigest()[:16]}", url)
                page = (f'<c-wiz><div jscontroller="contoh" data-n-a-id="AU_yq" data-n-a-ts="{signatures[gid][0]}" '
                        f'data-n-a-sg="{signatures[gid][1]}"></div></c-wiz>')
                server.routes[f"/news.google.com/rss/articles/{gid}?oc=5"] = Reply(200, page.encode(), HTML)
                item.update(title=f"{title} - Kabar GN", source="Kabar GN",
                            link=f"http://news.google.com:{port}/rss/articles/{gid}?oc=5")
            listed[kind].append(item)

    def batchexecute(request: RequestInfo) -> Reply:
        """Google's answer: a garturlres row per envelope whose id and signature match; an error row otherwise."""
        posts.append(request)
        rows = []
        for envelope in json.loads(parse_qs(request.body.decode())["f.req"][0])[0]:
            gid, timestamp, signature = json.loads(envelope[1])[-3:]
            known = signatures.get(gid)
            payload = json.dumps(["garturlres", known[2], 1]) if known and known[:2] == (timestamp, signature) else None
            rows.append(["wrb.fr", "Fbv4je", payload, None, None, None, envelope[3]])
        return Reply(200, (")]}'\n\n" + json.dumps([*rows, ["di", 31], ["af.httprm", 30, "-58", 12]])).encode(),
                     {"Content-Type": "application/json; charset=utf-8"})

    server.routes["/news.google.com/_/DotsSplashUi/data/batchexecute"] = batchexecute
    server.routes["/warta.test/rss"] = Reply(200, rss(listed["rss"]), RSS)
    server.routes["/news.google.com/rss/search?q=pemerintah&hl=id&gl=ID&ceid=ID:id"] = Reply(200, rss(listed["google_news"]), RSS)
    server.routes["/peta.test/sitemap-news.xml"] = Reply(200, news_sitemap(
        [(i["link"], i["iso"], i["title"]) for i in listed["sitemap"]]), XML)
    server.routes["/peta.test/sitemap_index.xml"] = Reply(200, (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>http://peta.test:{port}/sitemap-news.xml</loc><lastmod>{T0.isoformat()}</lastmod></sitemap>"
        "</sitemapindex>").encode(), XML)
    server.routes["/tertutup.test/rss"] = Reply(403, CLOUDFLARE, {"Content-Type": "text/html", "cf-mitigated": "challenge"})
    server.routes["/cermin.test/tertutup.xml"] = Reply(200, rss(listed["fallback"]), RSS)
    feeds = [{"name": "rss", "url": f"http://warta.test:{port}/rss", "outlet": "Warta Uji"},
             {"name": "google_news", "kind": "google_news", "outlet": "Google News",
              "url": f"http://news.google.com:{port}/rss/search?q=pemerintah&hl=id&gl=ID&ceid=ID:id"},
             {"name": "sitemap", "kind": "sitemap", "url": f"http://peta.test:{port}/sitemap_index.xml", "outlet": "Kabar Peta"},
             {"name": "fallback", "url": f"http://tertutup.test:{port}/rss", "outlet": "Warta Tertutup",
              "fallback": f"http://cermin.test:{port}/tertutup.xml"}]
    return feeds, posts


SHARES = """
SELECT s.feed_id, count(DISTINCT s.entry_id),
       count(DISTINCT s.entry_id) FILTER (WHERE a.status = 'ok' AND length(a.text) >= ?),
       count(DISTINCT a.cluster_id) FILTER (WHERE a.status = 'ok')
FROM entry_sources s JOIN entries e USING (entry_id) LEFT JOIN articles a ON a.article_id = e.article_id
GROUP BY s.feed_id"""
MISSES = """
SELECT s.feed_id, e.state, coalesce(a.status, '-'), coalesce(a.status_reason, e.last_reason, '-'), count(*)
FROM entry_sources s JOIN entries e USING (entry_id) LEFT JOIN articles a ON a.article_id = e.article_id
WHERE a.status IS DISTINCT FROM 'ok' OR length(coalesce(a.text, '')) < ? GROUP BY ALL ORDER BY 1, 5 DESC"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40, help="items per source kind")
    parser.add_argument("--workers", type=int, default=1, help="extraction worker processes (0: in this process)")
    parser.add_argument("--min-chars", type=int, default=300, help="min_text_chars: what counts as full text")
    parser.add_argument("--max-runs", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        feeds, posts = serve(server, args.items)
        config = make_config(feeds, min_text_chars=args.min_chars, extract_workers=args.workers, fallback_after_failures=3,
                             total_timeout_s=30, per_host_gap_s=0.0)
        store = Store(Path(tmp) / "bench.duckdb", spool_dir=Path(tmp) / "spool")
        clock = {"now": T0}
        policy = FetchPolicy.from_settings(config.settings)
        runs, fallback_read = 0, False
        with make_client(policy, lambda host, port: ["127.0.0.1"]) as client, \
                ExtractionSandbox(args.workers, 30, min_text_chars=args.min_chars) as sandbox:
            ctx = RunContext.create(config, store, client, sandbox, now=lambda: clock["now"], seed=1)
            while runs < args.max_runs and not fallback_read:
                summary = run_once(ctx)
                runs += 1
                print(f"run {runs} at {clock['now']:%H:%M}Z: {summary.status}, feeds ok {summary.feeds_ok}, unchanged "
                      f"{summary.feeds_not_modified}, failed {summary.feeds_failed}, new articles {summary.new_articles}, duplicates {summary.duplicates}, "
                      f"pages failed {summary.pages_failed}")
                with store.session(read_only=True) as con:
                    fallback_read = con.execute("SELECT count(*) FROM feed_fetches WHERE feed_id = 'fallback' AND "
                                                "reason LIKE 'via fallback%'").fetchone()[0] > 0
                clock["now"] += dt.timedelta(hours=5)
        with store.session(read_only=True) as con:
            shares = {row[0]: row[1:] for row in con.execute(SHARES, [args.min_chars]).fetchall()}
            misses = con.execute(MISSES, [args.min_chars]).fetchall()
            switches = con.execute("SELECT count(*) FROM feed_switches WHERE feed_id = 'fallback' AND to_fallback").fetchone()[0]
            decoded = con.execute("SELECT count(*) FROM google_news_links").fetchone()[0]
    elapsed = time.perf_counter() - started
    ok = fallback_read
    print(f"\n{'kind':<12} {'listed':>6} {'full text':>9} {'share':>7} {'floor':>6} {'stories':>7}")
    for kind in KINDS:
        listed, full, stories = shares.get(kind, (0, 0, 0))
        share = full / listed if listed else 0.0
        ok = ok and listed == args.items and share >= FLOOR
        print(f"{kind:<12} {listed:>6} {full:>9} {share:>7.1%} {FLOOR:>6.2f} {stories:>7}")
    for feed_id, state, status, reason, count in misses:
        print(f"  not full text: {feed_id}: {count} x entry {state}, article {status}: {reason[:100]}")
    print(f"\nruns {runs} (blocked outlet switched {switches}x, fallback read: {fallback_read}); elapsed {elapsed:.1f}s; "
          f"batchexecute POSTs {len(posts)}; Google ids decoded {decoded}")
    print("PASS" if ok else f"FAIL (floor {FLOOR:.0%} of {args.items} listed items per kind, fallback read)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
