"""The composition root: builds the real network client, extraction sandbox, store and analysis stage from a
validated `Config`, and runs. The CLI, the scheduler and the demo call these functions; nothing below this
layer imports back up.

Errors raised (never `typer.Exit`): `RunLockedError` (another run holds the lock), `DatabaseLockedError`
(the database stayed locked before anything started), `AnalysisUnavailableError` (analysis is enabled but its
model cannot be loaded).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.db.store import Store
from monitor.errors import AnalysisUnavailableError, RunLockedError
from monitor.localtime import local_time
from monitor.records import ArticleRow, MentionRow
from monitor.statuses import ArticleStatus

if TYPE_CHECKING:
    from monitor.analysis.analyze import Analyzer
    from monitor.ingest.mentions import AgencyMatcher
    from monitor.ingest.pipeline import AnalysisStage, Progress, RunSummary

UTC = dt.UTC


@contextlib.contextmanager
def run_lock(db_path: str | Path) -> Iterator[None]:
    """Exclusive, non-blocking lock shared by cron-started runs, the scheduler and reanalyze (`<db>.run.lock`).
    Raises RunLockedError naming the holder."""
    if str(db_path) == ":memory:":
        yield
        return
    lock_path = Path(str(db_path) + ".run.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")  # noqa: SIM115 - held for the whole run
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


def open_store(config: Config, db: str | Path, lock_timeout_s: float | None = None) -> Store:
    """The store of `db`, with the configured zone and lock timeout."""
    settings = config.settings
    return Store(db, lock_timeout_s=settings.db_lock_timeout_s if lock_timeout_s is None else lock_timeout_s,
                 local_time=local_time(settings))


def build_analyzer(config: Config) -> Analyzer:
    """The analyzer described by settings.analysis. Raises AnalysisUnavailableError with the reason."""
    from monitor.analysis.analyze import build_analyzer as build

    try:
        return build(config.settings, config.topics, config.agencies)
    except (FileNotFoundError, RuntimeError, ValueError, ImportError) as exc:
        raise AnalysisUnavailableError(f"analysis: {exc}") from exc


def analysis_stage(analyzer: Analyzer) -> AnalysisStage:
    """The pipeline's analysis stage over one batch, with this analyzer."""
    from monitor.analysis.analyze import analysis_rows

    return lambda articles, mentions, now: analysis_rows(analyzer, articles, mentions, now)


def matcher(config: Config) -> AgencyMatcher:
    from monitor.ingest.mentions import matcher_from_config

    return matcher_from_config(config)


def execute_run(config: Config, db: str | Path, *, force: bool = False, trigger: str = "cli",
                progress: Progress | None = None, stop: threading.Event | None = None) -> RunSummary:
    """One ingest pass under the run lock with the real network and extraction sandbox. Returns the summary.

    Raises RunLockedError, DatabaseLockedError (nothing could start) or AnalysisUnavailableError."""
    from monitor.ingest.extract import ExtractionSandbox
    from monitor.ingest.fetch import FetchPolicy, make_client
    from monitor.ingest.pipeline import RunContext, run_once

    settings = config.settings
    with run_lock(db):
        store = open_store(config, db)
        analyze = analysis_stage(build_analyzer(config)) if settings.analysis.enabled else None
        sandbox = ExtractionSandbox(settings.extract_workers, settings.extract_timeout_s, settings.extract_memory_mb,
                                    min_text_chars=settings.min_text_chars, languages=tuple(settings.languages))
        with make_client(FetchPolicy.from_settings(settings)) as client, sandbox:
            context = RunContext.create(config, store, client, sandbox, analyze=analyze, progress=progress,
                                        stop=stop, trigger=trigger, force=force)
            return run_once(context)


# Rows the analysis stage scored when they were written (a failed or timed-out extraction was never scored).
REANALYZED_STATUSES = tuple(s for s in ArticleStatus if s not in (ArticleStatus.FAILED, ArticleStatus.TIMEOUT))


