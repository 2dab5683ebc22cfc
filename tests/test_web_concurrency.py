"""The dashboard never blocks ingestion: a real `monitor run` (its own process, writing batch by batch) completes
while the dashboard answers page requests and records a correction, with nothing spooled and every request
answered."""

import os
import subprocess
import threading
import time

import pytest
from starlette.testclient import TestClient

from monitor.db.store import Store, scalar
from monitor.web.app import WebSettings, create_app

from test_cli import MONITOR, table, write_config
from test_web import csrf, dashboard_db

pytestmark = pytest.mark.slow


def test_a_run_completes_while_the_dashboard_serves_and_corrects(server, tmp_path):
    env = write_config(tmp_path, server, n_articles=12, delay=0.05, page_batch_size=2, db_lock_timeout_s=30)
    db = env["MONITOR_DB"]
    os.makedirs(os.path.dirname(db), exist_ok=True)
    dashboard_db(db, days=14)
    client = TestClient(create_app(WebSettings(db_path=db, followed=["kpk"], secret="uji", lock_timeout_s=30)),
                        base_url="http://127.0.0.1", follow_redirects=False)
    run = subprocess.Popen([MONITOR, "run"], env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    statuses: list[tuple[str, int]] = []
    corrected = threading.Event()
    deadline = time.time() + 300
    while run.poll() is None and time.time() < deadline:
        for path in ("/", "/stories?since=2000-01-01", "/agency/kpk", "/article/a1"):
            statuses.append((path, client.get(path).status_code))
        if not corrected.is_set():
            token = csrf(client.get("/article/a1").text)
            statuses.append(("correct", client.post("/article/a1/correct", data={
                "csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "neutral"}).status_code))
            corrected.set()
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert len(statuses) >= 5, "the run ended before the dashboard was used"
    assert all(code in (200, 303) for _, code in statuses), [s for s in statuses if s[1] not in (200, 303)]
    assert table(db, "SELECT status, spooled_batches FROM runs") == [("ok", 0)]
    assert table(db, "SELECT count(*) FROM articles WHERE title LIKE 'Berita %: %'") == [(12,)]
    with Store(db).session(read_only=True) as con:
        assert scalar(con, "SELECT user_name FROM corrections").startswith("local:")
    assert "Berita 0: banjir" in client.get("/stories?since=2026-11-01&until=2026-11-30&q=banjir").text
