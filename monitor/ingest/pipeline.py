"""The one place that strings the ingest stages together: fetch feeds → parse → fetch pages → extract → dedupe →
detect mentions → (analyse) → store. Each stage is a plain function over typed records; the network (an
httpx.Client), the extraction sandbox, the store and the analysis stage come in a `RunContext`.

Feeds are fetched in parallel and written in batches of 50 feeds (state, fetch log, entries). Pages are then
taken from the `entries` queue in batches of `page_batch_size`: the pages and extraction of batch k+1 run in a
background thread while batch k is deduplicated, analysed and written here (only this thread touches the
database). A run asked to stop commits the batch it is writing and leaves the rest pending.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import httpx

from monitor.config import Config, Settings
from monitor.db.store import Store, dict_rows, scalar, write_batch
from monitor.errors import DatabaseLockedError, HostHeldError, RateLimitedError
from monitor.ingest.dedupe import Headline, StoryIndex, headline_keys, signature
from monitor.ingest.extract import ExtractedPage, ExtractionSandbox, merge_pages, parse_page_date
from monitor.ingest.fallback import FeedRound, OncePerRun, fetch_round, settle_round
from monitor.ingest.feed_state import FeedOutcome, FeedSchedule, feed_entries
from monitor.ingest.fetch import FetchPolicy, HostLimiter
from monitor.ingest.gnews import ARTICLE_ID, GoogleFormatError, decode_links, google_id_of, needs_decoding
from monitor.ingest.interstitial import interstitial_reason
from monitor.ingest.mentions import AgencyMatcher, lead_sentences_of, matcher_from_config
from monitor.ingest.pages import PageOutcome, fetch_page, host_holds
from monitor.ingest.sitemap_source import SitemapRules
from monitor.ingest.urls import host_of, normalize_url, url_key
from monitor.localtime import LocalTime, local_time
from monitor.records import (
    AgencyRow,
    ArticleAnalysisRow,
    ArticleRow,
    Batch,
    EntryRow,
    EntryUpdate,
    FeedRow,
    GoogleLinkRow,
    MentionRow,
    RunRow,
)
from monitor.runlog import CURRENT_RUN
from monitor.statuses import ArticleStatus, DateSource, EntryState, FeedStatus, RunStatus

log = logging.getLogger(__name__)
UTC = dt.UTC
FEED_WRITE_BATCH = 50
GOOGLE_ID_PATTERN = ARTICLE_ID.pattern  # the same id, read in SQL to find stored decodes
Progress = Callable[[str, int, int], None]
# The analysis stage, handed in by the composition root: (articles, mentions, now) -> analysis records.
AnalysisStage = Callable[[list[ArticleRow], list[MentionRow], dt.datetime], Batch]


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: nothing to show."""


