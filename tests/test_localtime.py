"""The time zone comes from settings, through monitor/localtime.py only."""

import datetime as dt
import re
from pathlib import Path

from monitor.db.store import Store
from monitor.ingest.extract import parse_page_date
from monitor.ingest.feeds import parse_date
from monitor.localtime import LocalTime
from monitor.outputs.export import Week

from helpers import batch

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
UTC = dt.UTC


def test_no_module_but_the_helper_and_the_settings_default_names_a_zone():
    allowed = {PACKAGE / "localtime.py"}
    pattern = re.compile(r"Asia/Jakarta|hours=7\b|\+07:?00|\bUTC\+7\b")
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if p not in allowed and pattern.search(p.read_text())]
    assert offenders == []


def test_days_follow_the_configured_zone():
    moment = dt.datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA the next day
    assert LocalTime().day_of(moment) == dt.date(2026, 11, 22)
    assert LocalTime("Asia/Makassar").day_of(moment) == dt.date(2026, 11, 23)
    assert LocalTime("Asia/Makassar").label == "WITA" and LocalTime("Europe/Berlin").label == "Europe/Berlin"
    assert LocalTime().format(moment) == "2026-11-22 23:30 WIB"


def test_the_store_cuts_local_days_in_its_zone(tmp_path):
    moment = dt.datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
    for zone, day in (("Asia/Jakarta", dt.date(2026, 11, 22)), ("Asia/Jayapura", dt.date(2026, 11, 23))):
        store = Store(tmp_path / f"{zone.replace('/', '-')}.duckdb", local_time=LocalTime(zone))
        store.write(batch(articles=[{"article_id": "a1", "status": "ok", "published_at": moment, "fetched_at": moment}]))
        with store.session(read_only=True) as con:
            assert con.execute("SELECT local_day FROM articles").fetchone()[0] == day


def test_dates_without_a_zone_and_page_dates_are_read_in_the_configured_zone():
    now = dt.datetime(2026, 11, 30, tzinfo=UTC)
    wita = LocalTime("Asia/Makassar")
    assert parse_date("2026-11-23 10:00", now, wita)[0] == dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert parse_date("2026-11-23 10:00", now)[0] == dt.datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert parse_page_date("2026-11-23", wita) == dt.datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def test_the_last_complete_week_is_cut_in_the_configured_zone():
    sunday_night_utc = dt.datetime(2026, 11, 29, 17, 30, tzinfo=UTC)  # Monday 00:30 WIB, still Sunday in UTC-5
    assert Week.last_complete(LocalTime(), sunday_night_utc).label == "2026-W48"
    assert Week.last_complete(LocalTime("America/New_York"), sunday_night_utc).label == "2026-W47"
