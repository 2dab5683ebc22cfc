"""Alerts to a local webhook and a local SMTP server: sent once, failures recorded and retried."""

import datetime as dt
import json
import socket
import threading

from monitor.config import AlertSettings, SmtpSettings
from monitor.db.store import Store
from monitor.dev.localserver import Reply
from monitor.outputs.alerts import process, report_alert
from monitor.records import Batch

from helpers import batch, make_config

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)


def failing_feed_store(tmp_path) -> Store:
    store = Store(tmp_path / "a.duckdb")
    store.write(batch(feeds=[{"feed_id": "antara-terkini", "last_reason": "HTTP 503", "consecutive_failures": 9,
                            "failing_since": NOW - dt.timedelta(hours=30)}],
                       runs=[{"run_id": "r1", "started_at": NOW - dt.timedelta(hours=1), "status": "failed", "error": "disk full"}]))
    return store


def settings_with(**alerts):
    config = make_config([])
    return config.settings.model_copy(update={"alerts": AlertSettings(**alerts)})


def test_webhook_alerts_are_sent_once_and_retried_after_a_failure(server, tmp_path):
    answers = iter([Reply(500, b"down"), Reply(200, b"ok"), Reply(200, b"ok"), Reply(200, b"ok")])
    server.routes["/hook"] = lambda req: next(answers)
    store = failing_feed_store(tmp_path)
    settings = settings_with(webhook_url=server.url("/hook"))
    first = process(store, settings, NOW)
    assert first["new"] == 2 and first["sent"] == 1 and first["failed"] == 1
    with store.session(read_only=True) as con:
        failed = con.execute("SELECT alert_key, attempts, last_error FROM alerts WHERE sent_at IS NULL").fetchall()
    assert failed[0][1] == 1 and "HTTPStatusError" in failed[0][2]
    second = process(store, settings, NOW + dt.timedelta(hours=1))
    assert second == {"new": 0, "sent": 1, "failed": 0}
    assert process(store, settings, NOW + dt.timedelta(hours=2)) == {"new": 0, "sent": 0, "failed": 0}
    posts = [json.loads(r.body) for r in server.requests if r.method == "POST"]
    assert len(posts) == 3 and {p["kind"] for p in posts} == {"feed", "run"}
    assert any("antara-terkini" in p["text"] for p in posts)


class TinySMTP:
    """Just enough SMTP (EHLO, MAIL, RCPT, DATA, QUIT) to receive messages on 127.0.0.1."""

    def __init__(self):
        self.messages = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:
                f.write(b"220 uji\r\n")
                f.flush()
                data, in_data = [], False
                for line in f:
                    if in_data:
                        if line == b".\r\n":
                            self.messages.append(b"".join(data).decode())
                            in_data = False
                            f.write(b"250 ok\r\n")
                        else:
                            data.append(line)
                        f.flush()
                        continue
                    command = line[:4].upper()
                    if command == b"EHLO" or command == b"HELO":
                        f.write(b"250 uji\r\n")
                    elif command == b"DATA":
                        data, in_data = [], True
                        f.write(b"354 go\r\n")
                    elif command == b"QUIT":
                        f.write(b"221 bye\r\n")
                        f.flush()
                        break
                    else:
                        f.write(b"250 ok\r\n")
                    f.flush()

    def close(self):
        self.sock.close()


def test_email_alerts_through_smtp(tmp_path):
    smtp = TinySMTP()
    try:
        store = failing_feed_store(tmp_path)
        settings = settings_with(smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, sender="monitor@humas.test",
                                                   to=["kepala@humas.test"], starttls=False))
        assert process(store, settings, NOW)["sent"] == 2
        assert len(smtp.messages) == 2 and any("Subject: [monitor] Feed antara-terkini gagal" in m for m in smtp.messages)
    finally:
        smtp.close()