@dataclass
class RunContext:
    """Everything one ingest run uses, built once by the composition root (monitor/runner.py) or a test."""

    config: Config
    store: Store
    client: httpx.Client
    sandbox: ExtractionSandbox
    matcher: AgencyMatcher
    limiter: HostLimiter
    rng: random.Random
    analyze: AnalysisStage | None = None
    clock: Callable[[], dt.datetime] = utc_now
    progress: Progress = no_progress
    stop: threading.Event | None = None
    trigger: str = "cli"
    force: bool = False

    @classmethod
    def create(cls, config: Config, store: Store, client: httpx.Client, sandbox: ExtractionSandbox, *,
               matcher: AgencyMatcher | None = None, analyze: AnalysisStage | None = None,
               now: Callable[[], dt.datetime] | None = None, seed: int | None = None,
               limiter: HostLimiter | None = None, progress: Progress | None = None,
               stop: threading.Event | None = None, trigger: str = "cli", force: bool = False) -> RunContext:
        """A context with the defaults of the configuration filled in (matcher, host limiter, clock)."""
        settings = config.settings
        return cls(config=config, store=store, client=client, sandbox=sandbox,
                   matcher=matcher or matcher_from_config(config),
                   limiter=limiter or HostLimiter(settings.per_host_concurrency, settings.per_host_gap_s),
                   rng=random.Random(seed), analyze=analyze, clock=now or utc_now, progress=progress or no_progress,
                   stop=stop, trigger=trigger, force=force)

    @property
    def policy(self) -> FetchPolicy:
        return FetchPolicy.from_settings(self.config.settings)

    @property
    def local_time(self) -> LocalTime:
        return local_time(self.config.settings)

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass
class RunSummary:
    """Counters of one run (printed by the CLI, stored in `runs`)."""

    run_id: str
    status: RunStatus = RunStatus.RUNNING
    feeds_due: int = 0
    feeds_ok: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    duplicates: int = 0
    extraction_failures: int = 0
    pages_failed: int = 0
    pages_deferred: int = 0  # not requested or answered 429/503: the host asked to wait (not a failure)
    spooled_batches: int = 0
    analyzed: int = 0
    elapsed_s: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # where the time went
    error: str | None = None
    feed_failures: list[tuple[str, str]] = field(default_factory=list)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.perf_counter() - started

    def run_row(self, started_at: dt.datetime, finished_at: dt.datetime | None, trigger: str) -> RunRow:
        return RunRow(run_id=self.run_id, started_at=started_at, finished_at=finished_at, status=self.status,
                      feeds_due=self.feeds_due, feeds_ok=self.feeds_ok, feeds_not_modified=self.feeds_not_modified,
                      feeds_failed=self.feeds_failed, new_articles=self.new_articles, duplicates=self.duplicates,
                      extraction_failures=self.extraction_failures, pages_failed=self.pages_failed,
                      spooled_batches=self.spooled_batches, error=self.error, pid=os.getpid(), trigger=trigger)

    def count_wait(self, since: float, until: float, prefetched: PrefetchedPages) -> None:
        """Main-thread time spent waiting for a page batch, beyond the page work it overlapped (which is counted
        under "pages" and "extract" already), so stage times add up to no more than the run."""
        overlap = max(0.0, min(until, prefetched.finished) - max(since, prefetched.started))
        self.stage_seconds["waiting for pages"] = self.stage_seconds.get("waiting for pages", 0.0) + max(
            0.0, until - since - overlap)

    def count_feed(self, outcome: FeedOutcome) -> None:
        status = outcome.status
        if outcome.failed:
            self.feeds_failed += 1
            self.feed_failures.append((outcome.feed.name, outcome.reason or status.value))
        elif status is FeedStatus.NOT_MODIFIED:
            self.feeds_not_modified += 1
        else:
            self.feeds_ok += 1


def feed_batch(rounds: list[FeedRound], states: dict[str, FeedRow], ctx: RunContext, run_id: str,
               now: dt.datetime, summary: RunSummary) -> Batch:
    """Rows of fetched feeds: the feeds' next state, the fetch log, entries and where each entry was seen, and
    the switches to and from fallback sources."""
    settings = ctx.config.settings
    batch = Batch()
    for fetched in rounds:
        feed = fetched.feed
        schedule = FeedSchedule(interval=dt.timedelta(minutes=feed.interval_minutes or settings.fetch_interval_minutes),
                                max_backoff=dt.timedelta(hours=settings.max_backoff_hours), jitter=ctx.rng.random())
        state, log_row, switch = settle_round(states.get(feed.name), fetched, now, schedule, settings, run_id)
        batch.add(state, log_row, *([switch] if switch else []))
        for outcome in fetched.outcomes:
            entries, sources = feed_entries(outcome, now)
            batch.add(*entries, *sources)
        summary.count_feed(fetched.main if fetched.probe is None or fetched.probe.failed else fetched.probe)
    batch.extend(host_holds([(o.url, o.error) for r in rounds for o in r.outcomes], now, ctx.limiter))
    return batch


@dataclass
class PrefetchedPages:
    """A page batch fetched and extracted in the background, with when that work ran (perf_counter seconds)."""

    outcomes: list[PageOutcome]
    pages: list[ExtractedPage | None]
    started: float
    finished: float


