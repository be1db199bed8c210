"""Words the pages and the activity log share."""


def some_of(items: list[str], shown: int = 5, separator: str = ", ") -> str:
    """ "a, b, c" or, for a long list, its first few "and N more". Items that hold commas
    are joined with "; " instead, and then "; and N more"."""
    listed = separator.join(items[:shown])
    more = len(items) - shown
    if more <= 0:
        return listed
    return f"{listed}{separator.rstrip(', ')} and {more:,} more"
