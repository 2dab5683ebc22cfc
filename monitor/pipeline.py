"""The one place that strings the stages together: fetch feeds → parse → fetch pages → extract → dedupe →
detect mentions → store. Each stage is a plain function over records; the network (an httpx.Client), the
extraction sandbox and the store are handed in.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import fcntl
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from monitor.agencies import AgencyMatcher, lead_sentences_of, matcher_from_config
from monitor.config import Config, FeedConfig
from monitor.dedupe import StoryIndex, signature
from monitor.errors import DatabaseLockedError, FetchError, RateLimitedError, RunLockedError
from monitor.extract import ExtractedPage, ExtractionSandbox, parse_page_date
from monitor.feeds import Entry, ParsedFeed, parse_feed
from monitor.fetch import FetchPolicy, FetchResult, HostLimiter, fetch
from monitor.store import Batch, Store, dict_rows, write_batch
from monitor.urls import decode_google_news_link, host_of, is_google_news_link, normalize_url, url_key

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
CURRENT_RUN: contextvars.ContextVar[str] = contextvars.ContextVar("monitor_run_id", default="-")


class RunIdFilter(logging.Filter):
    """Adds `run_id` (the ingest run in progress in this context, or '-') to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = CURRENT_RUN.get()
        return True
UNCONDITIONAL_EVERY = dt.timedelta(hours=24)  # validators can lie: refetch without them once a day
Progress = Callable[[str, int, int], None]


