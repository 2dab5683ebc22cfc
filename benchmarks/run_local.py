"""End-to-end `monitor run` speed on a synthetic local corpus (no network).

N articles spread over F feeds on F host names that all resolve to 127.0.0.1 (so per-host politeness applies as it
would across outlets), with Indonesian-like text, agency mentions and ~10% syndicated copies. Runs the real
pipeline (thread-pooled fetching, extraction sandbox with worker processes, DuckDB writes) into a temporary
database, then a second run where every feed answers 304. Prints figures; exits 1 below the floors.

    python benchmarks/run_local.py [--articles 1000] [--feeds 20] [--workers 2] [--latency 0.02] [--baseline] [--analysis]

Pages and extraction of the next batch run in a background thread beside dedupe/mentions, analysis and writes,
so the stage shares can add up to more than 100%; "waiting for pages" is the time the main thread had nothing
to do. With --analysis the default analyzer (tone model + topics) runs in the pipeline.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from monitor.db.store import Store  # noqa: E402
from monitor.dev.localserver import LocalServer, Reply  # noqa: E402
from monitor.ingest.extract import ExtractionSandbox  # noqa: E402
from monitor.ingest.fetch import FetchPolicy, HostLimiter, make_client  # noqa: E402
from monitor.ingest.pipeline import RunContext, run_once  # noqa: E402

from helpers import article_html, make_config, rss  # noqa: E402

FLOOR_ARTICLES_PER_S = 8.0       # first run, 2 cores, 2 extraction workers (measured ~20/s)
FLOOR_RERUN_SPEEDUP = 5.0        # 304 rerun vs first run, same machine, same moment
FLOOR_RERUN_S = 10.0             # 304 rerun of 300 unchanged feeds under 10 s (performance issue)

AGENCIES = ["Kementerian Keuangan", "KPK", "Polri", "BNPB", "Kemenkes", "Komdigi", "BPOM", "Pemprov Jabar", "OJK", "BMKG",
            "Kementerian Pertanian", "Basarnas", "KPU", "Bawaslu", "Kemendikdasmen", "Bank Indonesia", "BPS", "Kejaksaan Agung"]
SUBJECTS = ["warga", "pemerintah daerah", "pedagang pasar", "para petani", "nelayan", "mahasiswa", "pengemudi ojek",
            "pelaku usaha kecil", "tenaga kesehatan", "guru honorer"]
VERBS = ["meninjau", "mengumumkan", "membantah", "menyalurkan", "mengevaluasi", "menyelidiki", "meresmikan", "menunda"]
OBJECTS = ["program bantuan sosial", "harga beras di pasar", "kebijakan tarif baru", "proyek jalan provinsi",
           "layanan kesehatan gratis", "penyaluran pupuk bersubsidi", "data kemiskinan terbaru", "sistem antrean daring"]


def synthetic_text(rng: random.Random, agency: str) -> list[str]:
    paragraphs = []
    for _ in range(5):
        sentences = []
        for _ in range(3):
            sentences.append(f"{rng.choice([agency, rng.choice(AGENCIES)])} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
                             f"bersama {rng.choice(SUBJECTS)} di {rng.choice(['Jakarta', 'Medan', 'Makassar', 'Surabaya', 'Kupang'])} "
                             f"pada {rng.choice(['Senin', 'Selasa', 'Rabu', 'Kamis', 'Jumat'])} sekitar pukul {rng.randint(7, 21)}.{rng.randint(10, 59)} WIB.")
        sentences.append(f"Menurut keterangan resmi, sebanyak {rng.randint(10, 9000)} orang terdampak dan anggaran "
                         f"Rp{rng.randint(1, 900)} miliar disiapkan untuk tahun {rng.randint(2025, 2027)}.")
        paragraphs.append(" ".join(sentences))
    return paragraphs


def build(server: LocalServer, n_articles: int, n_feeds: int, latency: float, seed: int = 7):
    rng = random.Random(seed)
    feeds_items: dict[int, list[dict]] = {f: [] for f in range(n_feeds)}
    originals = []
    for i in range(n_articles):
        feed = i % n_feeds
        host = f"outlet{feed}.test"
        agency = rng.choice(AGENCIES)
        if originals and rng.random() < 0.1:  # a syndicated pickup of an earlier article
            paragraphs = list(rng.choice(originals))
            paragraphs[0] = f"Dikutip dari kantor berita nasional, {paragraphs[0]}"
        else:
            paragraphs = synthetic_text(rng, agency)
            originals.append(paragraphs)
        title = f"{agency} {rng.choice(VERBS)} {rng.choice(OBJECTS)} ({i})"
        server.routes[f"/{host}/berita/{i}"] = Reply(200, article_html(title, paragraphs).encode(),
                                                     {"Content-Type": "text/html; charset=utf-8"}, delay_s=latency)
        feeds_items[feed].append({"title": title, "link": f"http://{host}:{server.port}/berita/{i}",
                                  "date": f"Mon, 23 Nov 2026 {8 + i % 12:02d}:{i % 60:02d}:00 WIB"})
    feeds = []
    for feed, items in feeds_items.items():
        body = rss(items)

        def route(req, body=body):
            if req.headers.get("if-none-match") == '"v1"':
                return Reply(304, b"")
            return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, delay_s=latency)

        server.routes[f"/outlet{feed}.test/rss"] = route
        feeds.append({"name": f"outlet{feed}", "url": f"http://outlet{feed}.test:{server.port}/rss", "outlet": f"Outlet {feed}"})
    return feeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.02, help="server delay per response, seconds")
    parser.add_argument("--baseline", action="store_true", help="also run the same corpus with sequential fetching")
    parser.add_argument("--analysis", action="store_true", help="run the default analysis stage in the pipeline")
    parser.add_argument("--model-threads", type=int, default=None, help="settings.analysis.threads (default: one per CPU)")
    args = parser.parse_args()
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        feeds = build(server, args.articles, args.feeds, args.latency)
        config = make_config(feeds, extract_workers=args.workers, per_host_gap_s=0.0, total_timeout_s=30,
                             min_text_chars=200, page_batch_size=100)
        store = Store(Path(tmp) / "bench.duckdb")
        analyze = None
        if args.analysis:
            from monitor.analysis.analyze import build_analyzer
            from monitor.config import load_config

            register = load_config(ROOT / "feeds.yaml")
            from monitor.runner import analysis_stage

            settings = register.settings
            if args.model_threads:
                settings = settings.model_copy(update={"analysis": settings.analysis.model_copy(update={"threads": args.model_threads})})
            analyze = analysis_stage(build_analyzer(settings, register.topics, register.agencies))
        policy = FetchPolicy.from_settings(config.settings)
        with make_client(policy, lambda host, port: ["127.0.0.1"]) as client, \
                ExtractionSandbox(args.workers, 30, min_text_chars=200) as sandbox:
            started = time.perf_counter()
            first = run_once(RunContext.create(config, store, client, sandbox, force=True, limiter=HostLimiter(2, 0.0),
                                               analyze=analyze))
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = run_once(RunContext.create(config, store, client, sandbox, force=True, limiter=HostLimiter(2, 0.0)))
            second_s = time.perf_counter() - started
        db_bytes = (Path(tmp) / "bench.duckdb").stat().st_size
        baseline_s = None
        if args.baseline:  # the naive way: one request at a time, same corpus, fresh database
            sequential = make_config(feeds, extract_workers=args.workers, per_host_gap_s=0.0, total_timeout_s=30,
                                     min_text_chars=200, page_batch_size=100, fetch_workers=1)
            with make_client(policy, lambda host, port: ["127.0.0.1"]) as client, \
                    ExtractionSandbox(args.workers, 30, min_text_chars=200) as sandbox:
                started = time.perf_counter()
                run_once(RunContext.create(sequential, Store(Path(tmp) / "baseline.duckdb"), client, sandbox, force=True,
                                           limiter=HostLimiter(1, 0.0)))
                baseline_s = time.perf_counter() - started
    stored = first.new_articles + first.duplicates
    rate = stored / first_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"first run: {stored}/{args.articles} articles stored ({first.new_articles} new, {first.duplicates} duplicates, "
          f"{first.extraction_failures} extraction failures) from {first.feeds_ok} feeds in {first_s:.1f}s = {rate:.1f} articles/s")
    shares = ", ".join(f"{k} {100 * v / first_s:.0f}%" for k, v in sorted(first.stage_seconds.items(), key=lambda kv: -kv[1]))
    print(f"time by stage: {shares}")
    if baseline_s:
        print(f"sequential fetching (1 request at a time), same corpus: {baseline_s:.1f}s = {stored / baseline_s:.1f} articles/s; "
              f"concurrent is {baseline_s / first_s:.1f}x faster")
    if args.analysis:
        print(f"analysis: {first.analyzed} articles analysed, {first.stage_seconds.get('analysis', 0):.1f}s in analysis; "
              f"main thread waited {first.stage_seconds.get('waiting for pages', 0):.1f}s for pages")
    print(f"rerun, every feed 304: {second.feeds_not_modified} not modified in {second_s:.2f}s "
          f"({first_s / second_s:.0f}x faster than the first run)")
    print(f"database: {db_bytes / 1e6:.1f} MB ({db_bytes / max(stored, 1) / 1024:.1f} KiB per article); "
          f"peak RSS of this process {peak_mb:.0f} MB (extraction workers not included)")
    ok = stored == args.articles and first_s / second_s >= FLOOR_RERUN_SPEEDUP and second_s <= FLOOR_RERUN_S
    ok = ok and (args.analysis or rate >= FLOOR_ARTICLES_PER_S)  # with analysis the model sets the pace
    print("PASS" if ok else f"FAIL (floors: all stored, {FLOOR_ARTICLES_PER_S} articles/s without analysis, "
          f"rerun {FLOOR_RERUN_SPEEDUP}x faster and under {FLOOR_RERUN_S}s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
