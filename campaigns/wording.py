"""Words the pages and the activity log share."""


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
