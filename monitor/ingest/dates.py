"""Dates as feeds and pages write them, to aware UTC datetimes. Nothing here guesses "now".

Accepted layouts (each with any surrounding whitespace):
- ISO 8601 with or without a zone ("2026-11-28T18:30:00Z", "2026-11-28 18:30:00+08:00", "2026-11-28");
- RFC 822 / 2822 as feeds write it ("Mon, 23 Nov 2026 14:30:00 +0800", zone names GMT/UTC/EST …);
- Indonesian portal layouts: an optional day name (Senin … Minggu, Ahad), day, month (a word in any spelling in
  use, or a number: 11/12/2024, 11-12-2024, 11.12.2024), year, then optionally a separator (`|`, `-`, `–`, `,`,
  `•`, "pukul", "jam", "pkl"), a time (10:23, 10.23, 10:23:45, 12-hour with AM/PM) and a zone (WIB, WITA, WIT,
  GMT+8, UTC+09:00, +hhmm, Z).

Month spellings (sources: KBBI; CLDR `id`; the list in scrapinghub/dateparser issue #584, which covers older and
regional print forms): Januari Jan Djan Djanuari; Februari Pebruari Feb Febr Peb; Maret Mar Mrt; April Apr;
Mei Mai; Juni Jun Djuni; Juli Jul Djuli; Agustus Agu Agt Ags Agst Agus Agust Ag; September Sep Sept;
Oktober Okt Oct; November Nopember Nov Nop; Desember Des Dec — and the English names.

A string with a time of day that the parser could not place is `unparsed`, never midnight (a lost time of day is
a wrong hour stored as `ok`). A date without any zone is read in the local zone (Indonesian outlets publish in
local time); a date without a time is local midnight.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from monitor.localtime import INDONESIAN_ZONES, LocalTime
from monitor.statuses import DateStatus

UTC = dt.UTC
FUTURE_TOLERANCE = dt.timedelta(minutes=30)
OLDEST_PLAUSIBLE = dt.datetime(1995, 1, 1, tzinfo=UTC)

_MONTH_WORDS = {
    1: "januari jan djan djanuari january",
    2: "februari pebruari feb febr peb february",
    3: "maret mar mrt march",
    4: "april apr",
    5: "mei mai may",
    6: "juni jun djuni june",
    7: "juli jul djuli july",
    8: "agustus agu agt ags agst agus agust ag aug august",
    9: "september sep sept",
    10: "oktober okt oct october",
    11: "november nopember nov nop",
    12: "desember des dec december",
}
MONTHS: dict[str, int] = {word: number for number, words in _MONTH_WORDS.items() for word in words.split()}
DAY_NAMES = r"(?:senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad|mon|tue|wed|thu|fri|sat|sun)[a-z]*"
_ZONE = r"(?P<zone>WIB|WITA|WIT|Z|(?:GMT|UTC)\s*[+-]\s*\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|GMT|UTC)"
_INDONESIAN = re.compile(
    rf"^(?:{DAY_NAMES}\.?\s*,?\s*)?"
    r"(?P<day>\d{1,2})(?:\s+|\s*[/.-]\s*)(?P<month>[a-z]+\.?|\d{1,2})(?:\s+|\s*[/.-]\s*)(?P<year>\d{4}|\d{2})"
    r"(?:\s*(?:[|,•–—-]|\bpukul\b|\bjam\b|\bpkl\b\.?)?\s*"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?\s*(?P<ampm>[ap]\.?\s?m\.?)?)?"
    rf"\s*(?:{_ZONE})?\s*$", re.IGNORECASE)
_OFFSETS = {name: f"+{int(zone.utcoffset(None).total_seconds() // 3600):02d}00" for name, zone in INDONESIAN_ZONES.items()}
_TIME_OF_DAY = re.compile(r"\b\d{1,2}[:.]\d{2}\b(?!\s*[/.-]\s*\d)")


def zone_of(text: str | None) -> dt.tzinfo | None:
    """The tzinfo of a zone as written ("WIB", "GMT+8", "+09:00", "Z"), or None when no zone is given."""
    if not text:
        return None
    upper = text.upper().replace(" ", "")
    if upper in INDONESIAN_ZONES:
        return INDONESIAN_ZONES[upper]
    if upper in ("Z", "GMT", "UTC"):
        return UTC
    match = re.fullmatch(r"(?:GMT|UTC)?([+-])(\d{1,2}):?(\d{2})?", upper)
    if not match:
        return None
    sign = 1 if match.group(1) == "+" else -1
    return dt.timezone(sign * dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0)))


def _indonesian(text: str) -> tuple[dt.datetime, bool] | None:
    """(value, has a zone) for the Indonesian layouts; None when the text is not one of them."""
    match = _INDONESIAN.match(text)
    if not match:
        return None
    word = match.group("month").lower().rstrip(".")
    month = int(word) if word.isdigit() else MONTHS.get(word)
    if month is None:
        return None
    year = int(match.group("year"))
    if year < 100 and len(match.group("year")) > 2:
        return None  # "0001": a placeholder year, not a two-digit one
    year += 2000 if year < 100 else 0
    hour, minute = int(match.group("hour") or 0), int(match.group("minute") or 0)
    ampm = (match.group("ampm") or "").lower().replace(".", "").replace(" ", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    try:
        value = dt.datetime(year, month, int(match.group("day")), hour, minute, int(match.group("second") or 0))
    except ValueError:
        return None
    zone = zone_of(match.group("zone"))
    return (value.replace(tzinfo=zone), True) if zone else (value, False)


def _iso(text: str) -> dt.datetime | None:
    if re.search(r"[T ]\d{1,2}\.\d{2}", text):  # "22.05" is a time with a dot; fromisoformat reads 22.05 hours
        return None
    try:
        return dt.datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text))
    except ValueError:
        return None


def _rfc2822(text: str) -> dt.datetime | None:
    """RFC 2822 dates. The email parser drops what it does not know at the end (an "AM"/"PM", a zone name such as
    "Wita" in another case) and reads "+07" as seven minutes: those are left to the Indonesian layouts or refused."""
    if not re.search(r"[A-Za-z]{3}", text) or re.search(r"\d\s*[ap]\.?\s?m\.?$", text, re.I):
        return None
    if re.search(r"\d:\d{2}(?::\d{2})?\s*[+-]\d{2}$", text):
        text += "00"
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    year = re.search(r"\b(\d{4})\b", text)
    if year and int(year.group(1)) != parsed.year:
        return None  # the email parser turns years below 100 ("0001") into 2001 or 1901: a placeholder, not a date
    if parsed.tzinfo is None:
        if re.search(r"-0000$", text):  # RFC 2822 3.3: UTC, local zone unknown
            return parsed.replace(tzinfo=UTC)
        if re.search(r"\d\s+[A-Za-z]+$", text):  # a trailing word the parser did not read as a zone
            return None
    return parsed


def parse_datetime(raw: str | None, local: LocalTime | None = None) -> dt.datetime | None:
    """The instant a date string names, in UTC; None when it cannot be read as a whole (see the module doc)."""
    if not raw or not raw.strip():
        return None
    text = " ".join(raw.split())
    # the RFC 2822 parser reads an unknown zone name as no zone: give it the offset ("WITA" -> "+0800")
    text = re.sub(r"\b(WIB|WITA|WIT)\b", lambda m: _OFFSETS[m.group(1).upper()], text, flags=re.IGNORECASE)
    parsed = _iso(text) or _rfc2822(text)
    if parsed is None:
        indonesian = _indonesian(text)
        if indonesian is None:
            return None
        parsed = indonesian[0]
    if parsed.tzinfo is None:
        parsed = (local or LocalTime()).assume_local(parsed)
    midnight_written = re.search(r"(?<!\d)0?0[:.]00(?!\d)|(?<!\d)12[:.]00\s*a\.?\s?m", text, re.IGNORECASE)
    if _TIME_OF_DAY.search(text) and parsed.time() == dt.time() and not midnight_written:
        return None  # a time was written but not read: refuse rather than store midnight
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 or 9999 with an offset that crosses the calendar's edge
        return None


def parse_date(raw: str | None, now: dt.datetime, local: LocalTime | None = None) -> tuple[dt.datetime | None, DateStatus]:
    """A feed's date string to (UTC value or None, status): missing, unparsed, future (beyond 30 minutes from
    `now`), implausible (before 1995) or ok."""
    if not raw or not raw.strip():
        return None, DateStatus.MISSING
    parsed = parse_datetime(raw, local)
    if parsed is None:
        return None, DateStatus.UNPARSED
    if parsed > now + FUTURE_TOLERANCE:
        return None, DateStatus.FUTURE
    if parsed < OLDEST_PLAUSIBLE:
        return None, DateStatus.IMPLAUSIBLE
    return parsed, DateStatus.OK
