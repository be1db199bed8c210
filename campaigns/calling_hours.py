"""Calling hours: the daily windows in which a campaign may dial, in a time zone of its own.

Pure: parsing what a person typed, and when a window opens or closes. Windows are wall-clock
times in the campaign's zone, so "09:00–17:00" stays 09:00–17:00 across a daylight-saving
change (the instants in UTC move by an hour). On the nights the clocks change, a window
dials only while the clock reads a time inside it:

- A time the clocks skip (02:30 on a spring-forward night, when 02:00 becomes 03:00) is the
  moment of the change, 03:00 on the new clock. "01:00–02:30" closes at 03:00, and
  "02:00–02:59" does not open that night. (Python's own reading, PEP 495's fold=0, put
  02:30 at 03:30 on the new clock: an hour of dialling nobody wrote.)
- A time the clocks repeat (01:30 on a fall-back night, when 02:00 becomes 01:00) starts a
  window at its second occurrence and ends one at its first: "01:30–03:00" dials from
  01:30 on the new clock to 03:00 (not from the first 01:30, which would dial through the
  repeated 01:00–01:30 outside the window), "00:00–01:30" until the first 01:30. A window
  wholly inside the repeated hour ("01:15–01:45") dials its first occurrence only. A window
  running across the repeated hour ("00:00–03:00") dials the whole of it, an hour longer
  than written, every minute of it at a time inside the window.

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
        spans = sorted(span for offset in range(-1, 9)
                       for day in [today + timedelta(days=offset)]
                       for window in self.windows if day.weekday() in window.days
                       for span in [_span(day, window, tz)] if span)
        merged: list[tuple[datetime, datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


def _span(day: date, window: Window, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """`window` on `day` as UTC instants (the module's docstring says how a change of the
    clocks is read), or None when it does not open that day (it lies in skipped time)."""
    start, end = _instant(day, window.start, tz, later=True), _instant(day, window.end, tz)
    if start >= end:  # both in the repeated hour: its first occurrence
        start = _instant(day, window.start, tz)
    return (start, end) if start < end else None


def _instant(day: date, wall: time, tz: ZoneInfo, *, later: bool = False) -> datetime:
    """`wall` on `day`: a time the clocks skip is the moment they change; a repeated one
    its later occurrence when `later`, else its first."""
    if wall == END_OF_DAY:
        day, wall = day + timedelta(days=1), time(0)
    local = datetime.combine(day, wall, tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return _clock_change(local)
    return local.replace(fold=int(later)).astimezone(UTC)


def _clock_change(skipped: datetime) -> datetime:
    """The instant the clocks jumped over `skipped` (a wall time that did not exist):
    between its readings with the offset after the change (earlier) and before it
    (later), found to the second (zones change on whole seconds)."""
    low, high = skipped.replace(fold=1).astimezone(UTC), skipped.astimezone(UTC)
    before = low.astimezone(skipped.tzinfo).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low) // timedelta(seconds=2))
        if middle.astimezone(skipped.tzinfo).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


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


# Zones named for a place: a continent or ocean, then a city ("America/New_York"). The
# database's other names are legacy links or fixed offsets that mislead: "Etc/GMT+5" is
# UTC-5 (POSIX counts westward), "EST" never moves to daylight time, "US/Eastern" is an old
# name for New York's clock. Campaigns saved in one are still read (`of` does not check).
_REGIONS = {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
            "Europe", "Indian", "Pacific"}


@cache
def zones() -> tuple[str, ...]:
    """The zones a person may choose: a place's ("Europe/London"), or UTC."""
    return tuple(sorted(zone for zone in available_timezones()
                        if zone.split("/")[0] in _REGIONS and "/" in zone) + ["UTC"])