@dataclass
class RunSummary:
    run_id: str
    status: str = "running"
    feeds_due: int = 0
    feeds_ok: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    duplicates: int = 0
    extraction_failures: int = 0
    pages_failed: int = 0
    spooled_batches: int = 0
    analyzed: int = 0
    elapsed_s: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # where the time went

    @contextlib.contextmanager
    def timed(self, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.perf_counter() - started
    error: str | None = None
    feed_failures: list[tuple[str, str]] = field(default_factory=list)

    def run_row(self, started_at: dt.datetime, finished_at: dt.datetime | None, trigger: str) -> dict:
        return {
            "run_id": self.run_id, "started_at": started_at, "finished_at": finished_at, "status": self.status,
            "feeds_due": self.feeds_due, "feeds_ok": self.feeds_ok, "feeds_not_modified": self.feeds_not_modified,
            "feeds_failed": self.feeds_failed, "new_articles": self.new_articles, "duplicates": self.duplicates,
            "extraction_failures": self.extraction_failures, "pages_failed": self.pages_failed,
            "spooled_batches": self.spooled_batches, "error": self.error, "pid": os.getpid(), "trigger": trigger,
        }


@contextlib.contextmanager
def run_lock(db_path: str):
    """Exclusive, non-blocking lock shared by cron-started runs and the scheduler. Raises RunLockedError."""
    lock_path = Path(str(db_path) + ".run.lock") if db_path != ":memory:" else None
    if lock_path is None:
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise RunLockedError(f"another monitor run is in progress ({holder or 'lock ' + str(lock_path)})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} since {dt.datetime.now(UTC).isoformat(timespec='seconds')}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def backoff_delay(interval: dt.timedelta, failures: int, max_backoff: dt.timedelta, rng: random.Random) -> dt.timedelta:
    """Exponential backoff from the feed's interval, capped, with ±10% jitter so feeds do not align."""
    base = min(interval * (2 ** max(0, failures - 1)), max_backoff)
    return base * rng.uniform(0.9, 1.1)


@dataclass
class FeedOutcome:
    feed: FeedConfig
    url: str
    result: FetchResult | None = None
    error: FetchError | None = None
    parsed: ParsedFeed | None = None
    unchanged_body: bool = False


def fetch_feed(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, feed: FeedConfig, state: dict,
               now: dt.datetime, max_items: int) -> FeedOutcome:
    """Fetch and parse one feed; failures come back in the outcome, never as exceptions."""
    url = state.get("url") if state.get("configured_url") == feed.url and state.get("url") else feed.url
    outcome = FeedOutcome(feed, url)
    last_unconditional = state.get("last_unconditional_at")
    conditional = last_unconditional is not None and now - last_unconditional < UNCONDITIONAL_EVERY
    try:
        with limiter(url):
            outcome.result = fetch(client, url, policy,
                                   etag=state.get("etag") if conditional else None,
                                   last_modified=state.get("last_modified") if conditional else None)
    except FetchError as exc:
        outcome.error = exc
        return outcome
    result = outcome.result
    if result.not_modified:
        return outcome
    if state.get("body_hash") and state["body_hash"] == result.body_sha1:
        outcome.unchanged_body = True  # the server ignored our validators, but nothing changed
        return outcome
    outcome.parsed = parse_feed(result.body, result.final_url, content_type=result.content_type, now=now,
                                max_items=max_items, max_url_length=policy.max_url_length)
    return outcome


def feed_batch(outcomes: list[FeedOutcome], states: dict[str, dict], run_id: str, now: dt.datetime,
               config: Config, rng: random.Random, summary: RunSummary) -> Batch:
    """Turn feed outcomes into rows: feed state, fetch log, entries and where each entry was seen."""
    settings = config.settings
    batch: Batch = {"feeds": [], "feed_fetches": [], "entries": [], "entry_sources": []}
    for outcome in outcomes:
        feed, state = outcome.feed, dict(states.get(outcome.feed.name, {}))
        interval = dt.timedelta(minutes=feed.interval_minutes or settings.fetch_interval_minutes)
        row = {
            "feed_id": feed.name, "configured_url": feed.url, "url": state.get("url") or feed.url,
            "outlet": feed.outlet, "language": feed.language, "etag": state.get("etag"),
            "last_modified": state.get("last_modified"), "body_hash": state.get("body_hash"),
            "consecutive_failures": state.get("consecutive_failures") or 0, "failing_since": state.get("failing_since"),
            "last_success_at": state.get("last_success_at"), "last_fetch_at": now,
            "items_last": state.get("items_last"), "last_unconditional_at": state.get("last_unconditional_at"),
        }
        if state.get("configured_url") != feed.url:
            row["url"] = feed.url  # the operator changed the URL: start again from it
        log_row = {"run_id": run_id, "feed_id": feed.name, "fetched_at": now, "url": outcome.url,
                   "items": None, "new_entries": None, "elapsed_ms": None}
        result, error, parsed = outcome.result, outcome.error, outcome.parsed
        failed_reason, status = None, None
        if error is not None:
            status = "rate_limited" if isinstance(error, RateLimitedError) else (
                "blocked" if "blocked" in error.reason else "error")
            failed_reason = error.reason
            log_row["http_status"] = error.status_code
        elif parsed is not None and not parsed.is_feed:
            status, failed_reason = "not_a_feed", f"not a feed: {parsed.bozo_reason}"
            log_row["http_status"] = result.status_code
        if failed_reason is not None:
            failures = row["consecutive_failures"] + 1
            delay = backoff_delay(interval, failures, dt.timedelta(hours=settings.max_backoff_hours), rng)
            if isinstance(error, RateLimitedError) and error.retry_after is not None:
                delay = max(delay, dt.timedelta(seconds=error.retry_after))
            row.update(consecutive_failures=failures, failing_since=row["failing_since"] or now,
                       next_fetch_at=now + delay, last_status=status, last_reason=failed_reason,
                       last_http_status=log_row.get("http_status"))
            log_row.update(status=status, reason=failed_reason)
            summary.feeds_failed += 1
            summary.feed_failures.append((feed.name, failed_reason))
        else:
            log_row["elapsed_ms"] = int(result.elapsed_s * 1000)
            log_row["http_status"] = result.status_code
            if result.permanent_redirect_to:
                row["url"] = result.permanent_redirect_to
            if result.validators_usable:
                row["etag"] = result.etag or (row["etag"] if result.not_modified else None)
                row["last_modified"] = result.last_modified or (row["last_modified"] if result.not_modified else None)
            else:
                row["etag"] = row["last_modified"] = None
            if not (state.get("etag") or state.get("last_modified")) or row["last_unconditional_at"] is None \
                    or now - row["last_unconditional_at"] >= UNCONDITIONAL_EVERY:
                row["last_unconditional_at"] = now
            row.update(consecutive_failures=0, failing_since=None, last_success_at=now,
                       next_fetch_at=now + interval * rng.uniform(0.95, 1.05), last_http_status=result.status_code)
            if result.not_modified or outcome.unchanged_body:
                row.update(last_status="not_modified", last_reason=None)
                log_row.update(status="not_modified", reason="HTTP 304" if result.not_modified else "body unchanged")
                summary.feeds_not_modified += 1
            else:
                row["body_hash"] = result.body_sha1
                row["items_last"] = len(parsed.entries)
                reason = f"malformed feed, entries recovered ({parsed.bozo_reason})" if parsed.bozo else None
                if parsed.truncated:
                    reason = (reason + "; " if reason else "") + f"{parsed.truncated} items over the cap ignored"
                row.update(last_status="ok", last_reason=reason)
                log_row.update(status="ok", reason=reason, items=len(parsed.entries))
                summary.feeds_ok += 1
                for entry in parsed.entries:
                    batch["entries"].append(entry_row(entry, feed, now))
                    batch["entry_sources"].append({
                        "entry_id": entry.url_key, "feed_id": feed.name,
                        "outlet": entry.source_name if feed.kind == "google_news" and entry.source_name else feed.outlet,
                        "guid": entry.guid, "entry_title": entry.title, "entry_published_at": entry.published_at,
                        "first_seen_at": now})
        batch["feeds"].append(row)
        batch["feed_fetches"].append(log_row)
    return batch


def entry_row(entry: Entry, feed: FeedConfig, now: dt.datetime) -> dict:
    return {"entry_id": entry.url_key, "url": entry.url, "first_feed_id": feed.name, "title": entry.title,
            "summary": entry.summary, "published_at": entry.published_at, "date_status": entry.date_status,
            "raw_date": entry.raw_date, "source_name": entry.source_name, "discovered_at": now, "state": "pending",
            "attempts": 0, "last_reason": None, "next_attempt_at": None, "article_id": None}


@dataclass
class PageOutcome:
    entry: dict
    result: FetchResult | None = None
    error: FetchError | None = None
    page_url: str | None = None


def fetch_page(client, policy, limiter, entry: dict) -> PageOutcome:
    url = entry["url"]
    if is_google_news_link(url):
        url = decode_google_news_link(url) or url
    outcome = PageOutcome(entry, page_url=url)
    try:
        with limiter(url):
            outcome.result = fetch(client, url, policy)
    except FetchError as exc:
        outcome.error = exc
    return outcome


def page_batch(outcomes: list[PageOutcome], pages: list[ExtractedPage | None], now: dt.datetime, config: Config,
               matcher: AgencyMatcher, index: StoryIndex, outlets: dict[str, str], summary: RunSummary) -> Batch:
    """Rows for one batch of pages: articles, mentions, and the entries' new state."""
    settings = config.settings
    batch: Batch = {"articles": [], "mentions": [], "entry_updates": []}
    for outcome, page in zip(outcomes, pages, strict=True):
        entry = outcome.entry
        attempts = (entry.get("attempts") or 0) + 1
        update = {"entry_id": entry["entry_id"], "attempts": attempts, "state": "done", "last_reason": None,
                  "next_attempt_at": None, "article_id": None}
        if outcome.error is not None:
            if outcome.error.retryable and attempts < settings.max_page_attempts:
                update.update(state="retry", last_reason=outcome.error.reason,
                              next_attempt_at=now + dt.timedelta(minutes=15 * 2 ** (attempts - 1)))
                batch["entry_updates"].append(update)
                summary.pages_failed += 1
                continue
            page = ExtractedPage("fetch_failed", f"page fetch failed: {outcome.error.reason}")
            summary.pages_failed += 1
        result = outcome.result
        final_url = result.final_url if result else outcome.page_url
        if result is not None and host_of(final_url) == "news.google.com":
            page = ExtractedPage("unresolved", "Google News link did not lead to the publisher's page")
        canonical = page.canonical_url if page and page.canonical_url else None
        article_id = url_key(canonical or final_url or entry["url"])
        has_text = page.status in ("ok", "partial") and bool(page.text)
        if page.status not in ("ok", "fetch_failed", "unresolved"):
            summary.extraction_failures += 1
        text = page.text if page.text else None
        title = page.title or entry.get("title")
        published, date_source = entry.get("published_at"), "feed"
        if published is None:
            published = parse_page_date(page.published)
            date_source = "page" if published else "unknown"
        values = signature(text) if has_text else None
        decision = index.decide(article_id, page.content_hash if has_text else None, values)
        if decision.known or decision.same_text_as or decision.cluster_id != article_id:
            summary.duplicates += 1
        else:
            summary.new_articles += 1
        body_for_mentions = text if text else entry.get("summary")
        batch["articles"].append({
            "article_id": article_id, "url": entry["url"], "canonical_url": canonical or normalize_url(final_url or entry["url"]),
            "final_url": final_url, "outlet": outlets.get(entry["entry_id"]) or host_of(final_url or entry["url"]),
            "site_name": page.site_name, "title": title, "author": page.author, "published_at": published,
            "date_source": date_source, "fetched_at": now, "language": page.language, "text": text,
            "lead": lead_sentences_of(text), "content_hash": page.content_hash, "minhash": values,
            "same_text_as": decision.same_text_as, "cluster_id": decision.cluster_id, "status": page.status,
            "status_reason": page.reason, "updated_at": now,
        })
        for mention in matcher.mentions(title, body_for_mentions, published):
            batch["mentions"].append({
                "article_id": article_id, "agency_id": mention.agency_id, "mention_count": mention.mention_count,
                "in_title": mention.in_title, "in_lead": mention.in_lead, "forms": mention.forms,
                "sentences": mention.sentences, "legacy_name": mention.legacy_name})
        update["article_id"] = article_id
        update["last_reason"] = page.reason
        batch["entry_updates"].append(update)
    # Mentions of an article reached through two entries in one batch: keep one set (the last).
    return batch


def load_story_index(store: Store, settings, now: dt.datetime) -> StoryIndex:
    index = StoryIndex(settings.near_duplicate_threshold)
    since = now - dt.timedelta(days=settings.dedupe_window_days)
    with store.session(read_only=True) as con:
        rows = con.execute("SELECT article_id, content_hash, minhash, cluster_id FROM articles "
                           "WHERE coalesce(published_at, fetched_at) >= ? ORDER BY fetched_at, article_id", [since]).fetchall()
    for article_id, chash, values, cluster in rows:
        index.add(article_id, chash, values, cluster or article_id)
    return index


def run_once(config: Config, store: Store, client: httpx.Client, sandbox: ExtractionSandbox, *,
             analyzer=None, matcher: AgencyMatcher | None = None, now: Callable[[], dt.datetime] | None = None, force: bool = False,
             progress: Progress | None = None, trigger: str = "cli", seed: int | None = None,
             limiter: HostLimiter | None = None, stop: threading.Event | None = None) -> RunSummary:
    """One pass of the ingest job. Raises DatabaseLockedError only when nothing could be started."""
    clock = now or (lambda: dt.datetime.now(UTC))
    started, t0 = clock(), time.monotonic()
    rng = random.Random(seed)
    summary = RunSummary(run_id=f"{started.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}")
    CURRENT_RUN.set(summary.run_id)
    settings = config.settings
    policy = FetchPolicy.from_settings(settings)
    limiter = limiter or HostLimiter(settings.per_host_concurrency, settings.per_host_gap_s)
    matcher = matcher or matcher_from_config(config)
    progress = progress or (lambda stage, done, total: None)

    store.replay_spool()
    with store.session() as con:
        write_batch(con, {"runs": [summary.run_row(started, None, trigger)], "agencies": [
            {"agency_id": a.id, "name": a.name, "type": a.type, "parent": a.parent, "abbreviations": a.abbreviations}
            for a in config.agencies]})
        states = {row["feed_id"]: row for row in dict_rows(con, "SELECT * FROM feeds")}
    try:
        _ingest(config, store, client, sandbox, matcher, clock, force, progress, rng, policy, limiter, states, summary,
                analyzer, stop)
        summary.status = "ok" if summary.spooled_batches == 0 else "spooled"
        if stop is not None and stop.is_set():
            summary.status = "stopped"  # asked to stop: the last batch was committed, the rest waits for the next run
    except DatabaseLockedError as exc:
        summary.status, summary.error = "db_locked", str(exc)
    except Exception as exc:
        summary.status, summary.error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("run %s failed", summary.run_id)
    summary.elapsed_s = time.monotonic() - t0
    finished = clock()
    with contextlib.suppress(DatabaseLockedError):
        store.write_or_spool({"runs": [summary.run_row(started, finished, trigger)]})
    return summary


def _ingest(config, store, client, sandbox, matcher, clock, force, progress, rng, policy, limiter, states, summary,
            analyzer=None, stop=None):
    settings = config.settings
    now = clock()
    due = [f for f in config.feeds if f.enabled and (
        force or states.get(f.name, {}).get("next_fetch_at") is None
        or states[f.name]["next_fetch_at"] <= now or states[f.name].get("configured_url") != f.url)]
    summary.feeds_due = len(due)
    outcomes: list[FeedOutcome] = []
    with summary.timed("feeds"), ThreadPoolExecutor(max_workers=settings.fetch_workers) as pool:
        futures = [pool.submit(contextvars.copy_context().run, fetch_feed, client, policy, limiter, f,
                               states.get(f.name, {}), now, settings.max_items_per_feed) for f in due]
        for done, future in enumerate(futures, 1):
            outcomes.append(future.result())
            progress("feeds", done, len(futures))
    for start in range(0, len(outcomes), 50):
        chunk = outcomes[start : start + 50]
        batch = feed_batch(chunk, states, summary.run_id, clock(), config, rng, summary)
        with summary.timed("write"):
            written = store.write_or_spool(batch)
        if not written:
            summary.spooled_batches += 1
    if summary.spooled_batches:
        return  # the entries are only on disk; pages are fetched next run after the spool is written
    index = load_story_index(store, settings, now)
    attempted: set[str] = set()
    stopping = lambda: stop is not None and stop.is_set()  # noqa: E731

    def next_pending() -> tuple[list[dict], int]:
        with store.session(read_only=True) as con:
            pending = dict_rows(con, "SELECT e.*, (SELECT s.outlet FROM entry_sources s WHERE s.entry_id = e.entry_id "
                                  "ORDER BY s.first_seen_at, s.feed_id LIMIT 1) AS outlet FROM entries e "
                                  "WHERE state = 'pending' OR (state = 'retry' AND next_attempt_at <= ?) "
                                  "ORDER BY discovered_at, published_at NULLS LAST, entry_id", [clock()])
            total = con.execute("SELECT count(*) FROM entries WHERE state IN ('pending', 'retry')").fetchone()[0]
        pending = [p for p in pending if p["entry_id"] not in attempted][: settings.page_batch_size]
        attempted.update(p["entry_id"] for p in pending)
        return pending, total

    def fetch_and_extract(pending: list[dict]):
        with summary.timed("pages"), ThreadPoolExecutor(max_workers=settings.fetch_workers) as pool:
            context = contextvars.copy_context()
            page_outcomes = list(pool.map(lambda e: context.copy().run(fetch_page, client, policy, limiter, e), pending))
        to_extract = [(o.result.body, o.result.final_url, o.result.content_type) for o in page_outcomes if o.result]
        with summary.timed("extract"):
            extracted = iter(sandbox.extract_many(to_extract)) if to_extract else iter(())
        return page_outcomes, [next(extracted) if o.result else None for o in page_outcomes]

    # Pages and extraction of batch k+1 run in a background thread while batch k is deduplicated, analysed and
    # written here: the analysis stage is not left waiting for the network (only this thread touches the database).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as prefetcher:
        pending, total = next_pending() if not stopping() else ([], 0)
        future = prefetcher.submit(contextvars.copy_context().run, fetch_and_extract, pending) if pending else None
        finished = 0
        while future is not None and not stopping():  # on stop the prefetched pages stay pending for the next run
            with summary.timed("waiting for pages"):
                page_outcomes, pages = future.result()
            current, current_total = pending, total
            future = None
            if not stopping():
                pending, total = next_pending()
                if pending:
                    future = prefetcher.submit(contextvars.copy_context().run, fetch_and_extract, pending)
            if not _finish_batch(config, store, matcher, index, analyzer, clock, summary, current, page_outcomes, pages):
                if future is not None:
                    future.cancel()
                return
            finished += len(current)
            progress("pages", finished, finished + max(0, current_total - len(current)))


def _finish_batch(config, store, matcher, index, analyzer, clock, summary, pending, page_outcomes, pages) -> bool:
    """Deduplicate, find mentions, analyse and write one batch of fetched pages; False when it had to be spooled."""
    outlets = {p["entry_id"]: p.get("outlet") for p in pending}
    with summary.timed("dedupe+mentions"):
        batch = page_batch(page_outcomes, pages, clock(), config, matcher, index, outlets, summary)
    if analyzer is not None:
        from monitor.analysis.analyze import analysis_rows

        with summary.timed("analysis"):
            batch.update(analysis_rows(analyzer, batch["articles"], batch["mentions"], clock()))
        summary.analyzed += len(batch["article_analysis"])
    with summary.timed("write"):
        written = store.write_or_spool(batch)
    if not written:
        summary.spooled_batches += 1
    return written
