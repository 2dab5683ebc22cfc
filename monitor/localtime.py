"""The local time zone, in one place: days and weeks are cut in ``settings.timezone`` (default Asia/Jakarta, WIB).

Everything else takes a :class:`LocalTime` built from the validated settings; no other module names a zone or an
offset. Timestamps are stored in UTC (TIMESTAMPTZ); only days, weeks and displayed times are local.

Indonesia has three zones (Peraturan Presiden 41/1987): WIB = UTC+7 (Asia/Jakarta), WITA = UTC+8 (Asia/Makassar),
WIT = UTC+9 (Asia/Jayapura). Their abbreviations appear in feed and page dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

UTC = dt.UTC
DEFAULT_TIMEZONE = "Asia/Jakarta"
# Indonesian zone abbreviations as written in dates ("10:23 WIB") -> UTC offset.
INDONESIAN_ZONES: dict[str, dt.timezone] = {
    "WIB": dt.timezone(dt.timedelta(hours=7)),
    "WITA": dt.timezone(dt.timedelta(hours=8)),
    "WIT": dt.timezone(dt.timedelta(hours=9)),
}
_LABELS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


@dataclass(frozen=True)
class LocalTime:
    """The configured zone. ``name`` is an IANA zone name (validated by config)."""

    name: str = DEFAULT_TIMEZONE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.name)

    @property
    def label(self) -> str:
        """How people here name the zone: WIB/WITA/WIT for Indonesian zones, else the IANA name."""
        return _LABELS.get(self.name, self.name)

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        return self.local(now or dt.datetime.now(UTC)).date()

    def local(self, moment: dt.datetime) -> dt.datetime:
        """An aware datetime in the local zone (a naive one is taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone)

    def day_of(self, moment: dt.datetime) -> dt.date:
        return self.local(moment).date()

    def start_of(self, day: dt.date) -> dt.datetime:
        """Midnight of `day` in the local zone, as an aware datetime."""
        return dt.datetime.combine(day, dt.time(), self.zone)

    def assume_local(self, naive: dt.datetime) -> dt.datetime:
        """A naive wall-clock time read from a local source (a feed without a zone) made aware in this zone."""
        return naive.replace(tzinfo=self.zone)

    def format(self, moment: dt.datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """'2026-11-30 07:00 WIB'; '-' for None."""
        return "-" if moment is None else f"{self.local(moment).strftime(pattern)} {self.label}"

    def day_sql(self, expression: str) -> str:
        """SQL for the local calendar day of a TIMESTAMPTZ expression."""
        return f"CAST(timezone('{self.name}', {expression}) AS DATE)"


class HasTimezone(Protocol):
    @property
    def timezone(self) -> str: ...


def local_time(settings: HasTimezone) -> LocalTime:
    """The LocalTime of validated Settings."""
    return LocalTime(settings.timezone)