# The city each legacy name is a link to (tzdata's "backward" file), when it names one
# clock: US/Eastern is New York's, EST5EDT follows US rules as New York does.
_LEGACY_CITY = {
    "US/Alaska": "America/Anchorage", "US/Aleutian": "America/Adak",
    "US/Arizona": "America/Phoenix", "US/Central": "America/Chicago",
    "US/East-Indiana": "America/Indiana/Indianapolis", "US/Eastern": "America/New_York",
    "US/Hawaii": "Pacific/Honolulu", "US/Indiana-Starke": "America/Indiana/Knox",
    "US/Michigan": "America/Detroit", "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles", "US/Samoa": "Pacific/Pago_Pago",
    "Canada/Atlantic": "America/Halifax", "Canada/Central": "America/Winnipeg",
    "Canada/Eastern": "America/Toronto", "Canada/Mountain": "America/Edmonton",
    "Canada/Newfoundland": "America/St_Johns", "Canada/Pacific": "America/Vancouver",
    "Canada/Saskatchewan": "America/Regina", "Canada/Yukon": "America/Whitehorse",
    "Brazil/Acre": "America/Rio_Branco", "Brazil/DeNoronha": "America/Noronha",
    "Brazil/East": "America/Sao_Paulo", "Brazil/West": "America/Manaus",
    "Chile/Continental": "America/Santiago", "Chile/EasterIsland": "Pacific/Easter",
    "Mexico/BajaNorte": "America/Tijuana", "Mexico/BajaSur": "America/Mazatlan",
    "Mexico/General": "America/Mexico_City", "Cuba": "America/Havana",
    "Egypt": "Africa/Cairo", "Eire": "Europe/Dublin", "GB": "Europe/London",
    "GB-Eire": "Europe/London", "Hongkong": "Asia/Hong_Kong", "Iceland": "Atlantic/Reykjavik",
    "Iran": "Asia/Tehran", "Israel": "Asia/Jerusalem", "Jamaica": "America/Jamaica",
    "Japan": "Asia/Tokyo", "Kwajalein": "Pacific/Kwajalein", "Libya": "Africa/Tripoli",
    "NZ": "Pacific/Auckland", "NZ-CHAT": "Pacific/Chatham", "Navajo": "America/Denver",
    "PRC": "Asia/Shanghai", "ROC": "Asia/Taipei", "ROK": "Asia/Seoul",
    "Singapore": "Asia/Singapore", "Turkey": "Europe/Istanbul", "W-SU": "Europe/Moscow",
    "Poland": "Europe/Warsaw", "Portugal": "Europe/Lisbon",
    "EST5EDT": "America/New_York", "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver", "PST8PDT": "America/Los_Angeles",
    # Hawaii keeps standard time all year, so its abbreviation is its clock.
    "HST": "Pacific/Honolulu",
    # Daylight-time abbreviations people type (not zones): only the US uses these.
    "EDT": "America/New_York", "CDT": "America/Chicago", "MDT": "America/Denver",
    "PDT": "America/Los_Angeles", "AKDT": "America/Anchorage",
}
# Abbreviations that name several clocks: which one was meant cannot be told.
_SHARED_ABBREVIATION = {
    "EST": "America/New_York (which moves to daylight time) or America/Panama (which does not)",
    "MST": "America/Denver (which moves to daylight time) or America/Phoenix (which does not)",
    "CST": "America/Chicago or Asia/Shanghai", "PST": "America/Los_Angeles or Asia/Manila",
    "IST": "Asia/Kolkata, Europe/Dublin or Asia/Jerusalem", "BST": "Europe/London or Asia/Dhaka",
    "CET": "Europe/Berlin or Europe/Paris", "MET": "Europe/Berlin or Europe/Paris",
    "CEST": "Europe/Berlin or Europe/Paris", "EET": "Europe/Athens or Europe/Helsinki",
    "WET": "Europe/Lisbon or Atlantic/Canary", "AEST": "Australia/Sydney or Australia/Brisbane",
}
_UTC_NAMES = {"GMT", "GMT+0", "GMT-0", "GMT0", "Greenwich", "UCT", "Universal", "Zulu", "Z",
              "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "Etc/Greenwich", "Etc/UCT",
              "Etc/UTC", "Etc/Universal", "Etc/Zulu"}
_OFFSET = re.compile(r"^(?:(?P<etc>etc/)?(?:gmt|utc))?\s*(?P<sign>[+-−])\s*"
                     r"(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$", re.IGNORECASE)
ZONE_EXAMPLE = "e.g. Europe/London or America/New_York"


def current_name(zone: str) -> str:
    """The zone by the name the list offers when it is an old name for one city's clock
    (hours saved as "US/Eastern" open as America/New_York: saved again unchanged, the old
    name was refused), else as it is."""
    return _LEGACY_CITY.get(zone, zone)