def page_batch(outcomes: list[PageOutcome], pages: list[ExtractedPage | None], now: dt.datetime, ctx: RunContext,
               index: StoryIndex, summary: RunSummary) -> Batch:
    """Rows for one batch of pages: articles, mentions, and the entries' new queue state."""
    settings = ctx.config.settings
    batch = Batch()
    for outcome, page in zip(outcomes, pages, strict=True):
        entry = outcome.entry
        attempts = (entry.attempts or 0) + 1
        error = outcome.error
        if isinstance(error, RateLimitedError):
            # the server's pacing, not a failure of the page: wait as long as it asked, never give up for it
            summary.pages_deferred += 1
            attempts -= 1 if isinstance(error, HostHeldError) else 0
            wait = dt.timedelta(seconds=error.retry_after) if error.retry_after else dt.timedelta(minutes=15)
            batch.add(EntryUpdate(entry_id=entry.entry_id, attempts=attempts, state=EntryState.RETRY,
                                  last_reason=error.reason, next_attempt_at=now + wait))
            continue
        if error is not None:
            summary.pages_failed += 1
            if error.retryable and attempts < settings.max_page_attempts:
                batch.add(EntryUpdate(entry_id=entry.entry_id, attempts=attempts, state=EntryState.RETRY,
                                      last_reason=error.reason,
                                      next_attempt_at=now + dt.timedelta(minutes=15 * 2 ** (attempts - 1))))
                continue
            page = (ExtractedPage(ArticleStatus.UNRESOLVED, f"Google News link not decoded: {error.reason}")
                    if isinstance(error, GoogleFormatError) else
                    ExtractedPage(ArticleStatus.FETCH_FAILED, f"page fetch failed: {error.reason}"))
        assert page is not None  # a fetched page was extracted
        wall = interstitial_reason(outcome.result.requested_url, outcome.result.final_url, page.text, page.title) \
            if outcome.result is not None and page.status != ArticleStatus.FETCH_FAILED else None
        if wall is not None:
            page = ExtractedPage(ArticleStatus.INTERSTITIAL, wall)
        article = article_row(outcome, page, now, ctx.local_time, index, summary)
        batch.add(article)
        body_for_mentions = article.text if article.text else entry.summary
        for mention in ctx.matcher.mentions(article.title, body_for_mentions, article.published_at):
            batch.add(MentionRow(article_id=article.article_id, agency_id=mention.agency_id,
                                 mention_count=mention.mention_count, in_title=mention.in_title,
                                 in_lead=mention.in_lead, forms=mention.forms, sentences=mention.sentences,
                                 legacy_name=mention.legacy_name))
        if wall is not None and attempts < settings.max_page_attempts:  # the wall may be gone next time
            batch.add(EntryUpdate(entry_id=entry.entry_id, attempts=attempts, state=EntryState.RETRY, last_reason=wall,
                                  next_attempt_at=now + dt.timedelta(minutes=15 * 2 ** (attempts - 1)),
                                  article_id=article.article_id))
            continue
        batch.add(EntryUpdate(entry_id=entry.entry_id, attempts=attempts, state=EntryState.DONE,
                              last_reason=page.reason, article_id=article.article_id))
    batch.extend(host_holds([(o.page_url or "", o.error) for o in outcomes], now, ctx.limiter))
    batch.extend(o.decoded for o in outcomes if o.decoded is not None)
    return batch


