"""Failure-catalogue cases not covered by a module's own tests (see docs/reliability.md for the full table)."""

import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from monitor.db.store import Store
from monitor.dev.localserver import Reply
from monitor.ingest.feeds import parse_feed

from helpers import batch
from test_cli import MONITOR, table, write_config

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>Berita</title><link>https://contoh.test/a</link></item></channel></rss>"""


def test_billion_laughs_feed_ends_quickly_with_bounded_memory():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    parsed = parse_feed(BILLION_LAUGHS, "https://contoh.test/rss")
    assert time.monotonic() - started < 5
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200  # MB
    assert "lollollol" not in (parsed.title or "")  # the entities were not expanded


def test_external_entity_is_not_resolved(tmp_path):
    secret = tmp_path / "rahasia.txt"
    secret.write_text("KATA-SANDI-RAHASIA", encoding="utf-8")
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>'
            '<rss version="2.0"><channel><title>x</title><item><title>&xxe;</title><link>https://contoh.test/b</link>'
            "</item></channel></rss>").encode()
    parsed = parse_feed(body, "https://contoh.test/rss")
    assert all("KATA-SANDI-RAHASIA" not in (e.title + e.summary) for e in parsed.entries)


def test_unreadable_wal_does_not_stop_the_next_run(tmp_path):
    path = tmp_path / "m.duckdb"
    Store(path).write(batch(articles=[{"article_id": "a1", "status": "ok"}]))
    Path(str(path) + ".wal").write_bytes(b"\x00bukan-wal" * 200)
    with Store(path).session(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 1


HOLD = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("open", flush=True)
    time.sleep(float(sys.argv[2]))
""")


@pytest.mark.slow
def test_analyst_session_open_during_a_run_spools_then_the_next_run_writes(server, tmp_path):
    env = write_config(tmp_path, server, n_articles=4, db_lock_timeout_s=1.0)
    db = env["MONITOR_DB"]
    Path(db).parent.mkdir(parents=True)
    Store(db).write(batch())
    analyst = subprocess.Popen([sys.executable, "-c", HOLD, db, "25"], stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "open"
        blocked = subprocess.run([MONITOR, "run"], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
        assert blocked.returncode == 4 and "locked" in blocked.stderr
        assert server.requests == []  # it stopped before fetching anything: nothing to lose
    finally:
        analyst.kill()
        analyst.wait()
    done = subprocess.run([MONITOR, "run"], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert table(db, "SELECT count(*) FROM articles") == [(4,)]


@pytest.mark.slow
def test_sigkill_during_extraction_and_analysis_then_rerun_is_clean(server, tmp_path):
    """Kill while pages are being extracted and scored (slow pages keep the run in that stage), rerun, compare."""
    env = write_config(tmp_path, server, n_articles=6, delay=0.3, page_batch_size=2)
    proc = subprocess.Popen([MONITOR, "run"], env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while server.hits("/a/2") == 0 and time.time() < deadline:  # the second batch is being fetched/extracted
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert subprocess.run([MONITOR, "run"], env={**os.environ, **env}, capture_output=True, timeout=180).returncode == 0
    db = env["MONITOR_DB"]
    assert table(db, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(6, 6)]
    assert table(db, "SELECT count(*) FROM article_analysis") == [(6,)]
    assert table(db, "SELECT count(*) FROM entries WHERE state != 'done'") == [(0,)]
    runs = table(db, "SELECT status FROM runs ORDER BY started_at")
    assert runs[0][0] == "running" and runs[-1][0] == "ok"  # the interrupted run stays visible


def test_a_100_mb_page_is_cut_at_the_cap_quickly_with_bounded_memory(server, tmp_path):
    from monitor.errors import TooLargeError
    from monitor.ingest.fetch import FetchPolicy, fetch, make_client

    server.routes["/besar"] = Reply(200, b"<p>" + b"x" * 100_000_000, {"Content-Type": "text/html"})
    policy = FetchPolicy(user_agent="Mozilla/5.0 (compatible; monitor-test)", allow_private_networks=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with make_client(policy) as client:
        try:
            fetch(client, server.url("/besar"), policy)
            raise AssertionError("a 100 MB page must not be accepted")
        except TooLargeError as exc:
            assert "15728640" in exc.reason
    assert time.monotonic() - started < 20
    # the server itself holds the 100 MB body; the client side must not add another copy of it
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 150


INSIDE_WRITE = textwrap.dedent("""
    import sys, time
    import monitor.db.store as store
    from monitor.config import load_config
    from monitor.records import ArticleRow
    from monitor.runner import execute_run

    original = store.upsert
    def slow_upsert(con, record_type, rows):
        original(con, record_type, rows)
        if record_type is ArticleRow and rows:  # articles written, mentions not yet: the transaction is open
            print("inside-write", flush=True)
            time.sleep(60)
    store.upsert = slow_upsert
    execute_run(load_config(sys.argv[1]), sys.argv[2])
""")


@pytest.mark.slow
def test_sigkill_inside_a_database_write_leaves_nothing_half_written(server, tmp_path):
    from test_cli import snapshot

    env = write_config(tmp_path, server, n_articles=6, page_batch_size=3)
    clean = {**env, "MONITOR_DB": str(tmp_path / "clean" / "monitor.duckdb")}
    assert subprocess.run([MONITOR, "run"], env={**os.environ, **clean}, capture_output=True, timeout=180).returncode == 0
    db = env["MONITOR_DB"]
    child = subprocess.Popen([sys.executable, "-c", INSIDE_WRITE, env["MONITOR_CONFIG"], db], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parent.parent)
    try:
        assert child.stdout.readline().strip() == "inside-write"
    finally:
        child.kill()
        child.wait()
    assert table(db, "SELECT count(*) FROM articles") == [(0,)]  # the open transaction left nothing behind
    assert subprocess.run([MONITOR, "run"], env={**os.environ, **env}, capture_output=True, timeout=180).returncode == 0
    assert snapshot(db) == snapshot(clean["MONITOR_DB"])