def zone_problem(zone: str) -> str | None:
    """Why `zone` cannot be chosen, in words for the person, and the zone to choose instead
    when that can be told; None when it can."""
    zone = zone.strip()
    if zone in zones():
        return None
    if not zone:
        return f"Choose the time zone the windows follow, {ZONE_EXAMPLE}."
    upper = zone.upper()
    city = _LEGACY_CITY.get(zone) or _LEGACY_CITY.get(upper)
    if city:
        return (f"“{zone}” is an old or short name for a clock: choose {city}, the same "
                "clock by its current name.")
    same = _same_city(zone)
    if same:
        return f"Choose the zone as the list writes it: {same}."
    if upper in _SHARED_ABBREVIATION:
        return (f"“{zone}” is a short name several clocks share: choose the city whose clock "
                f"the windows follow, e.g. {_SHARED_ABBREVIATION[upper]}.")
    if zone in _UTC_NAMES or upper in {"GMT", "UTC", "Z"}:
        return (f"“{zone}” is UTC all year, with no summer time: choose UTC, or the city "
                "whose clock the windows follow, e.g. Europe/London (which moves to summer "
                "time).")
    offset = _OFFSET.match(zone)
    if offset:
        sign = offset["sign"].replace("−", "-")
        if offset["etc"]:  # POSIX counts westward: Etc/GMT+5 is five hours behind UTC
            sign = "-" if sign == "+" else "+"
        hours = f"{int(offset['hours'])}" + (f":{offset['minutes']}" if offset["minutes"] else "")
        seems = "-" if sign == "+" else "+"
        said = (f"“{zone}” means UTC{sign}{hours}, not UTC{seems}{hours} (these names count "
                "backwards), and" if offset["etc"] else f"“{zone}” is a fixed offset that")
        return (f"{said} never changes for daylight saving: choose the city whose clock the "
                f"windows follow, {ZONE_EXAMPLE}.")
    return f"“{zone[:64]}” is not a time zone on the list: choose one, {ZONE_EXAMPLE}."


def listed_zone(typed: str) -> str:
    """`typed` as the list writes it when it names one zone whatever its case or spaces
    ("asia/kolkata", "New York": refused with the right spelling in the message, which the
    person then had to type again; a probe), else as typed (`zone_problem` says why)."""
    typed = typed.strip()
    return typed if typed in zones() else (_same_city(typed) or typed)


def _same_city(typed: str) -> str | None:
    """The one zone `typed` names regardless of case or spaces ("europe/london", "New
    York"), or None when it names none or several."""
    key = typed.casefold().replace(" ", "_")
    matches = {zone for zone in zones()
               if key in (zone.casefold(), zone.rsplit("/", 1)[-1].casefold())}
    return matches.pop() if len(matches) == 1 else None


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
    problem = zone_problem(zone)
    if problem:
        raise ValueError(problem)
    if len(lines) > MAX_WINDOWS:
        raise ValueError(f"At most {MAX_WINDOWS} windows, one per line.")
    windows = [_parse_line(n, line) for n, line in lines]
    _refuse_overlaps(lines, windows)
    return CallingHours(zone, tuple(windows))


def _refuse_overlaps(lines: list[tuple[int, str]], windows: list[Window]) -> None:
    """Two windows sharing a day and a time were saved as typed (a probe): one of them was
    surely meant otherwise, and which one is the person's to say."""
    for later in range(len(windows)):
        for earlier in range(later):
            a, b = windows[earlier], windows[later]
            days = a.days & b.days
            if days and a.start < b.end and b.start < a.end:
                number, line = lines[later]
                raise ValueError(
                    f"Line {number} (“{line[:40]}”) overlaps line {lines[earlier][0]} on "
                    f"{describe_days(days)} from {max(a.start, b.start):%H:%M} to "
                    f"{_clock(min(a.end, b.end))}: make them one window, or change one.")


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
    days = _parse_days(where, match["days"])
    if end <= start:
        raise ValueError(f"{where}: the end must be after the start on the same day"
                         + _past_midnight(match["days"].strip(), days, start, end))
    return Window(days, start, end)


def _past_midnight(typed_days: str, days: frozenset[int], start: time, end: time) -> str:
    """How to write a window that runs past midnight, with the person's own days: "Mon
    22:00-02:00" is "Mon 22:00-24:00" and "Tue 00:00-02:00" (a rule to follow, not "write
    two windows", which left them to work out the second)."""
    if end == start:
        return "."
    if end == time(0):
        return f"; midnight is 24:00, so write it as {typed_days} {start:%H:%M}-24:00."
    next_days = describe_days(frozenset((day + 1) % 7 for day in days)).replace("–", "-")
    return (f"; for hours past midnight, write it as two windows: {typed_days} "
            f"{start:%H:%M}-24:00 and {next_days} 00:00-{end:%H:%M}.")


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
    """"Mon–Fri", "Daily", "Mon, Wed, Fri", "Sat–Sun", "Fri–Mon"."""
    ordered = sorted(days)
    if len(ordered) == 7:
        return "Daily"
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6:
        # A run through Sunday into Monday is one run: "Sat–Tue", not "Mon–Tue, Sat–Sun".
        runs = [runs[-1] + runs[0], *runs[1:-1]]
    return ", ".join(DAY_NAMES[run[0]] if len(run) == 1 else
                     f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[-1]]}" for run in runs)
