"""`monitor schedule`: the long-running service (APScheduler 3.x).

Jobs (times from settings.schedule, in settings.timezone whatever the machine's zone):
- ingest: one `monitor run` pass every `ingest_minutes` (first one at start), then alerts;
- digest: daily at `digest_time`: alerts are checked and sent, yesterday's figures logged;
- weekly: `weekly_day` at `weekly_time`: the weekly CSV export to `exports_dir`, the report as HTML and PDF to
  `reports_dir` (a PDF that fails is logged and named in the event; the HTML stands), and a report alert that names
  the files (the e-mail attaches the PDF).

Every job has max_instances=1, coalesce=True and misfire_grace_time set explicitly. A skipped run (the previous
one still going, or a cron-started `monitor run` holding the run lock) or a missed one is logged at WARNING and
stored in `scheduler_events`, which `monitor status` shows. SIGTERM/SIGINT: the running pass stops after the batch
it is writing, the run lock is released, and the process exits 0.

APScheduler keeps its jobs in memory, so a slot that passed while the service was down would be forgotten
(issue 14, kind 12). Each digest/weekly event therefore stores its slot (`scheduler_events.slot_at`); at start
`plan_catch_up` compares the trigger's slots since the last one handled with the clock: the latest slot still
inside `misfire_grace_s` is run at once, every other one is stored as `missed` with a WARNING. A database with no
slot history considers only the latest slot (the service did not exist to miss the earlier ones).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from dataclasses import dataclass

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.db.store import Store
from monitor.errors import AnalysisUnavailableError, DatabaseLockedError, RunLockedError
from monitor.localtime import local_time
from monitor.records import Batch, SchedulerEventRow
from monitor.runner import execute_run, open_store
from monitor.statuses import SchedulerEvent

log = logging.getLogger(__name__)
UTC = dt.UTC


SLOT_JOBS = ("digest", "weekly")
CATCH_UP_LOOKBACK = dt.timedelta(days=8)  # longer than the longest period (a week): the latest slot is always inside


def record_event(db: str, job: str, event: SchedulerEvent, detail: str, slot_at: dt.datetime | None = None) -> None:
    try:
        Store(db, lock_timeout_s=5).write(Batch.from_records([SchedulerEventRow(
            event_at=dt.datetime.now(UTC), job=job, event=event, detail=detail[:500], slot_at=slot_at)]))
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


def cron_triggers(settings) -> dict[str, CronTrigger]:
    """The digest and weekly triggers, in the configured zone."""
    schedule, zone = settings.schedule, local_time(settings).zone
    digest_h, digest_m = (int(x) for x in schedule.digest_time.split(":"))
    weekly_h, weekly_m = (int(x) for x in schedule.weekly_time.split(":"))
    return {"digest": CronTrigger(hour=digest_h, minute=digest_m, timezone=zone),
            "weekly": CronTrigger(day_of_week=schedule.weekly_day, hour=weekly_h, minute=weekly_m, timezone=zone)}


def slots_between(trigger: CronTrigger, after: dt.datetime | None, now: dt.datetime) -> list[dt.datetime]:
    """The trigger's fire times in (after, now], looking back at most CATCH_UP_LOOKBACK."""
    start = now - CATCH_UP_LOOKBACK if after is None else max(after, now - CATCH_UP_LOOKBACK)
    slots, slot = [], trigger.get_next_fire_time(None, start)
    while slot is not None and slot <= now:
        if after is None or slot > after:
            slots.append(slot)
        slot = _following_slot(trigger, slot)
    return slots


def _following_slot(trigger: CronTrigger, slot: dt.datetime) -> dt.datetime | None:
    """The next fire time after `slot`. Inside an hour that daylight saving repeats, the trigger can answer the
    same wall-clock slot again: then it is asked again from an hour later, never looping."""
    for step_s in (1, 3601):
        following = trigger.get_next_fire_time(slot, slot.astimezone(UTC) + dt.timedelta(seconds=step_s))
        if following is None or following.astimezone(UTC) > slot.astimezone(UTC):  # same-zone comparison ignores fold
            return following
    return None