def article_row(outcome: PageOutcome, page: ExtractedPage, now: dt.datetime, local: LocalTime, index: StoryIndex,
                summary: RunSummary) -> ArticleRow:
    """The article of one fetched (or finally failed) page, with its story cluster decided."""
    entry, result = outcome.entry, outcome.result
    final_url = result.final_url if result else outcome.page_url
    if result is not None and host_of(final_url or "") == "news.google.com":
        page = ExtractedPage(ArticleStatus.UNRESOLVED, "Google News link did not lead to the publisher's page")
    canonical = page.canonical_url or None
    own_id = url_key(final_url or entry.url or "")
    if canonical and url_key(canonical) != own_id:
        # a canonical link merges this page into another article only when their texts agree (a consent wall or
        # a broken template gives many different stories one canonical URL)
        known = index.hash_of(url_key(canonical))
        if not page.content_hash or (known is not None and known != page.content_hash):
            canonical = None
    article_id = url_key(canonical or final_url or entry.url or "")
    has_text = page.status in ArticleStatus.with_text() and bool(page.text)
    if page.status not in (ArticleStatus.OK, ArticleStatus.FETCH_FAILED, ArticleStatus.UNRESOLVED, ArticleStatus.INTERSTITIAL):
        summary.extraction_failures += 1
    published, date_source = entry.published_at, DateSource.FEED
    if published is None:
        published = parse_page_date(page.published, local)
        date_source = DateSource.PAGE if published else DateSource.UNKNOWN
    values = signature(page.text) if has_text and page.text else None
    headline = Headline(frozenset(headline_keys(page.title, strip_outlet=True) | headline_keys(entry.title)),
                        (published or now).astimezone(UTC).date())
    decision = index.decide(article_id, page.content_hash if has_text else None, values, headline)
    if decision.known or decision.same_text_as or decision.cluster_id != article_id:
        summary.duplicates += 1
    else:
        summary.new_articles += 1
    text = page.text or None
    return ArticleRow(
        article_id=article_id, url=entry.url, canonical_url=canonical or normalize_url(final_url or entry.url or ""),
        final_url=final_url, outlet=outcome.outlet or host_of(final_url or entry.url or ""), site_name=page.site_name,
        title=page.title or entry.title, author=page.author, published_at=published, date_source=date_source,
        fetched_at=now, language=page.language, text=text, lead=lead_sentences_of(text),
        content_hash=page.content_hash, minhash=values, same_text_as=decision.same_text_as,
        cluster_id=decision.cluster_id, status=ArticleStatus(page.status), status_reason=page.reason, updated_at=now)


def load_story_index(store: Store, settings: Settings, now: dt.datetime) -> StoryIndex:
    """The articles of the dedupe window, to cluster new pages against."""
    index = StoryIndex(settings.near_duplicate_threshold)
    since = now - dt.timedelta(days=settings.dedupe_window_days)
    with store.session(read_only=True) as con:
        rows = con.execute("SELECT a.article_id, a.content_hash, a.minhash, a.cluster_id, a.title, "
                           "       list(DISTINCT e.title) FILTER (e.title IS NOT NULL), "
                           "       CAST(timezone('UTC', coalesce(a.published_at, a.fetched_at)) AS DATE) FROM articles a "
                           "LEFT JOIN entries e ON e.article_id = a.article_id "
                           "WHERE coalesce(a.published_at, a.fetched_at) >= ? "
                           "GROUP BY a.article_id, a.content_hash, a.minhash, a.cluster_id, a.title, a.fetched_at, "
                           "         a.published_at ORDER BY a.fetched_at, a.article_id", [since]).fetchall()
    for article_id, chash, values, cluster, title, entry_titles, day in rows:
        keys = headline_keys(title, strip_outlet=chash is not None).union(*(headline_keys(t) for t in entry_titles or []))
        index.add(article_id, chash, values, cluster or article_id, Headline(frozenset(keys), day))
    return index


def new_run_id(started: dt.datetime) -> str:
    return f"{started.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


