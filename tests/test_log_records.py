"""A log record keeps the words it will print, not the exception: a kept record (pytest's
log capture holds the last test's) must not keep the failed request's frames alive, and
with them its database session (seen as a session still attached at the suite's end)."""

import gc
import logging
import weakref

from dashboard.logs import JsonFormatter


class Connection:
    """Stands for what a request's frames hold: here, only to see whether it is freed."""


def fail_while_holding(held: list) -> None:
    connection = Connection()
    held.append(weakref.ref(connection))
    raise TimeoutError("POST /campaign/abc/pause timed out")


def test_a_kept_record_of_an_exception_keeps_none_of_its_frames_alive(caplog):
    held: list = []
    log = logging.getLogger("campaigns.services")
    try:
        fail_while_holding(held)
    except TimeoutError as error:
        log.warning("pause of campaign %s: outcome unknown: %s", "abc", error, exc_info=True)
    gc.collect()
    assert held[0]() is None, "the record keeps the request's frames alive"
    (record,) = [r for r in caplog.records if r.name == "campaigns.services"]
    line = JsonFormatter().format(record)
    assert "outcome unknown: POST /campaign/abc/pause timed out" in line
    assert "in fail_while_holding" in line and "TimeoutError" in line  # the traceback's text
