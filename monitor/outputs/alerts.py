"""Alerts: an agency spike, a feed failing for too long, a run that failed, and the weekly report written. Sent to
a webhook (JSON POST with a `text` field, which Slack and Mattermost incoming webhooks and Telegram-bot relays
accept) and/or by e-mail (SMTP). The report's files are attached to the e-mail (each up to `MAX_ATTACHMENT_BYTES`;
a larger or missing one is named instead) and named in the webhook text (a webhook cannot carry files).

Each alert has a key (spike:<agency>:<day>, feed:<feed>:<failing since>, run:<run id>) and is stored once in the
`alerts` table; sending is retried on later runs until every configured channel has it (`delivered_to`: a channel
that took it is not sent it again while another is retried); a failure to send is logged and recorded, never
raised into the job.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from monitor.db.store import Store, write_batch
from monitor.records import AlertRow, AlertUpdate, Batch
from monitor.statuses import AlertKind, RunStatus

log = logging.getLogger(__name__)
UTC = dt.UTC


def collect(con, settings, now: dt.datetime) -> list[AlertRow]:
    """New alerts (not yet in the `alerts` table) from the database's current state."""
    cfg = settings.alerts
    found: list[dict[str, Any]] = []
    if cfg.on_spike:
        since = (now - dt.timedelta(days=2)).date()
        for agency, day, mentions, volume_z, neg_share, negative_z in con.execute(
                "SELECT agency_id, day, mentions, volume_z, negative_share, negative_z FROM agency_spikes WHERE day >= ?",
                [since]).fetchall():
            found.append({"alert_key": f"spike:{agency}:{day}", "kind": AlertKind.SPIKE,
                          "subject": f"Lonjakan pemberitaan: {agency} pada {day}",
                          "body": f"{agency}: {mentions} berita pada {day} (z volume {volume_z}, porsi negatif {neg_share}, z negatif {negative_z})."})
    for feed_id, reason, since_ts in con.execute(
            "SELECT feed_id, last_reason, failing_since FROM feeds WHERE failing_since IS NOT NULL AND failing_since <= ?",
            [now - dt.timedelta(hours=cfg.feed_failing_hours)]).fetchall():
        found.append({"alert_key": f"feed:{feed_id}:{since_ts.isoformat()}", "kind": AlertKind.FEED,
                      "subject": f"Feed {feed_id} gagal sejak {since_ts:%Y-%m-%d %H:%M} UTC",
                      "body": f"Feed {feed_id} belum berhasil diambil sejak {since_ts:%Y-%m-%d %H:%M} UTC: {reason}"})
    if cfg.on_run_failure:
        for run_id, status, error in con.execute(
                "SELECT run_id, status, error FROM runs WHERE status IN (?, ?) AND started_at >= ?",
                [RunStatus.FAILED, RunStatus.DB_LOCKED, now - dt.timedelta(days=2)]).fetchall():
            found.append({"alert_key": f"run:{run_id}", "kind": AlertKind.RUN, "subject": f"Run monitor {status}: {run_id}",
                          "body": f"Run {run_id} berakhir dengan status {status}: {error}"})
    known = {r[0] for r in con.execute("SELECT alert_key FROM alerts").fetchall()}
    return [AlertRow(**a, created_at=now) for a in found if a["alert_key"] not in known]


MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024  # base64 adds a third: ~9.4 MB in the message, under the common 10 MB limit


def report_alert(week_label: str, files: list[str], now: dt.datetime) -> AlertRow:
    """The alert that says the weekly report for `week_label` was written to `files`."""
    return AlertRow(alert_key=f"report:{week_label}", kind=AlertKind.REPORT, created_at=now, attachments=files,
                    subject=f"Laporan mingguan {week_label} siap",
                    body=f"Laporan pemberitaan mingguan {week_label} sudah dibuat: " + ", ".join(files))


def send_webhook(url: str, alert: AlertRow, timeout: float = 10.0) -> None:
    response = httpx.post(url, json={"text": f"*{alert.subject}*\n{alert.body}", "kind": alert.kind,
                                     "key": alert.alert_key, "files": alert.attachments}, timeout=timeout)
    response.raise_for_status()


def send_email(smtp, alert: AlertRow, timeout: float = 10.0) -> None:
    message = EmailMessage()
    message["Subject"] = f"[monitor] {alert.subject}"
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.to)
    # the PDF is what people forward; the HTML is named in the body
    pdfs = [Path(name) for name in alert.attachments if name.lower().endswith(".pdf")]
    attached = [p for p in pdfs if p.is_file() and p.stat().st_size <= MAX_ATTACHMENT_BYTES]
    notes = [f"(tidak dilampirkan: {p} tidak ada atau lebih dari 7 MB)" for p in pdfs if p not in attached]
    message.set_content("\n".join([alert.body or "", *notes]))
    for path in attached:
        message.add_attachment(path.read_bytes(), maintype="application", subtype="pdf", filename=path.name)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username:
            client.login(smtp.username, os.environ.get(smtp.password_env or "", ""))
        client.send_message(message)


def process(store: Store, settings, now: dt.datetime | None = None, senders=None) -> dict:
    """Record new alerts and send every unsent one. Returns counts; never raises for a failed send."""
    cfg = settings.alerts
    now = now or dt.datetime.now(UTC)
    if not (cfg.webhook_url or cfg.smtp):
        return {"new": 0, "sent": 0, "failed": 0}
    senders = senders or {}
    with store.session() as con:
        new = collect(con, settings, now)
        if new:
            write_batch(con, Batch.from_records(new), store.local_time)
        pending = [AlertRow(alert_key=k, kind=kind, subject=subject, body=body, attempts=attempts, attachments=files or [],
                            delivered_to=delivered or [])
                   for k, kind, subject, body, attempts, files, delivered in con.execute(
                       "SELECT alert_key, kind, subject, body, attempts, attachments, delivered_to FROM alerts "
                       "WHERE sent_at IS NULL ORDER BY created_at, alert_key").fetchall()]
    channels = {name: send for name, send in (("webhook", senders.get("webhook", send_webhook) if cfg.webhook_url else None),
                                              ("email", senders.get("email", send_email) if cfg.smtp else None)) if send}
    updates, sent, failed = [], 0, 0
    for alert in pending:
        errors, delivered = [], list(alert.delivered_to)
        for name, send in channels.items():
            if name in delivered:
                continue
            try:
                send(cfg.webhook_url if name == "webhook" else cfg.smtp, alert)
                delivered.append(name)
            except Exception as exc:  # any transport failure: recorded, retried next time
                errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
                log.warning("alert %s not sent by %s: %s", alert.alert_key, name, exc)
        ok = not errors
        sent += ok
        failed += not ok
        updates.append(AlertUpdate(alert_key=alert.alert_key, sent_at=now if ok else None, attempts=alert.attempts + 1,
                                   last_error="; ".join(errors) or None, delivered_to=delivered))
    if updates:
        store.write(Batch.from_records(updates))
    return {"new": len(new), "sent": sent, "failed": failed}