def test_a_retry_sends_only_to_the_channel_that_failed(server, tmp_path):
    server.routes["/hook"] = Reply(200, b"ok")
    store = failing_feed_store(tmp_path)
    settings = settings_with(webhook_url=server.url("/hook"), smtp=SmtpSettings(
        host="127.0.0.1", port=9, sender="monitor@humas.test", to=["kepala@humas.test"], starttls=False))
    mails = []

    def refuse_then_take(smtp, alert):
        if len(mails) < 2:
            mails.append(None)
            raise ConnectionRefusedError("SMTP down")
        mails.append(alert.alert_key)

    first = process(store, settings, NOW, senders={"email": refuse_then_take})
    assert first == {"new": 2, "sent": 0, "failed": 2}
    with store.session(read_only=True) as con:
        assert con.execute("SELECT list_sort(list(delivered_to[1])), count(*) FILTER (sent_at IS NULL) FROM alerts").fetchone() \
            == (["webhook", "webhook"], 2)
    assert process(store, settings, NOW + dt.timedelta(hours=1), senders={"email": refuse_then_take}) == \
        {"new": 0, "sent": 2, "failed": 0}
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) == 2  # one webhook post per alert, not one per attempt
    assert sorted(m for m in mails if m) == ["feed:antara-terkini:2026-11-26T21:00:00+00:00", "run:r1"]
    with store.session(read_only=True) as con:
        assert con.execute("SELECT list_sort(delivered_to), attempts FROM alerts ORDER BY alert_key").fetchall() == \
            [(["email", "webhook"], 2)] * 2


def test_the_weekly_report_alert_attaches_the_pdf_and_names_the_files(server, tmp_path):
    smtp = TinySMTP()
    try:
        store = Store(tmp_path / "r.duckdb")
        pdf = tmp_path / "monitor-weekly-2026-W48.pdf"
        pdf.write_bytes(b"%PDF-1.7 laporan uji")
        files = [str(tmp_path / "monitor-weekly-2026-W48.html"), str(pdf)]
        store.write(Batch.from_records([report_alert("2026-W48", files, NOW)]))
        store.write(Batch.from_records([report_alert("2026-W48", files, NOW)]))  # the job ran twice: one alert
        server.routes["/hook"] = Reply(200, b"ok")
        settings = settings_with(webhook_url=server.url("/hook"), smtp=SmtpSettings(
            host="127.0.0.1", port=smtp.port, sender="monitor@humas.test", to=["kepala@humas.test"], starttls=False))
        assert process(store, settings, NOW) == {"new": 0, "sent": 1, "failed": 0}
        (message,) = smtp.messages
        assert "Subject: [monitor] Laporan mingguan 2026-W48 siap" in message
        assert 'filename="monitor-weekly-2026-W48.pdf"' in message and "Content-Type: application/pdf" in message
        hook = json.loads(server.requests[-1].body)
        assert hook["kind"] == "report" and hook["files"] == files
    finally:
        smtp.close()


def test_unreachable_smtp_is_recorded_not_raised(tmp_path):
    store = failing_feed_store(tmp_path)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings = settings_with(smtp=SmtpSettings(host="127.0.0.1", port=port, sender="m@humas.test", to=["k@humas.test"], starttls=False))
    assert process(store, settings, NOW) == {"new": 2, "sent": 0, "failed": 2}


def test_no_channel_configured_does_nothing(tmp_path):
    assert process(failing_feed_store(tmp_path), make_config([]).settings, NOW) == {"new": 0, "sent": 0, "failed": 0}


def test_spike_alert_from_the_spike_view(server, tmp_path):
    from test_outputs import build

    server.routes["/hook"] = Reply(200, b"ok")
    store = Store(build(tmp_path))
    settings = settings_with(webhook_url=server.url("/hook"))
    result = process(store, settings, dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC))
    posts = [json.loads(r.body) for r in server.requests if r.method == "POST"]
    assert result["sent"] == 1 and posts[0]["key"] == "spike:polri:2026-11-24" and "Lonjakan" in posts[0]["text"]
