"""The demo's SQLite searches names as PostgreSQL does: any letter's case ignored."""

import pytest
from django.db.utils import ConnectionHandler

from campaigns.models import is_listed


@pytest.fixture
def sqlite(django_db_blocker):
    """A database of the demo's kind, in memory (not the suite's PostgreSQL)."""
    connection = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3",
                                                "NAME": ":memory:"}})["default"]
    with django_db_blocker.unblock():
        yield connection
        connection.close()


def matches(connection, value: str, pattern: str) -> bool:
    with connection.cursor() as cursor:  # the SQL Django writes for icontains
        cursor.execute("SELECT %s LIKE %s ESCAPE '\\'", [value, pattern])
        return bool(cursor.fetchone()[0])


def test_like_ignores_the_case_of_any_letter_as_the_live_note_does(sqlite):
    """A probe on the demo: "école" did not find "lists-ÉCOLE", though the live stream's
    note said a campaign it would show had been added."""
    assert matches(sqlite, "lists-ÉCOLE", "%école%")
    assert matches(sqlite, "lists-émile", "%ÉMILE%")
    assert is_listed("lists-ÉCOLE", "draft", q="école")
    assert not matches(sqlite, "lists-ecole", "%école%")  # accents still count


def test_like_keeps_its_wildcards_and_escapes(sqlite):
    assert matches(sqlite, "a\nb", "a_b") and matches(sqlite, "abc", "a%")
    assert not matches(sqlite, "abc", "a_")
    assert matches(sqlite, "50% off", "%0\\%%")  # an escaped % is a percent sign
    assert not matches(sqlite, "500 off", "%0\\%%")
    assert matches(sqlite, "snake_case", "%e\\_c%")
    assert not matches(sqlite, "snakeXcase", "%e\\_c%")