def latest_slot(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    slots = slots_between(trigger, None, now)
    return slots[-1] if slots else None


@dataclass(frozen=True)
class CatchUp:
    """What a (re)started service owes one cron job: the slot to run now, the slots to record as missed."""

    job: str
    run_slot: dt.datetime | None
    missed: tuple[dt.datetime, ...]


def plan_catch_up(job: str, trigger: CronTrigger, last_handled: dt.datetime | None, now: dt.datetime,
                  grace_s: float) -> CatchUp:
    """Slots after `last_handled` up to `now`: the latest runs if it is at most `grace_s` old, the rest are missed."""
    slots = slots_between(trigger, last_handled, now)
    if last_handled is None:
        slots = slots[-1:]
    if slots and (now - slots[-1]).total_seconds() <= grace_s:
        return CatchUp(job, slots[-1], tuple(slots[:-1]))
    return CatchUp(job, None, tuple(slots))


def last_handled_slots(db: str) -> dict[str, dt.datetime]:
    """job → the latest slot with any event (run, written, missed, skipped, error); {} for a new database."""
    from pathlib import Path

    if not Path(db).exists():
        return {}
    with Store(db, lock_timeout_s=5).session(read_only=True) as con:
        return dict(con.execute("SELECT job, max(slot_at) FROM scheduler_events WHERE slot_at IS NOT NULL GROUP BY job")
                    .fetchall())


def catch_up_plans(config, db: str, now: dt.datetime) -> list[CatchUp]:
    handled = last_handled_slots(db)
    return [plan_catch_up(job, trigger, handled.get(job), now, config.settings.schedule.misfire_grace_s)
            for job, trigger in cron_triggers(config.settings).items()]


def record_missed(plans: list[CatchUp], db: str, local) -> None:
    for plan in plans:
        for slot in plan.missed:
            log.warning("%s: the %s slot passed while the service was not running and is outside the grace time; "
                        "it is not run", plan.job, local.format(slot))
            record_event(db, plan.job, SchedulerEvent.MISSED, f"missed: slot {local.format(slot)} passed while the "
                         "service was not running (outside the grace time)", slot)


def digest_job(config, db: str, slot: dt.datetime | None = None) -> None:
    from monitor.outputs.alerts import process
    from monitor.outputs.queries import read_only_connection

    local = local_time(config.settings)
    slot = slot or latest_slot(cron_triggers(config.settings)["digest"], local.now())
    log.info("alerts: %s", process(open_store(config, db), config.settings))
    yesterday = local.today(slot) - dt.timedelta(days=1)
    con = read_only_connection(db)
    try:
        rows = con.execute("SELECT agency_id, mentions, negative FROM agency_daily WHERE day = ? ORDER BY mentions DESC LIMIT 10",
                           [yesterday]).fetchall()
    finally:
        con.close()
    summary = ", ".join(f"{a} {m} berita ({n} negatif)" for a, m, n in rows) or "tidak ada berita"
    log.info("digest %s: %s", yesterday, summary)
    record_event(db, "digest", SchedulerEvent.DONE, f"digest {yesterday}: {summary}", slot)


def weekly_job(config, db: str, slot: dt.datetime | None = None) -> None:
    from pathlib import Path

    from monitor.follow import followed_ids
    from monitor.outputs.alerts import process, report_alert
    from monitor.outputs.export import Week, write_weekly
    from monitor.outputs.queries import read_only_connection
    from monitor.outputs.report import render_weekly, save_report
    from monitor.records import Batch

    schedule = config.settings.schedule
    local = local_time(config.settings)
    slot = slot or latest_slot(cron_triggers(config.settings)["weekly"], local.now())
    week = Week.last_complete(local, now=slot)
    con = read_only_connection(db)
    stem = Path(schedule.reports_dir) / f"monitor-weekly-{week.label}"
    try:
        paths = write_weekly(con, week, None, schedule.exports_dir, "csv", local=local)
        page = render_weekly(con, week, None, local=local, followed=followed_ids(config.settings.follow, config.agencies))
    finally:
        con.close()
    reports = [save_report(page, stem.with_suffix(".html"))]
    note = ""
    try:
        reports.append(save_report(page, stem.with_suffix(".pdf")))
    except Exception as exc:  # a missing system library must not cost the HTML, the event or the alert
        log.error("weekly %s: the PDF was not written: %s: %s", week.label, type(exc).__name__, exc)
        note = f" (PDF not written: {type(exc).__name__}: {str(exc)[:200]})"
    files = [str(p) for p in [*paths, *reports]]
    log.info("weekly %s: %s%s", week.label, ", ".join(files), note)
    record_event(db, "weekly", SchedulerEvent.WRITTEN, ", ".join(files) + note, slot)
    if config.settings.alerts.webhook_url or config.settings.alerts.smtp:
        store = open_store(config, db)
        store.write_or_spool(Batch.from_records([report_alert(week.label, [str(p) for p in reports], local.now())]))
        log.info("alerts: %s", process(store, config.settings))


def build_scheduler(config, db: str, stop: threading.Event, catch_up: list[CatchUp] | None = None) -> BackgroundScheduler:
    """The three jobs, plus a one-off `<job>:catch-up` run now for each plan with a slot to run."""
    settings, schedule = config.settings, config.settings.schedule
    zone = local_time(settings).zone
    from apscheduler.executors.pool import ThreadPoolExecutor as JobThreads

    scheduler = BackgroundScheduler(timezone=zone, executors={"default": JobThreads(2)}, job_defaults={
        "max_instances": 1, "coalesce": True, "misfire_grace_time": schedule.misfire_grace_s})
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": schedule.misfire_grace_s}
    triggers = cron_triggers(settings)
    scheduler.add_job(ingest_job, IntervalTrigger(minutes=schedule.ingest_minutes, timezone=zone), args=[config, db, stop],
                      id="ingest", name="ingest (monitor run)", next_run_time=dt.datetime.now(zone), **options)
    scheduler.add_job(digest_job, triggers["digest"], args=[config, db], id="digest", name="daily digest and alerts", **options)
    scheduler.add_job(weekly_job, triggers["weekly"], args=[config, db], id="weekly", name="weekly export and report",
                      **options)
    jobs = {"digest": digest_job, "weekly": weekly_job}
    catch_up_slots = {}
    for plan in catch_up or []:
        if plan.run_slot is not None:
            catch_up_slots[f"{plan.job}:catch-up"] = plan.run_slot
            scheduler.add_job(jobs[plan.job], DateTrigger(dt.datetime.now(zone), timezone=zone), args=[config, db, plan.run_slot],
                              id=f"{plan.job}:catch-up", name=f"{plan.job} (missed slot)", **options)

    def on_event(event) -> None:
        kind = {EVENT_JOB_MISSED: SchedulerEvent.MISSED, EVENT_JOB_MAX_INSTANCES: SchedulerEvent.SKIPPED,
                EVENT_JOB_ERROR: SchedulerEvent.ERROR}[event.code]
        job = event.job_id.split(":")[0]
        scheduled = getattr(event, "scheduled_run_time", None)
        slot = catch_up_slots.get(event.job_id, scheduled if job in SLOT_JOBS else None)
        detail = f"{kind}: scheduled for {slot or scheduled or ''}"
        if kind is SchedulerEvent.ERROR:
            log.error("job %s failed: %s", event.job_id, event.exception)
            detail += f"; {type(event.exception).__name__}: {event.exception}"
        else:
            log.warning("job %s %s (the previous run was still going or the process was not running)", event.job_id, kind)
        record_event(db, job, kind, detail, slot)

    scheduler.add_listener(on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    return scheduler


def job_lines(scheduler: BackgroundScheduler, plans: list[CatchUp], now: dt.datetime, local) -> list[str]:
    """'<job>: next <time>' per job; a job with a missed slot to run shows that run, not its next regular slot."""
    owed = {p.job: p for p in plans}
    lines = []
    for job in scheduler.get_jobs():
        if job.id.endswith(":catch-up"):
            continue
        plan = owed.get(job.id)
        if plan is not None and plan.run_slot is not None:
            lines.append(f"{job.id:<7} {job.name:<28} next {local.format(now)} (now: the {local.format(plan.run_slot)} "
                         f"slot was missed while the service was not running)  ({job.trigger})")
            continue
        next_time = getattr(job, "next_run_time", None) or (now if job.id == "ingest" else job.trigger.get_next_fire_time(None, now))
        lines.append(f"{job.id:<7} {job.name:<28} next {next_time:%Y-%m-%d %H:%M %Z}  ({job.trigger})")
        for slot in plan.missed if plan is not None else ():
            lines.append(f"{'':<7} missed slot {local.format(slot)} (outside the grace time: recorded, not run)")
    return lines


def describe_jobs(config, db: str) -> list[str]:
    """The job lines for --list, computed without starting or recording anything."""
    local = local_time(config.settings)
    now = local.now()
    plans = catch_up_plans(config, db, now)
    return job_lines(build_scheduler(config, db, threading.Event(), plans), plans, now, local)


def serve(config, db: str, stop_timeout_s: float = 120.0) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code (0)."""
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.warning("signal %s: stopping after the current batch", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with open_store(config, db).session():  # the file exists and is migrated before any job reads it
        pass
    local = local_time(config.settings)
    now = local.now()
    plans = catch_up_plans(config, db, now)
    record_missed(plans, db, local)
    for plan in plans:
        if plan.run_slot is not None:
            log.warning("%s: the %s slot passed while the service was not running; running it now (inside the %d s "
                        "grace time)", plan.job, local.format(plan.run_slot), config.settings.schedule.misfire_grace_s)
    scheduler = build_scheduler(config, db, stop, plans)
    log.info("scheduler started:\n%s", "\n".join(job_lines(scheduler, plans, now, local)))
    scheduler.start()
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
