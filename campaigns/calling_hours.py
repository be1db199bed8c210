"""Calling hours: the daily windows in which a campaign may dial, in a time zone of its own.

Pure: parsing what a person typed, and when a window opens or closes. Windows are wall-clock
times in the campaign's zone, so "09:00–17:00" stays 09:00–17:00 across a daylight-saving
change (the instants in UTC move by an hour). A time the clocks skip (02:30 on a
spring-forward night) is read with the offset from before the change, so it falls an hour
later on the new clock (03:30); a time the clocks repeat (01:30 on a fall-back night) means
its first occurrence. Python's own rules (PEP 495, fold=0) in both cases.

Keeping a campaign inside its windows (pausing at the end, resuming at the next start) is
`keep_hours.keep_calling_hours`, run by the beat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                  "sunday")
# Words a person may use for a set of days, besides day names and ranges of them.
DAY_WORDS = {"daily": range(7), "every day": range(7), "weekdays": range(5),
             "weekends": range(5, 7)}
EXAMPLE = "Mon-Fri 09:00-17:00"
MAX_WINDOWS = 14
# "24:00" as a window's end: the end of that day (the next day's midnight).
END_OF_DAY = time.max

_LINE = re.compile(r"^\s*(?P<days>.+?)\s+(?P<start>\d{1,2}:\d{2})\s*[-–—]\s*"
                   r"(?P<end>\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 is Monday, as date.weekday()
    start: time
    end: time

    def __str__(self) -> str:
        return f"{describe_days(self.days)} {self.start:%H:%M}–{_clock(self.end)}"

    def as_json(self) -> dict:
        return {"days": sorted(self.days), "from": f"{self.start:%H:%M}",
                "to": _clock(self.end)}


@dataclass(frozen=True)
class CallingHours:
    zone: str
    windows: tuple[Window, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def __str__(self) -> str:
        return f"{', '.join(str(w) for w in self.windows)} ({self.zone})"

    def as_json(self) -> dict:
        return {"zone": self.zone, "windows": [w.as_json() for w in self.windows]}

    def as_text(self) -> str:
        """What a person would type to get these windows back (the form's initial text)."""
        return "\n".join(str(w).replace("–", "-") for w in self.windows)

    def wall_clock(self, at: datetime) -> str:
        """`at` as the campaign's clock reads it: "09:00 on Monday 09 March (America/New_York)"."""
        return f"{at.astimezone(self.tz):%H:%M on %A %d %B} ({self.zone})"

    def is_open(self, at: datetime) -> bool:
        return any(start <= at < end for start, end in self._intervals(at))

    def closes_at(self, at: datetime) -> datetime | None:
        """The end of the window `at` falls in (None when it falls in none)."""
        return next((end for start, end in self._intervals(at) if start <= at < end), None)

    def opens_at(self, at: datetime) -> datetime | None:
        """The next window's start after `at` (None when no window falls in the next week)."""
        return next((start for start, _ in self._intervals(at) if start > at), None)

    def _intervals(self, at: datetime) -> list[tuple[datetime, datetime]]:
        """The windows from the day before `at` to a week after, as UTC instants, sorted
        and with overlapping or touching ones merged."""
        tz = self.tz
        today = at.astimezone(tz).date()
        spans = sorted(
            (_instant(day, window.start, tz), _instant(day, window.end, tz))
            for offset in range(-1, 9)
            for day in [today + timedelta(days=offset)]
            for window in self.windows if day.weekday() in window.days
        )
        merged: list[tuple[datetime, datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


def _instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    if wall == END_OF_DAY:
        day, wall = day + timedelta(days=1), time(0)
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def _clock(wall: time) -> str:
    return "24:00" if wall == END_OF_DAY else f"{wall:%H:%M}"


def _wall(text: str) -> time:
    return END_OF_DAY if text == "24:00" else time.fromisoformat(text)


def of(campaign) -> CallingHours | None:
    """The campaign's calling hours, or None when it may dial at any time."""
    stored = campaign.calling_hours or {}
    if not stored.get("windows"):
        return None
    return CallingHours(stored["zone"], tuple(
        Window(frozenset(w["days"]), _wall(w["from"]), _wall(w["to"]))
        for w in stored["windows"]))


# In the system's zone database but not places: "localtime" is whatever the server's
# clock says, "Factory" a placeholder with no offset.
_NOT_PLACES = {"Factory", "localtime", "posixrules", "posix", "right"}


@cache
def zones() -> tuple[str, ...]:
    return tuple(sorted(zone for zone in available_timezones()
                        if zone not in _NOT_PLACES and zone.split("/")[0] not in _NOT_PLACES))


def parse(text: str, zone: str) -> CallingHours | None:
    """What a person typed (one window per line, e.g. "Mon-Fri 09:00-17:00"), or None for
    no calling hours. Raises ValueError with a message naming the line at fault.

    Windows may also be separated by a comma or semicolon after a time, as the page itself
    writes them ("Mon–Fri 09:00–17:00, Sat 10:00–14:00"): a comma after a digit cannot be
    part of a list of days."""
    zone = zone.strip()
    lines = [(n, window.strip()) for n, line in enumerate(text.splitlines(), 1)
             for window in _WINDOW_SEPARATOR.split(line) if window.strip()]
    if not lines:
        return None
    if zone not in zones():
        raise ValueError("Choose a time zone from the list, e.g. Europe/London.")
    if len(lines) > MAX_WINDOWS:
        raise ValueError(f"At most {MAX_WINDOWS} windows, one per line.")
    return CallingHours(zone, tuple(_parse_line(n, line) for n, line in lines))


_WINDOW_SEPARATOR = re.compile(r"(?<=\d)\s*[,;]\s*")


def _parse_line(number: int, line: str) -> Window:
    where = f"Line {number} (“{line[:40]}”)"
    match = _LINE.match(line)
    if not match:
        raise ValueError(f"{where}: write days, then from–to, e.g. “{EXAMPLE}”.")
    if match["start"].zfill(5) == "24:00":
        raise ValueError(f"{where}: 24:00 is the end of a day, so a window can end there but "
                         "not start there; start it at 00:00 of the next day.")
    try:
        start = time.fromisoformat(match["start"].zfill(5))
        end = _wall(match["end"].zfill(5))
    except ValueError:
        raise ValueError(f"{where}: times are 24-hour, from 00:00 to 24:00.") from None
    if end <= start:
        raise ValueError(f"{where}: the end must be after the start on the same day; "
                         "for hours past midnight, write two windows.")
    return Window(_parse_days(where, match["days"]), start, end)


def _parse_days(where: str, text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in re.split(r"\s*,\s*", text.strip().lower()):
        if part in DAY_WORDS:
            days.update(DAY_WORDS[part])
            continue
        ends = re.split(r"\s*[-–—]\s*", part)
        if len(ends) > 2 or not all(_day(end) is not None for end in ends):
            raise ValueError(f"{where}: “{part}” is not a day; use Mon, Tue, … Sun, ranges "
                             "like Mon-Fri, or Daily, Weekdays, Weekends.")
        first, last = _day(ends[0]), _day(ends[-1])
        days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return frozenset(days)


def _day(word: str) -> int | None:
    """Monday is 0: "mon", "mond", "monday" name it; "mo" and "monkey" do not."""
    return next((index for index, full in enumerate(FULL_DAY_NAMES)
                 if len(word) >= 3 and full.startswith(word)), None)


def describe_days(days: frozenset[int]) -> str:
    """"Mon–Fri", "Daily", "Mon, Wed, Fri", "Sat–Sun"."""
    ordered = sorted(days)
    if len(ordered) == 7:
        return "Daily"
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(DAY_NAMES[run[0]] if len(run) == 1 else
                     f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[-1]]}" for run in runs)