def run_once(ctx: RunContext) -> RunSummary:
    """One pass of the ingest job. Raises DatabaseLockedError only when nothing could be started."""
    started, t0 = ctx.clock(), time.monotonic()
    summary = RunSummary(run_id=new_run_id(started))
    CURRENT_RUN.set(summary.run_id)
    ctx.store.replay_spool()
    register = [AgencyRow(agency_id=a.id, name=a.name, type=a.type, parent=a.parent, abbreviations=a.abbreviations)
                for a in ctx.config.agencies]
    first = Batch()
    first.add(summary.run_row(started, None, ctx.trigger), *register)
    with ctx.store.session() as con:
        write_batch(con, first, ctx.store.local_time)
        states = {row["feed_id"]: FeedRow(**row) for row in dict_rows(con, "SELECT * FROM feeds")}
        for host, until, reason in con.execute("SELECT host, held_until, reason FROM host_holds WHERE held_until > ?",
                                               [started]).fetchall():
            ctx.limiter.hold(f"http://{host}/", until, reason)
    try:
        _ingest(ctx, states, summary)
        summary.status = RunStatus.OK if summary.spooled_batches == 0 else RunStatus.SPOOLED
        if ctx.stopping():
            summary.status = RunStatus.STOPPED  # the last batch was committed, the rest waits for the next run
    except DatabaseLockedError as exc:
        summary.status, summary.error = RunStatus.DB_LOCKED, str(exc)
    except Exception as exc:
        summary.status, summary.error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        log.exception("run %s failed", summary.run_id)
    summary.elapsed_s = time.monotonic() - t0
    last = Batch()
    last.add(summary.run_row(started, ctx.clock(), ctx.trigger))
    with contextlib.suppress(DatabaseLockedError):
        ctx.store.write_or_spool(last)
    return summary


def due_feeds(ctx: RunContext, states: dict[str, FeedRow], now: dt.datetime) -> list:
    """Enabled feeds that are due (or all with `force`); a feed whose URL the operator changed is due at once."""
    due = []
    for feed in ctx.config.feeds:
        state = states.get(feed.name)
        if feed.enabled and (ctx.force or state is None or state.next_fetch_at is None or state.next_fetch_at <= now
                             or state.configured_url != feed.url):
            due.append(feed)
    return due


def _ingest(ctx: RunContext, states: dict[str, FeedRow], summary: RunSummary) -> None:
    settings = ctx.config.settings
    now = ctx.clock()
    due = due_feeds(ctx, states, now)
    summary.feeds_due = len(due)
    outcomes: list[FeedRound] = []
    policy = ctx.policy
    shared = OncePerRun()
    with summary.timed("feeds"), ThreadPoolExecutor(max_workers=settings.fetch_workers) as pool:
        futures = [pool.submit(contextvars.copy_context().run, fetch_round, ctx.client, policy, ctx.limiter, feed,
                               states.get(feed.name), now, max_items=settings.max_items_per_feed, local=ctx.local_time,
                               sitemap_rules=SitemapRules(settings.sitemap_first_days, settings.max_sitemap_children),
                               shared=shared)
                   for feed in due]
        for done, future in enumerate(futures, 1):
            outcomes.append(future.result())
            ctx.progress("feeds", done, len(futures))
    for start in range(0, len(outcomes), FEED_WRITE_BATCH):
        batch = feed_batch(outcomes[start : start + FEED_WRITE_BATCH], states, ctx, summary.run_id, ctx.clock(), summary)
        with summary.timed("write"):
            if not ctx.store.write_or_spool(batch):
                summary.spooled_batches += 1
    if summary.spooled_batches:
        return  # the entries are only on disk; pages are fetched next run after the spool is written
    _pages(ctx, summary, load_story_index(ctx.store, settings, now))


