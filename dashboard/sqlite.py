"""SQLite, the demo's embedded database, matching text as PostgreSQL does.

SQLite's LIKE ignores case for ASCII letters only: searching the campaign list for
"école" did not find "ÉCOLE" on the demo (a probe), while the live stream's note of
campaigns added, matching in Python, said one had been added that the list then did not
show. Django's `icontains` is LIKE on SQLite and UPPER(...) LIKE UPPER(...) on
PostgreSQL, which folds every letter; this LIKE folds every letter too.
"""

import re
from functools import lru_cache


def fold_case_in_like(sender, connection, **kwargs) -> None:
    """connection_created handler: SQLite's LIKE replaced by one that ignores the case of
    any letter (SQLite lets an application's function override a built-in one)."""
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function("like", 2, _like, deterministic=True)
    connection.connection.create_function("like", 3, _like, deterministic=True)


def _like(pattern, value, escape=None):
    """SQLite's like(X, Y[, Z]), which is `Y LIKE X [ESCAPE Z]`."""
    if pattern is None or value is None:
        return None
    return _compiled(pattern, escape).fullmatch(str(value)) is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str, escape: str | None) -> re.Pattern:
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif escape and char == escape:
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | re.IGNORECASE)
