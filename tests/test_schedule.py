"""The scheduler: job options, time zone, the shared run lock, and a real SIGTERM."""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

from monitor.db.store import Store
from monitor.runner import run_lock
from monitor.service.schedule import build_scheduler, describe_jobs, ingest_job

from helpers import batch, make_config
from test_cli import MONITOR, write_config


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
