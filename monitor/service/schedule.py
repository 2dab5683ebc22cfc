"""`monitor schedule`: the long-running service (APScheduler 3.x).

Jobs (times from settings.schedule, in settings.timezone whatever the machine's zone):
- ingest: one `monitor run` pass every `ingest_minutes` (first one at start), then alerts;
- digest: daily at `digest_time`: alerts are checked and sent, yesterday's figures logged;
- weekly: `weekly_day` at `weekly_time`: the weekly CSV export to `exports_dir` and the HTML report to `reports_dir`.

Every job has max_instances=1, coalesce=True and misfire_grace_time set explicitly. A skipped run (the previous
one still going, or a cron-started `monitor run` holding the run lock) or a missed one is logged at WARNING and
stored in `scheduler_events`, which `monitor status` shows. SIGTERM/SIGINT: the running pass stops after the batch
it is writing, the run lock is released, and the process exits 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.db.store import Store
from monitor.errors import AnalysisUnavailableError, DatabaseLockedError, RunLockedError
from monitor.localtime import local_time
from monitor.records import Batch, SchedulerEventRow
from monitor.runner import execute_run, open_store
from monitor.statuses import SchedulerEvent

log = logging.getLogger(__name__)
UTC = dt.UTC


def record_event(db: str, job: str, event: SchedulerEvent, detail: str) -> None:
    try:
        Store(db, lock_timeout_s=5).write(Batch.from_records([SchedulerEventRow(
            event_at=dt.datetime.now(UTC), job=job, event=event, detail=detail[:500])]))
    except Exception as exc:  # the event is also in the log; never let bookkeeping kill the scheduler
        log.warning("could not record scheduler event %s/%s: %s", job, event, exc)


def ingest_job(config, db: str, stop: threading.Event) -> None:
    from monitor.outputs.alerts import process

    try:
        summary = execute_run(config, db, trigger="schedule", stop=stop)
    except RunLockedError as exc:
        log.warning("ingest skipped: %s", exc)
        record_event(db, "ingest", SchedulerEvent.SKIPPED, str(exc))
        return
    except DatabaseLockedError as exc:
        log.warning("ingest not started: %s", exc)
        record_event(db, "ingest", SchedulerEvent.DB_LOCKED, str(exc))
        return
    except AnalysisUnavailableError as exc:
        log.error("ingest not started: %s", exc)
        record_event(db, "ingest", SchedulerEvent.ERROR, str(exc))
        return
    log.info("ingest %s: %s, %d new articles, %d feeds failed", summary.run_id, summary.status, summary.new_articles,
             summary.feeds_failed)
    if not stop.is_set():
        log.info("alerts: %s", process(open_store(config, db), config.settings))


def digest_job(config, db: str) -> None:
    from monitor.outputs.alerts import process
    from monitor.outputs.queries import read_only_connection

    log.info("alerts: %s", process(open_store(config, db), config.settings))
    yesterday = local_time(config.settings).today() - dt.timedelta(days=1)
    con = read_only_connection(db)
    try:
        rows = con.execute("SELECT agency_id, mentions, negative FROM agency_daily WHERE day = ? ORDER BY mentions DESC LIMIT 10",
                           [yesterday]).fetchall()
    finally:
        con.close()
    log.info("digest %s: %s", yesterday, ", ".join(f"{a} {m} berita ({n} negatif)" for a, m, n in rows) or "tidak ada berita")


def weekly_job(config, db: str) -> None:
    from pathlib import Path

    from monitor.outputs.export import Week, write_weekly
    from monitor.outputs.queries import read_only_connection
    from monitor.outputs.report import write_weekly_report

    schedule = config.settings.schedule
    local = local_time(config.settings)
    week = Week.last_complete(local)
    con = read_only_connection(db)
    try:
        paths = write_weekly(con, week, None, schedule.exports_dir, "csv", local=local)
        report = write_weekly_report(con, week, None, Path(schedule.reports_dir) / f"monitor-weekly-{week.label}.html",
                                     local=local)
    finally:
        con.close()
    log.info("weekly %s: %s", week.label, ", ".join(str(p) for p in [*paths, report]))
    record_event(db, "weekly", SchedulerEvent.WRITTEN, ", ".join(str(p) for p in [*paths, report]))


def build_scheduler(config, db: str, stop: threading.Event) -> BackgroundScheduler:
    settings, schedule = config.settings, config.settings.schedule
    zone = local_time(settings).zone
    from apscheduler.executors.pool import ThreadPoolExecutor as JobThreads

    scheduler = BackgroundScheduler(timezone=zone, executors={"default": JobThreads(2)}, job_defaults={
        "max_instances": 1, "coalesce": True, "misfire_grace_time": schedule.misfire_grace_s})
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": schedule.misfire_grace_s}
    digest_h, digest_m = (int(x) for x in schedule.digest_time.split(":"))
    weekly_h, weekly_m = (int(x) for x in schedule.weekly_time.split(":"))
    scheduler.add_job(ingest_job, IntervalTrigger(minutes=schedule.ingest_minutes, timezone=zone), args=[config, db, stop],
                      id="ingest", name="ingest (monitor run)", next_run_time=dt.datetime.now(zone), **options)
    scheduler.add_job(digest_job, CronTrigger(hour=digest_h, minute=digest_m, timezone=zone), args=[config, db],
                      id="digest", name="daily digest and alerts", **options)
    scheduler.add_job(weekly_job, CronTrigger(day_of_week=schedule.weekly_day, hour=weekly_h, minute=weekly_m, timezone=zone),
                      args=[config, db], id="weekly", name="weekly export and report", **options)

    def on_event(event) -> None:
        kind = {EVENT_JOB_MISSED: SchedulerEvent.MISSED, EVENT_JOB_MAX_INSTANCES: SchedulerEvent.SKIPPED,
                EVENT_JOB_ERROR: SchedulerEvent.ERROR}[event.code]
        detail = f"{kind}: scheduled for {getattr(event, 'scheduled_run_time', '')}"
        if kind is SchedulerEvent.ERROR:
            log.error("job %s failed: %s", event.job_id, event.exception)
            detail += f"; {type(event.exception).__name__}: {event.exception}"
        else:
            log.warning("job %s %s (the previous run was still going or the process was not running)", event.job_id, kind)
        record_event(db, event.job_id, kind, detail)

    scheduler.add_listener(on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    return scheduler


def describe_jobs(config, db: str) -> list[str]:
    """'<job>: next <time>' for --list, computed without starting anything."""
    scheduler = build_scheduler(config, db, threading.Event())
    now = local_time(config.settings).now()
    lines = []
    for job in scheduler.get_jobs():
        next_time = getattr(job, "next_run_time", None) or (now if job.id == "ingest" else job.trigger.get_next_fire_time(None, now))
        lines.append(f"{job.id:<7} {job.name:<28} next {next_time:%Y-%m-%d %H:%M %Z}  ({job.trigger})")
    return lines


def serve(config, db: str, stop_timeout_s: float = 120.0) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code (0)."""
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.warning("signal %s: stopping after the current batch", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler = build_scheduler(config, db, stop)
    scheduler.start()
    log.info("scheduler started: %s", "; ".join(f"{j.id} next {j.next_run_time}" for j in scheduler.get_jobs()))
    while not stop.wait(1.0):
        pass
    done = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
    done.start()
    done.join(stop_timeout_s)
    if done.is_alive():
        log.error("a job did not stop within %.0fs; exiting anyway (its batch was not committed)", stop_timeout_s)
        return 1
    log.info("scheduler stopped")
    return 0