def reanalyze(store: Store, analyzer: Analyzer, since: dt.datetime | None = None, until: dt.datetime | None = None,
              now: dt.datetime | None = None, batch_size: int = 200, progress: Progress | None = None) -> int:
    """Re-score stored articles (published or fetched in [since, until)) with `analyzer`; rows are replaced, so
    running it twice changes nothing. Returns how many articles were scored."""
    from monitor.analysis.analyze import analysis_rows

    now = now or dt.datetime.now(UTC)
    where: list[str] = ["status IN (SELECT unnest(?::VARCHAR[]))"]
    params: list[Any] = [[s.value for s in REANALYZED_STATUSES]]
    if since is not None:
        where.append("coalesce(published_at, fetched_at) >= ?")
        params.append(since)
    if until is not None:
        where.append("coalesce(published_at, fetched_at) < ?")
        params.append(until)
    with store.session(read_only=True) as con:
        ids = [r[0] for r in con.execute(f"SELECT article_id FROM articles WHERE {' AND '.join(where)} "
                                         "ORDER BY article_id", params).fetchall()]
    done = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        with store.session(read_only=True) as con:
            articles = [ArticleRow(article_id=i, title=t, lead=lead) for i, t, lead in con.execute(
                "SELECT article_id, title, lead FROM articles WHERE article_id IN (SELECT unnest(?::VARCHAR[]))",
                [chunk]).fetchall()]
            mentions = [MentionRow(article_id=i, agency_id=a, in_title=bool(t), sentences=list(s or []))
                        for i, a, t, s in con.execute(
                            "SELECT article_id, agency_id, in_title, sentences FROM mentions "
                            "WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [chunk]).fetchall()]
        store.write(analysis_rows(analyzer, articles, mentions, now))
        done += len(chunk)
        if progress:
            progress("reanalyze", done, len(ids))
    return done


def read_text_items(jsonl: Path, agency_ids: set[str], require_target: bool = False) -> list[dict[str, Any]]:
    """The {"text": ..., "target": optional} objects of a JSON-lines file; a target must be one of `agency_ids`,
    and present on every line when `require_target`. Raises ValueError naming file and line."""
    items = []
    for number, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{jsonl}:{number}: {exc}") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ValueError(f"{jsonl}:{number}: expected an object with a string 'text'")
        if item.get("target") and item["target"] not in agency_ids:
            raise ValueError(f"{jsonl}:{number}: unknown agency id {item['target']!r}")
        if require_target and not item.get("target"):
            raise ValueError(f"{jsonl}:{number}: no 'target' (--target-only needs one on every line)")
        items.append(item)
    return items


def score_texts(analyzer: Analyzer, matcher: AgencyMatcher, items: list[dict[str, Any]],
                target_only: bool = False) -> list[dict[str, Any]]:
    """`monitor analyze` output for each {"text", "target"?} item: tone, probabilities, topics, agencies and (with a
    target) the tone toward it, from the sentences that mention it (the whole text if none does). The model runs
    once per kind over all the items (length-sorted batches), not once per text. `target_only`: no document tone
    and no topics (two of the three model passes), only the agencies and the tone toward the target."""
    from monitor.ingest.mentions import split_sentences

    texts = [str(item["text"]) for item in items]
    results: list[dict[str, Any]] = [{"text": text} for text in texts]
    if not target_only:
        for result, probs, found_topics in zip(results, analyzer.tone(texts), analyzer.topics_of(texts), strict=True):
            result.update(label=analyzer.label(probs), probabilities=analyzer.probabilities(probs),
                          topics=[{"id": t, "score": round(s, 3)} for t, s in found_topics])
    asks = []  # (result index, target, first sentence row, sentence count)
    sentences: list[str] = []
    for index, (text, result) in enumerate(zip(texts, results, strict=True)):
        found = matcher.mentions(None, text)
        result.update(agencies=[m.agency_id for m in found], model_version=analyzer.version)
        target = items[index].get("target")
        if target:
            mention = next((m for m in found if m.agency_id == target), None)
            chosen = mention.sentences if mention and mention.sentences else split_sentences(text) or [text]
            asks.append((index, target, len(sentences), len(chosen)))
            sentences += chosen
    if not asks:
        return results
    toward = analyzer.tone_toward(sentences, [t for _, t, _, n in asks for _ in range(n)])  # every ask has a sentence
    for index, target, first, count in asks:
        probs = analyzer.aggregate(toward[first:first + count])
        results[index]["target"] = {"agency_id": target, "label": analyzer.label(probs),
                                    "probabilities": analyzer.probabilities(probs), "sentences": count}
    return results


def summary_lines(summary: RunSummary) -> list[tuple[str, bool]]:
    """What `monitor run` prints about a run: (line, goes to stderr)."""
    stages = sorted(summary.stage_seconds.items(), key=lambda kv: -kv[1])
    lines = [
        (f"run {summary.run_id}: {summary.status}", False),
        (f"  feeds: {summary.feeds_due} due, {summary.feeds_ok} ok, {summary.feeds_not_modified} not modified, "
         f"{summary.feeds_failed} failed", False),
        (f"  articles: {summary.new_articles} new, {summary.duplicates} duplicates, "
         f"{summary.extraction_failures} extraction failures, {summary.pages_failed} page fetch failures, "
         f"{summary.pages_deferred} deferred (host asked to wait), {summary.analyzed} analysed", False),
        (f"  elapsed: {summary.elapsed_s:.1f}s (" + (", ".join(f"{k} {v:.1f}s" for k, v in stages) or "nothing to do")
         + ")", False)]
    lines += [(f"  feed failed: {name}: {reason}", False) for name, reason in summary.feed_failures[:20]]
    if len(summary.feed_failures) > 20:
        lines.append((f"  … and {len(summary.feed_failures) - 20} more feeds failed (monitor status lists them all)", False))
    if summary.feeds_due and summary.feeds_failed == summary.feeds_due:
        lines.append(("  no feed could be read: check this machine's network (monitor demo runs offline)", True))
    if summary.spooled_batches:
        lines.append((f"  database locked: {summary.spooled_batches} batch(es) spooled, written on the next run", False))
    if summary.error:
        lines.append((f"  error: {summary.error}", True))
    return lines
