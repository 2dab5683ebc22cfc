"""Feed and page dates as Indonesian portals write them (issue 14, kinds 1, 2 and 10; ../shared/cases)."""

import datetime as dt

import pytest

from monitor.ingest.dates import parse_date, parse_datetime
from monitor.localtime import LocalTime

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", [
    "Rabu, 11 Desember 2024 | 10:23 WIB",        # the case (feed-date-separator)
    "Rabu, 11 Desember 2024 10:23 WIB",          # its control
    "Rabu, 11 Desember 2024 - 10:23 WIB",
    "Rabu, 11 Desember 2024, 10:23 WIB",
    "Rabu, 11 Desember 2024 pukul 10:23 WIB",
    "Rabu, 11 Des 2024 - 10.23 WIB",
    "Rabu 11/12/2024 | 10:23 WIB",
    "11-12-2024 10:23:00 WIB",
    "Rabu, 11 Desember 2024 | 10:23:00 WIB",
    "Rabu, 11 Desember 2024 | 10:23 AM WIB",
    "Rabu, 11 Desember 2024 • 11:23 WITA",
    "Rabu, 11 Desember 2024 – 12:23 WIT",
    "Rabu, 11 Desember 2024 jam 03:23 GMT",
    "11 Desember 2024 | 10:23 GMT+7",
])
def test_date_separator_time_and_zone_are_read_together(raw):
    assert parse_date(raw, NOW) == (dt.datetime(2024, 12, 11, 3, 23, tzinfo=UTC), "ok")


def test_twelve_hour_clock_in_the_afternoon():
    assert parse_datetime("Rabu, 11 Desember 2024 | 01:05 PM WIB") == dt.datetime(2024, 12, 11, 6, 5, tzinfo=UTC)


@pytest.mark.parametrize("raw, expected", [
    # months whose names are also English: the RFC parser used to take these and drop the AM/PM
    ("30 Nov 2026 01:30 PM", dt.datetime(2026, 11, 30, 6, 30, tzinfo=UTC)),
    ("Senin, 30 November 2026 12:00 AM", dt.datetime(2026, 11, 29, 17, 0, tzinfo=UTC)),
    ("30 Nov 2026 12:00 PM", dt.datetime(2026, 11, 30, 5, 0, tzinfo=UTC)),
    ("30/11/2026 10:23 PM", dt.datetime(2026, 11, 30, 15, 23, tzinfo=UTC)),
    # zone names in any case, RFC 2822's -0000, an hour-only offset
    ("Senin, 30 Nov 2026 10:23 Wita", dt.datetime(2026, 11, 30, 2, 23, tzinfo=UTC)),
    ("Senin, 30 Nov 2026 10:23 wib", dt.datetime(2026, 11, 30, 3, 23, tzinfo=UTC)),
    ("Sat, 05 Dec 2026 10:23:00 -0000", dt.datetime(2026, 12, 5, 10, 23, tzinfo=UTC)),
    ("05 Dec 2026 10:23:00 +07", dt.datetime(2026, 12, 5, 3, 23, tzinfo=UTC)),
])
def test_twelve_hour_times_and_zones_are_never_dropped(raw, expected):
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["Nov 30, 2026 10:23 PM", "2026-12-05 22.05", "2026-12-05T10.23",
                                 "Mon, 30 Nov 2026 10:23 Waktu"])
def test_layouts_that_would_be_misread_are_unknown_not_wrong(raw):
    assert parse_datetime(raw) is None


@pytest.mark.parametrize("raw, expected", [
    ("Rabu, 6 Nop 2024 10:00 WIB", dt.datetime(2024, 11, 6, 3, 0, tzinfo=UTC)),      # the case (month-spellings)
    ("Kamis, 8 Peb 2024 09:30 WIB", dt.datetime(2024, 2, 8, 2, 30, tzinfo=UTC)),
    ("Jumat, 15 Mrt 2024 14:00 WIB", dt.datetime(2024, 3, 15, 7, 0, tzinfo=UTC)),
    ("Rabu, 6 Nov 2024 10:00 WIB", dt.datetime(2024, 11, 6, 3, 0, tzinfo=UTC)),      # its control
    ("6 Nopember 2024 10:00 WIB", dt.datetime(2024, 11, 6, 3, 0, tzinfo=UTC)),
    ("8 Pebruari 2024 09:30 WIB", dt.datetime(2024, 2, 8, 2, 30, tzinfo=UTC)),
    ("17 Agt 2024 08:00 WIB", dt.datetime(2024, 8, 17, 1, 0, tzinfo=UTC)),
    ("17 Ags 2024 08:00 WIB", dt.datetime(2024, 8, 17, 1, 0, tzinfo=UTC)),
    ("17 Agust. 2024 08:00 WIB", dt.datetime(2024, 8, 17, 1, 0, tzinfo=UTC)),
    ("1 Sept 2024 08:00 WIB", dt.datetime(2024, 9, 1, 1, 0, tzinfo=UTC)),
    ("1 Djuli 2024 08:00 WIB", dt.datetime(2024, 7, 1, 1, 0, tzinfo=UTC)),
    ("3 Mai 2024 08:00 WIB", dt.datetime(2024, 5, 3, 1, 0, tzinfo=UTC)),
    ("Ahad, 5 Januari 2025 20:00 WIB", dt.datetime(2025, 1, 5, 13, 0, tzinfo=UTC)),
    ("Jum'at, 10 Okt 2025 07:15 WITA", dt.datetime(2025, 10, 9, 23, 15, tzinfo=UTC)),
])
def test_month_spellings_in_use(raw, expected):
    assert parse_date(raw, NOW) == (expected, "ok")


@pytest.mark.parametrize("raw", ["Rabu, 11 Desember 2024 | pukul sepuluh WIB", "11 Desember 2024 | 25:70 WIB",
                                 "kemarin sore", "11 Frimaire 2024 10:23 WIB"])
def test_a_date_that_cannot_be_read_whole_is_unparsed_never_midnight(raw):
    assert parse_date(raw, NOW) == (None, "unparsed")


@pytest.mark.parametrize("raw, expected", [
    ("2026-11-28T18:30:00Z", dt.datetime(2026, 11, 28, 18, 30, tzinfo=UTC)),          # the case (page-date-utc)
    ("2026-11-28T18:30:00+00:00", dt.datetime(2026, 11, 28, 18, 30, tzinfo=UTC)),
    ("2026-11-29T01:30:00+0700", dt.datetime(2026, 11, 28, 18, 30, tzinfo=UTC)),
    ("2026-11-29T02:30:00+08:00", dt.datetime(2026, 11, 28, 18, 30, tzinfo=UTC)),
    ("2026-11-29 01:30:00", dt.datetime(2026, 11, 28, 18, 30, tzinfo=UTC)),            # no zone: local time
    ("2026-11-29", dt.datetime(2026, 11, 28, 17, 0, tzinfo=UTC)),                      # a date: local midnight
])
def test_page_dates_keep_their_time_and_offset(raw, expected):
    value = parse_datetime(raw)
    assert value == expected
    assert LocalTime().day_of(value) == dt.date(2026, 11, 29)
