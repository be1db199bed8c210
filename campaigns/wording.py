"""Words the pages and the activity log share."""

import math

from django.utils import timezone


def some_of(items: list[str], shown: int = 5, separator: str = ", ") -> str:
    """ "a, b, c" or, for a long list, its first few "and N more". Items that hold commas
    are joined with "; " instead, and then "; and N more"."""
    listed = separator.join(items[:shown])
    more = len(items) - shown
    if more <= 0:
        return listed
    return f"{listed}{separator.rstrip(', ')} and {more:,} more"


# Atoms' `triggerSource` of a campaign event: values it is known to send, in words; any
# other is shown as Atoms wrote it (the reference documents none, so more may come).
EVENT_SOURCES = {"user": "A person", "scheduler": "Its schedule", "system": "Atoms"}


def event_source(value: str) -> str:
    return EVENT_SOURCES.get(value.strip().lower(), value) if value else ""


def seconds_until(moment) -> str:
    """"12 seconds" (at least "1 second") from now until `moment`: how long to wait."""
    seconds = max(1, math.ceil((moment - timezone.now()).total_seconds()))
    return f"{seconds} second{'' if seconds == 1 else 's'}"
