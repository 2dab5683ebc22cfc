"""The scheduler: job options, time zone, the shared run lock, and a real SIGTERM."""

import datetime as dt
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from monitor.db.store import Store
from monitor.dev.localserver import Reply
from monitor.localtime import LocalTime
from monitor.outputs.export import Week
from monitor.outputs.status import collect_status, render_status
from monitor.runner import run_lock
from monitor.service.schedule import (
    CatchUp,
    build_scheduler,
    catch_up_plans,
    cron_triggers,
    describe_jobs,
    ingest_job,
    last_handled_slots,
    plan_catch_up,
    record_missed,
    weekly_job,
)

from helpers import batch, make_config
from test_cli import MONITOR, table, write_config


def test_jobs_have_explicit_options_and_jakarta_time(tmp_path):
    config = make_config([])
    scheduler = build_scheduler(config, str(tmp_path / "m.duckdb"), threading.Event())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"ingest", "digest", "weekly"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True and job.misfire_grace_time == 600
    assert str(scheduler.timezone) == "Asia/Jakarta"
    lines = describe_jobs(config, str(tmp_path / "m.duckdb"))
    weekly = next(line for line in lines if line.startswith("weekly"))
    assert "07:00 WIB" in weekly and "day_of_week='mon'" in weekly


@pytest.mark.slow
def test_list_ignores_the_machine_time_zone(tmp_path):
    env = {**os.environ, "TZ": "America/New_York"}
    result = subprocess.run([MONITOR, "schedule", "--list", "--db", str(tmp_path / "m.duckdb")], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert result.returncode == 0 and "digest" in result.stdout and "07:00 WIB" in result.stdout


def test_ingest_is_skipped_and_recorded_while_another_run_holds_the_lock(tmp_path):
    db = str(tmp_path / "m.duckdb")
    Store(db).write(batch())
    with run_lock(db):
        ingest_job(make_config([]), db, threading.Event())
    with Store(db).session(read_only=True) as con:
        assert con.execute("SELECT job, event FROM scheduler_events").fetchall() == [("ingest", "skipped")]


@pytest.mark.slow
def test_sigterm_commits_the_batch_releases_the_lock_and_exits_0(server, tmp_path):
    env = write_config(tmp_path, server, n_articles=8, delay=0.4, page_batch_size=2)
    proc = subprocess.Popen([MONITOR, "-v", "schedule"], env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while server.hits("/a/0") == 0 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    started = time.time()
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert time.time() - started < 60
    assert "stopping after the current batch" in err and "scheduler stopped" in err
    db = env["MONITOR_DB"]
    con = duckdb.connect(db, read_only=True)
    try:
        status, = con.execute("SELECT status FROM runs").fetchone()
        stored = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()
    assert status in ("stopped", "ok") and stored % 2 == 0 or stored == 8  # whole batches only
    rerun = subprocess.run([MONITOR, "run"], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0  # the lock was released
    con = duckdb.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 8
    finally:
        con.close()


# --- a slot that passed while the service was down (issue 14, kind 12; ../shared/cases/schedule-missed-slot) ---

WIB = ZoneInfo("Asia/Jakarta")
MONDAY_0700 = dt.datetime(2026, 11, 30, 7, 0, tzinfo=WIB)


def weekly_and_digest(**schedule):
    triggers = cron_triggers(make_config([], schedule={"weekly_day": "mon", "weekly_time": "07:00", "digest_time": "07:00",
                                                       **schedule}).settings)
    return triggers["weekly"], triggers["digest"]


@pytest.mark.parametrize("started_after_s", [1, 120, 599])
def test_a_new_service_started_inside_the_grace_time_runs_the_slot_it_missed(started_after_s):
    weekly, digest = weekly_and_digest()
    now = MONDAY_0700 + dt.timedelta(seconds=started_after_s)
    assert plan_catch_up("weekly", weekly, None, now, 600) == CatchUp("weekly", MONDAY_0700, ())
    assert plan_catch_up("digest", digest, None, now, 600) == CatchUp("digest", MONDAY_0700, ())


def test_outside_the_grace_time_the_slot_is_missed_not_run_and_nothing_older_is_invented():
    weekly, digest = weekly_and_digest()
    now = MONDAY_0700 + dt.timedelta(minutes=11)
    assert plan_catch_up("weekly", weekly, None, now, 600) == CatchUp("weekly", None, (MONDAY_0700,))
    # a new database: earlier daily slots are not counted as missed (there was no service to miss them)
    assert plan_catch_up("digest", digest, None, now, 600) == CatchUp("digest", None, (MONDAY_0700,))


def test_a_restart_after_the_slot_ran_owes_nothing_and_a_long_outage_records_every_slot():
    weekly, digest = weekly_and_digest()
    now = MONDAY_0700 + dt.timedelta(minutes=2)
    assert plan_catch_up("weekly", weekly, MONDAY_0700, now, 600) == CatchUp("weekly", None, ())
    three_days_ago = MONDAY_0700 - dt.timedelta(days=3)  # the digest last ran on Friday; down since Saturday
    plan = plan_catch_up("digest", digest, three_days_ago, now, 600)
    assert plan.run_slot == MONDAY_0700
    assert plan.missed == (MONDAY_0700 - dt.timedelta(days=2), MONDAY_0700 - dt.timedelta(days=1))
    # the machine's zone plays no part: the same instant in UTC gives the same plan
    assert plan_catch_up("weekly", weekly, None, now.astimezone(dt.UTC), 600).run_slot == MONDAY_0700


def test_list_shows_the_missed_slot_run_now_not_next_weeks(tmp_path):
    now = dt.datetime.now(WIB) - dt.timedelta(minutes=2)
    config = make_config([], schedule={"weekly_day": now.strftime("%a").lower(), "weekly_time": now.strftime("%H:%M"),
                                       "digest_time": now.strftime("%H:%M")})
    lines = describe_jobs(config, str(tmp_path / "m.duckdb"))
    weekly = next(line for line in lines if line.startswith("weekly"))
    assert f"the {now:%Y-%m-%d %H:%M} WIB slot was missed" in weekly
    assert not any(line.startswith("weekly:catch-up") for line in lines)
    assert not (tmp_path / "m.duckdb").exists()  # listing records nothing


@pytest.mark.slow
def test_the_service_started_after_the_weekly_slot_writes_the_week_and_records_it(server, tmp_path):
    """The handed case end to end: `monitor schedule` started 2 minutes after the slot writes the weekly CSV and
    HTML report at start, stores `weekly/written` with the slot, runs the digest; a second start owes nothing."""
    slot = (dt.datetime.now(WIB) - dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    schedule = {"ingest_minutes": 600, "weekly_day": slot.strftime("%a").lower(), "weekly_time": slot.strftime("%H:%M"),
                "digest_time": slot.strftime("%H:%M"), "exports_dir": str(tmp_path / "out" / "exports"),
                "reports_dir": str(tmp_path / "out" / "reports")}
    env = {**os.environ, **write_config(tmp_path, server, n_articles=0, schedule=schedule)}
    db = env["MONITOR_DB"]

    def serve_for_a_while():
        log = tmp_path / "schedule.log"
        with log.open("w") as stderr:
            proc = subprocess.Popen([MONITOR, "-v", "schedule"], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            deadline = time.time() + 90
            while time.time() < deadline and not all(f"{job} 20" in log.read_text() for job in ("digest", "weekly")):
                time.sleep(0.5)
            time.sleep(1)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=90)
        err = log.read_text()
        assert proc.returncode == 0, err
        return err

    err = serve_for_a_while()
    week = Week.last_complete(LocalTime(), now=slot)
    exports = sorted(p.name for p in (tmp_path / "out" / "exports").iterdir())
    assert len(exports) == 2 and all(name.startswith(f"monitor-weekly-{week.label}-all-agencies-") for name in exports)
    assert [name.rsplit("-", 1)[1] for name in exports] == ["stories.csv", "summary.csv"]
    assert (tmp_path / "out" / "reports" / f"monitor-weekly-{week.label}.html").exists()
    assert (tmp_path / "out" / "reports" / f"monitor-weekly-{week.label}.pdf").read_bytes()[:5] == b"%PDF-"
    assert "WARNING" in err and "slot passed while the service was not running; running it now" in err
    events = dict(((job, event), slot_at) for job, event, slot_at in
                  table(db, "SELECT job, event, slot_at FROM scheduler_events"))
    assert events[("weekly", "written")] == slot and events[("digest", "done")] == slot
    listed = subprocess.run([MONITOR, "schedule", "--list"], env=env, capture_output=True, text=True, timeout=60).stdout
    assert "was missed" not in listed  # the slot is handled: the next weekly run is next week's
    status = subprocess.run([MONITOR, "status"], env=env, capture_output=True, text=True, timeout=60).stdout
    assert "WARNING" not in status


def test_a_slot_outside_the_grace_time_is_recorded_as_missed_and_shown_by_status(tmp_path):
    db = str(tmp_path / "m.duckdb")
    Store(db).write(batch())
    config = make_config([], schedule={"weekly_day": "mon", "weekly_time": "07:00", "digest_time": "07:00"})
    plans = [CatchUp("weekly", None, (MONDAY_0700,))]
    record_missed(plans, db, LocalTime())
    report = collect_status(db)
    assert [(e["job"], e["event"], e["slot_at"]) for e in report["scheduler_not_run"]] == [("weekly", "missed", MONDAY_0700)]
    assert "WARNING: scheduler job weekly missed for the 2026-11-30 07:00 WIB slot" in render_status(report)
    assert last_handled_slots(db) == {"weekly": MONDAY_0700}  # a restart does not record it again
    assert catch_up_plans(config, db, MONDAY_0700 + dt.timedelta(minutes=30))[1] == CatchUp("weekly", None, ())


def test_a_slot_inside_a_repeated_daylight_saving_hour_does_not_loop():
    """Not Indonesia's case (no DST), but the zone is a setting: Amsterdam repeats 02:00–03:00 on 2026-10-25."""
    from apscheduler.triggers.cron import CronTrigger

    from monitor.service.schedule import slots_between

    amsterdam = ZoneInfo("Europe/Amsterdam")
    trigger = CronTrigger(hour=2, minute=30, timezone=amsterdam)
    slots = slots_between(trigger, None, dt.datetime(2026, 10, 26, 12, tzinfo=amsterdam))
    instants = [slot.astimezone(dt.UTC) for slot in slots]
    assert instants == sorted(set(instants)) and 8 <= len(slots) <= 9  # both 02:30s of 25 October may count
    assert slots[-1] == dt.datetime(2026, 10, 26, 2, 30, tzinfo=amsterdam)


@pytest.mark.parametrize("field, value", [("digest_time", "24:00"), ("weekly_time", "07:60"), ("digest_time", "7:00")])
def test_an_impossible_slot_time_is_refused_when_the_config_is_read(field, value):
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match=field):
        make_config([], schedule={field: value})


def test_a_pdf_that_fails_costs_neither_the_html_nor_the_event_nor_the_alert(server, tmp_path, monkeypatch):
    import monitor.outputs.report as report

    from test_outputs import build

    db = build(tmp_path)
    server.routes["/hook"] = Reply(200, b"ok")
    schedule = {"exports_dir": str(tmp_path / "e"), "reports_dir": str(tmp_path / "r")}
    config = make_config([], follow=["polri"], schedule=schedule, alerts={"webhook_url": server.url("/hook")})
    real_save = report.save_report

    def save(page, path):
        if str(path).endswith(".pdf"):
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_save(page, path)

    monkeypatch.setattr(report, "save_report", save)
    weekly_job(config, db, slot=dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC))  # Monday 07:00 WIB: week 2026-W48
    assert (tmp_path / "r" / "monitor-weekly-2026-W48.html").exists() and not (tmp_path / "r" / "monitor-weekly-2026-W48.pdf").exists()
    (detail,), = table(db, "SELECT detail FROM scheduler_events WHERE job = 'weekly' AND event = 'written'")
    assert detail.endswith("monitor-weekly-2026-W48.html (PDF not written: OSError: cannot load library 'libpango-1.0-0')")
    hook = [r for r in server.requests if r.path == "/hook"]
    assert len(hook) == 1 and b"Laporan mingguan 2026-W48 siap" in hook[0].body and b".pdf" not in hook[0].body
