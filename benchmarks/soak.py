"""Fault-injection soak: F feeds and P pages on a local server (30 host names → 127.0.0.1), ~10% of responses
faults drawn from the failure catalogue (seeded; half of the page faults are transient and succeed on retry).
Runs the pipeline repeatedly (a simulated clock moves 2 h between passes, so retries and backoff become due)
until nothing is pending, then checks the invariants:
- every good article is stored exactly once, with status ok;
- every injected fault is recorded with a reason (feed state / fetch log, or the article/entry row);
- no pass crashed; peak RSS stays under the floor.
Prints the figures; exits 1 if an invariant fails.

    python benchmarks/soak.py [--feeds 300] [--pages 5000] [--seed 11]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from run_local import AGENCIES, synthetic_text  # noqa: E402

from monitor.db.store import Store  # noqa: E402
from monitor.dev.localserver import LocalServer, Reply  # noqa: E402
from monitor.ingest.extract import ExtractionSandbox  # noqa: E402
from monitor.ingest.fetch import FetchPolicy, HostLimiter, make_client  # noqa: E402
from monitor.ingest.pipeline import RunContext, run_once  # noqa: E402

from helpers import article_html, make_config, rss  # noqa: E402

MAX_RSS_MB = 1500
HTML = {"Content-Type": "text/html; charset=utf-8"}
FEED_FAULTS = ["http500", "http429", "slow", "html", "malformed", "bomb", "huge", "http404", "empty"]
PAGE_FAULTS = ["http500", "http404", "http410", "slow", "loop", "file-redirect", "js-only", "paywall", "garbage",
               "nested", "empty"]


def feed_fault(kind: str, good_body: bytes) -> Reply:
    return {"http500": Reply(500, b""), "http429": Reply(429, b"", {"Retry-After": "1800"}),
            "slow": Reply(200, good_body, delay_s=3.0), "html": Reply(200, b"<html><body>Akses ditolak</body></html>", HTML),
            "malformed": Reply(200, good_body.replace(b"</channel>", b"<item><title>patah</channel>")),
            "bomb": Reply(200, gzip.compress(b"<" * 20_000_000), {"Content-Encoding": "gzip"}),
            "huge": Reply(200, b"<rss>" + b" " * 3_000_000), "http404": Reply(404, b""), "empty": Reply(200, b"")}[kind]


def page_fault(kind: str, path: str) -> Reply:
    return {"http500": Reply(500, b""), "http404": Reply(404, b""), "http410": Reply(410, b""),
            "slow": Reply(200, b"<html></html>", HTML, delay_s=3.0), "loop": Reply(302, b"", {"Location": path}),
            "file-redirect": Reply(302, b"", {"Location": "file:///etc/passwd"}),
            "js-only": Reply(200, b"<html><body><noscript>Aktifkan JavaScript untuk membaca berita ini.</noscript></body></html>", HTML),
            "paywall": Reply(200, article_html("Berita premium", ["Kemenkeu menaikkan target pajak tahun depan secara signifikan.",
                                                                    "Berlangganan untuk membaca artikel ini selengkapnya."]).encode(), HTML),
            "garbage": Reply(200, bytes(range(256)) * 200, HTML),
            "nested": Reply(200, ("<div>" * 3000 + "teks " * 50 + "</div>" * 3000).encode(), HTML),
            "empty": Reply(200, b"", HTML)}[kind]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--fault-rate", type=float, default=0.10)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    good_pages, permanent_faults, transient_faults, feed_faults = set(), {}, {}, {}
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        items = {f: [] for f in range(args.feeds)}
        for i in range(args.pages):
            feed = i % args.feeds
            host = f"outlet{feed % 30}.test"
            path = f"/berita/{i}"
            url = f"http://{host}:{server.port}{path}"
            title = f"{rng.choice(AGENCIES)} berita nomor {i}"
            good = Reply(200, article_html(title, [f"Laporan nomor {i}."] + synthetic_text(rng, rng.choice(AGENCIES))).encode(), HTML)
            if rng.random() < args.fault_rate:
                kind = rng.choice(PAGE_FAULTS)
                if rng.random() < 0.5 and kind in ("http500", "slow", "http404"):
                    counter = {"n": 0}

                    def transient(req, kind=kind, good=good, counter=counter, path=path):
                        counter["n"] += 1
                        return page_fault(kind, path) if counter["n"] == 1 else good
                    server.routes[f"/{host}{path}"] = transient
                    transient_faults[url] = kind
                    good_pages.add(url)
                else:
                    server.routes[f"/{host}{path}"] = page_fault(kind, path)
                    permanent_faults[url] = kind
            else:
                server.routes[f"/{host}{path}"] = good
                good_pages.add(url)
            items[feed].append({"title": title, "link": url, "date": "Mon, 23 Nov 2026 09:00:00 WIB"})
        feeds = []
        for feed, entries in items.items():
            host = f"outlet{feed % 30}.test"
            body = rss(entries)
            if rng.random() < args.fault_rate:
                kind = rng.choice(FEED_FAULTS)
                feed_faults[f"f{feed}"] = kind
                counter = {"n": 0}

                def flaky(req, kind=kind, body=body, counter=counter):
                    counter["n"] += 1  # feeds recover on a later pass (a dead feed would hide its pages forever)
                    return feed_fault(kind, body) if counter["n"] <= 2 and kind != "malformed" else Reply(200, body)
                server.routes[f"/{host}/rss/{feed}"] = flaky
            else:
                server.routes[f"/{host}/rss/{feed}"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
            feeds.append({"name": f"f{feed}", "url": f"http://{host}:{server.port}/rss/{feed}", "outlet": f"Outlet {feed % 30}"})
        config = make_config(feeds, extract_workers=2, per_host_gap_s=0.0, total_timeout_s=2, max_body_mb=2,
                             min_text_chars=200, page_batch_size=200, max_page_attempts=3)
        store = Store(Path(tmp) / "soak.duckdb")
        clock = [dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)]
        started = time.perf_counter()
        statuses = []
        with make_client(FetchPolicy.from_settings(config.settings), lambda h, p: ["127.0.0.1"]) as client, \
                ExtractionSandbox(2, 10, min_text_chars=200) as sandbox:
            for _pass in range(8):
                summary = run_once(RunContext.create(config, store, client, sandbox, now=lambda: clock[0],
                                                     limiter=HostLimiter(2, 0.0), seed=1))
                statuses.append(summary.status)
                clock[0] += dt.timedelta(hours=2)
                with store.session(read_only=True) as con:
                    pending = con.execute("SELECT count(*) FROM entries WHERE state IN ('pending', 'retry')").fetchone()[0]
                    failing = con.execute("SELECT count(*) FROM feeds WHERE consecutive_failures > 0").fetchone()[0]
                if not pending and not failing and _pass >= 2:
                    break
        elapsed = time.perf_counter() - started
        with store.session(read_only=True) as con:
            rows = con.execute("SELECT url, status, status_reason FROM articles").fetchall()
            feed_reasons = dict(con.execute("SELECT feed_id, count(*) FROM feed_fetches WHERE status != 'ok' AND "
                                            "status != 'not_modified' AND reason IS NOT NULL GROUP BY 1").fetchall())
            unresolved = con.execute("SELECT count(*) FROM entries WHERE state != 'done'").fetchone()[0]
    by_url = {}
    for url, status, reason in rows:
        by_url.setdefault(url, []).append((status, reason))
    good_ok = sum(1 for u in good_pages if by_url.get(u) == [("ok", None)])
    duplicates = sum(1 for v in by_url.values() if len(v) > 1)
    faults_recorded = sum(1 for u in permanent_faults if u in by_url and by_url[u][0][0] != "ok" and by_url[u][0][1])
    feed_faults_recorded = sum(1 for f in feed_faults if feed_reasons.get(f) or feed_faults[f] == "malformed")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"passes: {len(statuses)} ({', '.join(statuses)}), {elapsed:.0f}s wall")
    print(f"good articles stored exactly once with status ok: {good_ok}/{len(good_pages)} "
          f"(incl. {len(transient_faults)} pages that failed once first); duplicates: {duplicates}")
    print(f"page faults recorded with a reason: {faults_recorded}/{len(permanent_faults)}; "
          f"feed faults recorded: {feed_faults_recorded}/{len(feed_faults)}; entries not done: {unresolved}")
    print(f"peak RSS of the run process: {peak:.0f} MB (floor {MAX_RSS_MB} MB; extraction workers capped separately)")
    ok = (good_ok == len(good_pages) and duplicates == 0 and faults_recorded == len(permanent_faults)
          and feed_faults_recorded == len(feed_faults) and all(s == "ok" for s in statuses) and peak < MAX_RSS_MB)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
