"""Calling hours as rules: what a person may type, and when a window opens and closes,
across daylight-saving changes (pure; no database, no Atoms)."""

from datetime import UTC, datetime, time
from types import SimpleNamespace

import pytest

from campaigns.calling_hours import describe_days, of, parse, zones

WEEKDAYS_NY = parse("Mon-Fri 09:00-17:00", "America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_windows_read_as_typed_and_come_back_as_the_same_text():
    hours = parse("Mon-Fri 09:00-17:00\n\n  Sat 10:00 – 14:00  ", "Europe/London")
    assert str(hours) == "Mon–Fri 09:00–17:00, Sat 10:00–14:00 (Europe/London)"
    assert [sorted(w.days) for w in hours.windows] == [[0, 1, 2, 3, 4], [5]]
    assert parse(hours.as_text(), hours.zone) == hours
    # As the page writes them, on one line, is read the same.
    assert parse("Mon–Fri 09:00–17:00, Sat 10:00–14:00", "Europe/London") == hours
    assert parse("Mon 09:00-17:00;Tue 10:00-11:00", "UTC") == parse(
        "Mon 09:00-17:00\nTue 10:00-11:00", "UTC")


@pytest.mark.parametrize(("typed", "days", "start"), [
    ("Weekdays 9:00-17:30", {0, 1, 2, 3, 4}, time(9, 0)),
    ("weekends 10:00-12:00", {5, 6}, time(10, 0)),
    ("Daily 08:00-20:00", set(range(7)), time(8, 0)),
    ("Fri-Mon 10:00-12:00", {4, 5, 6, 0}, time(10, 0)),
    ("Monday, Wed, friday 07:45–12:00", {0, 2, 4}, time(7, 45)),
])
def test_days_may_be_names_ranges_lists_or_words(typed, days, start):
    (window,) = parse(typed, "UTC").windows
    assert set(window.days) == days
    assert window.start == start


@pytest.mark.parametrize(("typed", "message"), [
    ("Mon 17:00-09:00", "Line 1 (“Mon 17:00-09:00”): the end must be after the start"),
    ("Mon 09:00-09:00", "the end must be after the start"),
    ("Funday 09:00-10:00", "“funday” is not a day"),
    ("Mo 09:00-10:00", "“mo” is not a day"),
    ("Mon 25:00-26:00", "times are 24-hour"),
    ("Mon 24:00-24:00", "24:00 is the end of a day, so a window can end there but not start"),
    ("Mon-Fri 9-5", "write days, then from–to"),
    ("Mon 09:00-12:00\nTue nine to five", "Line 2 (“Tue nine to five”)"),
])
def test_a_line_that_cannot_be_read_is_named_with_what_to_write(typed, message):
    with pytest.raises(ValueError) as error:
        parse(typed, "UTC")
    assert message in str(error.value)


@pytest.mark.parametrize(("typed", "rewrite"), [
    ("Mon 22:00-02:00", "; for hours past midnight, write it as two windows: "
                        "Mon 22:00-24:00 and Tue 00:00-02:00."),
    ("Mon-Fri 22:00-02:00", "; for hours past midnight, write it as two windows: "
                            "Mon-Fri 22:00-24:00 and Tue-Sat 00:00-02:00."),
    ("Sun 23:30-00:30", "; for hours past midnight, write it as two windows: "
                        "Sun 23:30-24:00 and Mon 00:00-00:30."),
    ("Sat 20:00-00:00", "; midnight is 24:00, so write it as Sat 20:00-24:00."),
    # Through Sunday into Monday: one run, not "Mon, Sun" or "Mon-Tue, Sat-Sun" (probe).
    ("Sat-Sun 22:00-02:00", "; for hours past midnight, write it as two windows: "
                            "Sat-Sun 22:00-24:00 and Sun-Mon 00:00-02:00."),
    ("Fri-Mon 22:00-02:00", "; for hours past midnight, write it as two windows: "
                            "Fri-Mon 22:00-24:00 and Sat-Tue 00:00-02:00."),
])
def test_a_window_past_midnight_is_refused_with_the_two_windows_to_write(typed, rewrite):
    """"Mon 22:00-02:00" was refused with "write two windows", leaving the person to work
    out which two: the refusal writes them, with the person's own days."""
    with pytest.raises(ValueError) as error:
        parse(typed, "UTC")
    assert str(error.value) == (f"Line 1 (“{typed}”): the end must be after the start on the "
                                f"same day{rewrite}")
    # What it says to write is taken.
    written = rewrite.rsplit(" as ", 1)[-1].removeprefix("two windows: ").rstrip(".")
    assert parse(written.replace(" and ", "\n"), "UTC")


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules"])
def test_a_zone_must_be_a_place_not_the_servers_clock(zone):
    with pytest.raises(ValueError, match="is not a time zone on the list"):
        parse("Mon 09:00-10:00", zone)


def test_no_lines_means_no_calling_hours_and_a_zone_must_exist():
    assert parse("  \n ", "Not/AZone") is None
    for zone in ("Not/AZone", "../etc/passwd"):
        with pytest.raises(ValueError, match="is not a time zone on the list"):
            parse("Mon 09:00-10:00", zone)
    with pytest.raises(ValueError, match="Choose the time zone the windows follow"):
        parse("Mon 09:00-10:00", "")
    with pytest.raises(ValueError, match="At most 14 windows"):
        parse("\n".join(["Mon 09:00-10:00"] * 15), "UTC")


@pytest.mark.parametrize(("zone", "message"), [
    ("Etc/GMT+5", "“Etc/GMT+5” means UTC-5, not UTC+5 (these names count backwards), and "
                  "never changes for daylight saving: choose the city whose clock the windows "
                  "follow, e.g. Europe/London or America/New_York."),
    ("US/Eastern", "“US/Eastern” is an old or short name for a clock: choose "
                   "America/New_York, the same clock by its current name."),
    ("Canada/Pacific", "choose America/Vancouver, the same clock"),
    ("EST5EDT", "choose America/New_York, the same clock"),
    ("EST", "“EST” is a short name several clocks share: choose the city whose clock the "
            "windows follow, e.g. America/New_York (which moves to daylight time) or "
            "America/Panama (which does not)."),
    ("GMT+0", "“GMT+0” is UTC all year, with no summer time: choose UTC, or the city"),
    ("Etc/UTC", "is UTC all year"),
    ("UTC+5", "“UTC+5” is a fixed offset that never changes for daylight saving"),
    ("new york", "Choose the zone as the list writes it: America/New_York."),
    ("SystemV/EST5", "is not a time zone on the list"),
])
def test_a_misleading_zone_is_refused_saying_why_and_what_to_choose(zone, message):
    """A probe saved "Etc/GMT+5" (UTC-5: someone meaning UTC+5 is called ten hours off),
    "EST" (never on daylight time) and "US/Eastern": only a place's zone, or UTC, is
    taken, and the refusal names the city to choose where that can be told."""
    with pytest.raises(ValueError) as error:
        parse("Mon 09:00-10:00", zone)
    assert message in str(error.value)


def test_the_zones_offered_are_places_and_utc():
    offered = set(zones())
    assert {"America/New_York", "Europe/London", "Asia/Kolkata", "Pacific/Auckland",
            "America/Argentina/Buenos_Aires", "UTC"} <= offered
    assert not offered & {"EST", "Etc/GMT+5", "US/Eastern", "GMT+0", "Etc/UTC", "GB", "CET"}
    assert all(zone == "UTC" or zone.split("/")[0] in {
        "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
        "Indian", "Pacific"} for zone in offered)
    assert parse("Mon 09:00-10:00", "UTC").zone == "UTC"
    # Hours saved before, in a name no longer offered, are read as saved, not checked again.
    saved = of(SimpleNamespace(calling_hours={
        "zone": "US/Eastern", "windows": [{"days": [0], "from": "09:00", "to": "17:00"}]}))
    assert saved.closes_at(utc(2026, 3, 9, 14)) == utc(2026, 3, 9, 21, 0)  # 17:00 EDT


def test_open_and_close_on_the_wall_clock_across_the_spring_forward_weekend():
    # New York moves to daylight time on Sunday 8 March 2026: Friday's window ends at
    # 17:00 EST (22:00 UTC), Monday's begins at 09:00 EDT (13:00 UTC, not 14:00).
    assert WEEKDAYS_NY.is_open(utc(2026, 3, 6, 21, 59))
    assert WEEKDAYS_NY.closes_at(utc(2026, 3, 6, 21, 59)) == utc(2026, 3, 6, 22, 0)
    assert not WEEKDAYS_NY.is_open(utc(2026, 3, 6, 22, 0))
    assert WEEKDAYS_NY.opens_at(utc(2026, 3, 6, 22, 0)) == utc(2026, 3, 9, 13, 0)
    assert not WEEKDAYS_NY.is_open(utc(2026, 3, 9, 12, 59))
    assert WEEKDAYS_NY.is_open(utc(2026, 3, 9, 13, 0))
    assert WEEKDAYS_NY.closes_at(utc(2026, 3, 9, 13, 0)) == utc(2026, 3, 9, 21, 0)


def test_open_and_close_on_the_wall_clock_across_the_fall_back_weekend():
    # Back to standard time on Sunday 1 November 2026: Friday ends 17:00 EDT (21:00 UTC),
    # Monday begins 09:00 EST (14:00 UTC).
    assert WEEKDAYS_NY.closes_at(utc(2026, 10, 30, 15)) == utc(2026, 10, 30, 21, 0)
    assert WEEKDAYS_NY.opens_at(utc(2026, 10, 30, 21, 0)) == utc(2026, 11, 2, 14, 0)
    london = parse("Daily 09:00-17:00", "Europe/London")
    # London springs forward on Sunday 29 March 2026: 09:00 is 09:00 UTC, then 08:00 UTC.
    assert london.opens_at(utc(2026, 3, 27, 17)) == utc(2026, 3, 28, 9, 0)
    assert london.opens_at(utc(2026, 3, 28, 17)) == utc(2026, 3, 29, 8, 0)


def test_a_time_the_clocks_skip_is_the_moment_they_change():
    """New York skips 02:00-03:00 on Sunday 14 March 2027. Read as Python reads it (fold=0,
    the offset from before the change), "01:00-02:30" closed at 03:30 EDT and "02:00-02:59"
    dialled 03:00-03:59 EDT: hours nobody wrote, in a compliance feature. A skipped time is
    the moment of the change, 03:00 EDT (07:00 UTC)."""
    until_half_past_two = parse("Sun 01:00-02:30", "America/New_York")
    assert until_half_past_two.opens_at(utc(2027, 3, 14, 0)) == utc(2027, 3, 14, 6, 0)
    assert until_half_past_two.closes_at(utc(2027, 3, 14, 6, 59)) == utc(2027, 3, 14, 7, 0)
    assert not until_half_past_two.is_open(utc(2027, 3, 14, 7, 0))
    # Wholly in the skipped hour: no dialling that night; the next Sunday at 02:00 EDT.
    skipped = parse("Sun 02:00-02:59", "America/New_York")
    assert not any(skipped.is_open(utc(2027, 3, 14, 6, minute)) for minute in range(0, 60, 5))
    assert not any(skipped.is_open(utc(2027, 3, 14, 7, minute)) for minute in range(0, 60, 5))
    assert skipped.opens_at(utc(2027, 3, 14, 0)) == utc(2027, 3, 21, 6, 0)
    # Starting in it: from the change (03:00 EDT), not from 03:30.
    from_half_past_two = parse("Sun 02:30-04:00", "America/New_York")
    assert from_half_past_two.opens_at(utc(2027, 3, 14, 0)) == utc(2027, 3, 14, 7, 0)
    assert from_half_past_two.closes_at(utc(2027, 3, 14, 7, 0)) == utc(2027, 3, 14, 8, 0)


def test_a_window_dials_only_at_its_own_times_through_the_repeated_hour():
    """New York's clocks go from 02:00 EDT back to 01:00 EST on Sunday 1 November 2026, so
    01:00-02:00 happens twice (05:00-06:00 UTC, then 06:00-07:00 UTC). Started at the first
    01:30 (as fold=0 reads it), "01:30-03:00" dialled through the repeated 01:00-01:30,
    outside its hours: a window starts at a repeated time's second occurrence and ends at
    its first, and one wholly inside the hour dials its first occurrence."""
    from_half_past_one = parse("Sun 01:30-03:00", "America/New_York")
    assert from_half_past_one.opens_at(utc(2026, 11, 1, 0)) == utc(2026, 11, 1, 6, 30)
    assert not from_half_past_one.is_open(utc(2026, 11, 1, 6, 15))  # 01:15 EST
    assert from_half_past_one.closes_at(utc(2026, 11, 1, 6, 30)) == utc(2026, 11, 1, 8, 0)
    until_half_past_one = parse("Sun 00:00-01:30", "America/New_York")
    assert until_half_past_one.closes_at(utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 5, 30)
    assert not until_half_past_one.is_open(utc(2026, 11, 1, 5, 45))  # 01:45 EDT
    inside = parse("Sun 01:15-01:45", "America/New_York")
    assert inside.opens_at(utc(2026, 11, 1, 0)) == utc(2026, 11, 1, 5, 15)
    assert inside.closes_at(utc(2026, 11, 1, 5, 15)) == utc(2026, 11, 1, 5, 45)
    assert inside.opens_at(utc(2026, 11, 1, 5, 45)) == utc(2026, 11, 8, 6, 15)  # next week
    # Across the whole repeated hour: every minute of it is inside 00:00-03:00.
    across = parse("Sun 00:00-03:00", "America/New_York")
    assert across.closes_at(utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 8, 0)


def test_24_00_ends_a_window_at_midnight_so_days_run_into_each_other():
    evenings = parse("Mon-Tue 18:00-24:00\nTue 00:00-06:00", "UTC")
    assert str(evenings) == "Mon–Tue 18:00–24:00, Tue 00:00–06:00 (UTC)"
    assert parse(evenings.as_text(), "UTC") == evenings
    # Monday evening runs through midnight into Tuesday morning: one window.
    assert evenings.closes_at(utc(2026, 3, 9, 20)) == utc(2026, 3, 10, 6, 0)
    assert evenings.closes_at(utc(2026, 3, 10, 19)) == utc(2026, 3, 11, 0, 0)
    always = parse("Daily 00:00-24:00", "Europe/London")
    assert always.is_open(utc(2026, 3, 29, 0, 30))  # and across the spring-forward night
    with pytest.raises(ValueError, match="from 00:00 to 24:00"):
        parse("Mon 00:00-24:30", "UTC")


def test_touching_windows_are_one_and_a_week_without_windows_never_opens():
    split_day = parse("Mon 09:00-12:00\nMon 12:00-17:00", "UTC")
    assert split_day.closes_at(utc(2026, 3, 9, 10)) == utc(2026, 3, 9, 17, 0)
    assert split_day.opens_at(utc(2026, 3, 9, 17)) == utc(2026, 3, 16, 9, 0)


def test_days_are_described_as_runs():
    assert describe_days(frozenset(range(7))) == "Daily"
    assert describe_days(frozenset({0, 1, 2, 4})) == "Mon–Wed, Fri"
    assert describe_days(frozenset({5})) == "Sat"
    assert describe_days(frozenset({0, 1, 3, 5, 6})) == "Sat–Tue, Thu"


def test_windows_that_overlap_are_refused_naming_the_lines_days_and_times():
    """"Mon-Fri 09:00-17:00" and "Wed 12:00-20:00" were saved as typed (a probe)."""
    with pytest.raises(ValueError) as error:
        parse("Mon-Fri 09:00-17:00\nWed 12:00-20:00", "Europe/London")
    assert str(error.value) == ("Line 2 (“Wed 12:00-20:00”) overlaps line 1 on Wed from "
                                "12:00 to 17:00: make them one window, or change one.")
    # Windows that only meet, or share a time on no day, are two windows.
    hours = parse("Mon-Fri 09:00-12:00\nMon-Fri 12:00-17:00; Sat 09:00-12:00", "UTC")
    assert len(hours.windows) == 3