def _pages(ctx: RunContext, summary: RunSummary, index: StoryIndex) -> None:
    """Work through the entries queue, one page batch at a time, prefetching the next batch."""
    settings = ctx.config.settings
    policy = ctx.policy
    attempted: set[str] = set()

    def next_pending() -> tuple[list[tuple[EntryRow, str | None, str | None]], int]:
        with ctx.store.session(read_only=True) as con:
            pending = dict_rows(con, "SELECT e.*, (SELECT s.outlet FROM entry_sources s WHERE s.entry_id = e.entry_id "
                                     "ORDER BY s.first_seen_at, s.feed_id LIMIT 1) AS outlet, g.publisher_url FROM entries e "
                                     "LEFT JOIN google_news_links g ON g.google_id = regexp_extract(e.url, ?, 1) "
                                     "WHERE state = ? OR (state = ? AND next_attempt_at <= ?) "
                                     "ORDER BY discovered_at, published_at NULLS LAST, entry_id",
                                [GOOGLE_ID_PATTERN, EntryState.PENDING, EntryState.RETRY, ctx.clock()])
            total = scalar(con, "SELECT count(*) FROM entries WHERE state IN (?, ?)", [EntryState.PENDING, EntryState.RETRY])
        chosen = [row for row in pending if row["entry_id"] not in attempted][: settings.page_batch_size]
        attempted.update(row["entry_id"] for row in chosen)
        return [(EntryRow(**{k: v for k, v in row.items() if k not in ("outlet", "publisher_url")}), row["outlet"],
                 row["publisher_url"]) for row in chosen], total

    def fetch_and_extract(pending: list[tuple[EntryRow, str | None, str | None]]) -> PrefetchedPages:
        started = time.perf_counter()
        with summary.timed("pages"):
            links = sorted({e.url for e, _, known in pending if e.url and known is None and needs_decoding(e.url)})
            decoded = decode_links(ctx.client, policy, ctx.limiter, links, ctx.clock()) if links else {}
        with summary.timed("pages"), ThreadPoolExecutor(max_workers=settings.fetch_workers) as pool:
            context = contextvars.copy_context()
            page_outcomes = list(pool.map(
                lambda item: context.copy().run(partial(fetch_page, decoded=item[2] or decoded.get(item[0].url or "")),
                                                ctx.client, policy, ctx.limiter, item[0], item[1], ctx.clock(), settings),
                pending))
        for outcome in page_outcomes:
            google_id, answer = google_id_of(outcome.entry.url or ""), decoded.get(outcome.entry.url or "")
            if google_id and isinstance(answer, str):
                outcome.decoded = GoogleLinkRow(google_id=google_id, publisher_url=answer, decoded_at=ctx.clock())
        to_extract = [(r.body, r.final_url, r.content_type) for o in page_outcomes if o.result for r in (o.result, *o.more)]
        with summary.timed("extract"):
            extracted = iter(ctx.sandbox.extract_many(to_extract)) if to_extract else iter(())
        pages: list[ExtractedPage | None] = []
        for o in page_outcomes:
            if o.result is None:
                pages.append(None)
                continue
            first = next(extracted)
            rest = [next(extracted) for _ in o.more]
            pages.append(merge_pages(first, rest, settings.min_text_chars, o.incomplete) if rest or o.incomplete else first)
        return PrefetchedPages(page_outcomes, pages, started, time.perf_counter())

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as prefetcher:
        pending, total = next_pending() if not ctx.stopping() else ([], 0)
        future: Future | None = prefetcher.submit(contextvars.copy_context().run, fetch_and_extract, pending) if pending else None
        finished = 0
        while future is not None and not ctx.stopping():  # on stop the prefetched pages stay pending for the next run
            waiting_since = time.perf_counter()
            prefetched = future.result()
            summary.count_wait(waiting_since, time.perf_counter(), prefetched)
            page_outcomes, pages = prefetched.outcomes, prefetched.pages
            current, current_total = pending, total
            future = None
            if not ctx.stopping():
                pending, total = next_pending()
                if pending:
                    future = prefetcher.submit(contextvars.copy_context().run, fetch_and_extract, pending)
            if not _finish_batch(ctx, index, summary, page_outcomes, pages):
                if future is not None:
                    future.cancel()
                return
            finished += len(current)
            ctx.progress("pages", finished, finished + max(0, current_total - len(current)))


def _finish_batch(ctx: RunContext, index: StoryIndex, summary: RunSummary, page_outcomes: list[PageOutcome],
                  pages: list[ExtractedPage | None]) -> bool:
    """Deduplicate, find mentions, analyse and write one batch of fetched pages; False when it had to be spooled."""
    with summary.timed("dedupe+mentions"):
        batch = page_batch(page_outcomes, pages, ctx.clock(), ctx, index, summary)
    if ctx.analyze is not None:
        with summary.timed("analysis"):
            analysis = ctx.analyze(batch.of(ArticleRow), batch.of(MentionRow), ctx.clock())
        batch.merge(analysis)
        summary.analyzed += len(analysis.of(ArticleAnalysisRow))
    with summary.timed("write"):
        written = ctx.store.write_or_spool(batch)
    if not written:
        summary.spooled_batches += 1
    return written
