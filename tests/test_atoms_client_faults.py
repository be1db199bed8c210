"""When Atoms misbehaves: reads are retried with backoff, changes are never repeated, rate
limits are waited out, refusals carry Atoms' words, and the API key never leaks.

Faults are injected by the simulator; attempts are counted from its /_sim/stats.
"""

import logging
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from campaigns.atoms import (
    AtomsClient,
    AtomsNotAuthorised,
    AtomsRateLimited,
    AtomsRejected,
    AtomsUnavailable,
    deadline,
)

# Short, so a held request times out quickly; the simulator holds it a little longer.
READ_TIMEOUT = 0.3
HOLD_SECONDS = 1
BACKOFF_BASE = 0.5


class Waits(list):
    """The injected `sleep`: records each wait instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits():
    return Waits()


@pytest.fixture
def atoms(sim, waits):
    with AtomsClient(sim.base_url, sim.api_key, read_timeout=READ_TIMEOUT,
                     backoff_base=BACKOFF_BASE, sleep=waits) as client:
        yield client


@pytest.fixture
def draft_id(atoms, parts):
    return atoms.create_campaign("Fault target", **parts).id


def outcomes(sim, route: str) -> Counter:
    """Requests seen for `route`, by HTTP status (or "timeout")."""
    return Counter(sim.stats()["by_route"].get(route, {}))


# --- reads: retried -------------------------------------------------------------------


def test_a_read_failing_with_5xx_is_tried_three_times_then_unavailable(atoms, sim, waits):
    sim.faults(fail_routes=["GET /audience"])

    with pytest.raises(AtomsUnavailable) as caught:
        atoms.list_audiences()

    assert outcomes(sim, "GET /audience") == {"500": 3}
    assert caught.value.status == 500
    assert caught.value.permanent is False
    assert caught.value.outcome_unknown is False
    # Full jitter: each wait is somewhere between nothing and the doubling bound.
    assert len(waits) == 2
    assert 0 <= waits[0] <= BACKOFF_BASE
    assert 0 <= waits[1] <= 2 * BACKOFF_BASE


def test_a_read_succeeds_when_atoms_recovers_before_the_retry(sim):
    sim.faults(fail_routes=["GET /campaign"])
    # Atoms comes back while the client waits between attempts.
    with AtomsClient(sim.base_url, sim.api_key,
                     sleep=lambda seconds: sim.clear_faults()) as atoms:
        page = atoms.list_campaigns()

    assert page.total == 4
    assert outcomes(sim, "GET /campaign") == {"200": 1, "500": 1}


def test_a_read_that_times_out_is_retried_then_unavailable(atoms, sim, waits, draft_id):
    sim.faults(timeout_rate=1, timeout_seconds=HOLD_SECONDS, fail_routes=["GET /campaign/{id}"])

    started = time.monotonic()
    with pytest.raises(AtomsUnavailable) as caught:
        atoms.get_campaign(draft_id)

    assert outcomes(sim, "GET /campaign/{id}") == {"timeout": 3}
    assert caught.value.status is None
    assert "timed out" in str(caught.value)
    assert len(waits) == 2
    # Bounded by our read timeout, not by how long Atoms holds the request.
    assert time.monotonic() - started < 3 * HOLD_SECONDS


def test_backoff_never_exceeds_its_cap(sim, waits):
    sim.faults(fail_routes=["GET /product/phone-numbers"])

    with AtomsClient(sim.base_url, sim.api_key, max_read_attempts=5, backoff_base=2,
                     backoff_cap=3, sleep=waits) as atoms, pytest.raises(AtomsUnavailable):
        atoms.list_phone_numbers()

    assert outcomes(sim, "GET /product/phone-numbers") == {"500": 5}
    assert len(waits) == 4
    assert all(0 <= wait <= 3 for wait in waits)


def test_retries_are_logged_as_warnings(atoms, sim, caplog):
    sim.faults(fail_routes=["GET /audience"])

    with caplog.at_level(logging.WARNING, logger="campaigns.atoms"), \
            pytest.raises(AtomsUnavailable):
        atoms.list_audiences()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "GET /audience" in warnings[0].getMessage()


def test_an_unreachable_atoms_is_unavailable_after_the_read_attempts(waits):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    # Nothing listens on the port now that the probe socket is closed.
    with AtomsClient(f"http://127.0.0.1:{closed_port}", "any-key", sleep=waits) as atoms, \
            pytest.raises(AtomsUnavailable) as caught:
        atoms.list_campaigns()

    assert len(waits) == 2
    assert caught.value.outcome_unknown is False


def test_threads_share_one_client_within_its_connection_limit(sim):
    latency = 0.2
    sim.faults(latency_ms=latency * 1000, fail_routes=["GET /product/phone-numbers"])

    with AtomsClient(sim.base_url, sim.api_key, max_connections=2) as atoms, \
            ThreadPoolExecutor(max_workers=4) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda _: atoms.list_phone_numbers(), range(4)))
        elapsed = time.monotonic() - started

    assert len({tuple(p.id for p in numbers) for numbers in results}) == 1
    assert outcomes(sim, "GET /product/phone-numbers") == {"200": 4}
    # Four slow requests over two connections take at least two rounds.
    assert elapsed >= 2 * latency * 0.95


# --- changes: never retried -----------------------------------------------------------

CHANGES = [
    ("POST /campaign", lambda atoms, parts, draft: atoms.create_campaign("Again", **parts)),
    ("POST /campaign/{id}/start", lambda atoms, parts, draft: atoms.start_campaign(draft)),
    ("POST /campaign/{id}/pause", lambda atoms, parts, draft: atoms.pause_campaign(draft)),
    ("DELETE /campaign/{id}", lambda atoms, parts, draft: atoms.delete_campaign(draft)),
    ("POST /audience", lambda atoms, parts, draft: atoms.create_audience(
        "Upload", "phoneNumber", b"phoneNumber\n+15550100\n")),
    ("DELETE /audience/{id}", lambda atoms, parts, draft: atoms.delete_audience(
        parts["audience_id"])),
]


@pytest.mark.parametrize(("route", "change"), CHANGES, ids=[route for route, _ in CHANGES])
def test_a_change_answered_5xx_is_sent_once_and_its_outcome_is_unknown(
        atoms, sim, waits, parts, draft_id, route, change):
    before = outcomes(sim, route)
    sim.faults(fail_routes=[route])

    with pytest.raises(AtomsUnavailable) as caught:
        change(atoms, parts, draft_id)

    assert outcomes(sim, route) - before == {"500": 1}
    assert waits == []
    assert caught.value.outcome_unknown is True
    assert "cannot tell" in caught.value.user_message
    # An error answer is said as one, not as silence.
    assert "error of its own (HTTP 500)" in caught.value.user_message
    assert "in time" not in caught.value.user_message


@pytest.mark.parametrize(("route", "change"), CHANGES[:2], ids=["create", "start"])
def test_a_change_that_times_out_is_sent_once_and_its_outcome_is_unknown(
        atoms, sim, waits, parts, draft_id, route, change):
    before = outcomes(sim, route)
    sim.faults(timeout_rate=1, timeout_seconds=HOLD_SECONDS, fail_routes=[route])

    with pytest.raises(AtomsUnavailable) as caught:
        change(atoms, parts, draft_id)

    assert outcomes(sim, route) - before == {"timeout": 1}
    assert waits == []
    assert caught.value.outcome_unknown is True
    assert "did not answer in time" in caught.value.user_message


def test_a_create_that_cannot_connect_is_known_not_to_have_happened(parts):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with AtomsClient(f"http://127.0.0.1:{closed_port}", "any-key") as atoms, \
            pytest.raises(AtomsUnavailable) as caught:
        atoms.create_campaign("Never sent", **parts)

    assert caught.value.outcome_unknown is False


# --- rate limits ----------------------------------------------------------------------


def test_a_rate_limited_read_waits_for_retry_after_then_succeeds(sim):
    waited = []

    def sleep_for_real(seconds):
        # The simulator's budget is per real second, so this wait must really pass.
        waited.append(seconds)
        time.sleep(seconds)

    with AtomsClient(sim.base_url, sim.api_key, sleep=sleep_for_real) as atoms:
        sim.faults(rate_limit=1)
        atoms.list_audiences()  # spends this second's budget
        audiences = atoms.list_audiences()

    assert waited == [1.0]
    assert "Pilot testers" in {a.name for a in audiences}
    assert outcomes(sim, "GET /audience") == {"200": 2, "429": 1}


def test_a_retry_after_longer_than_we_may_block_is_handed_to_the_caller(sim, waits):
    with AtomsClient(sim.base_url, sim.api_key, max_retry_after=0.5, sleep=waits) as atoms:
        sim.faults(rate_limit=1)
        atoms.list_audiences()
        with pytest.raises(AtomsRateLimited) as caught:
            atoms.list_audiences()

    assert waits == []
    assert caught.value.retry_after == 1.0
    assert caught.value.permanent is False
    assert "try again in 1 second." in caught.value.user_message


def test_a_rate_limited_create_is_not_repeated_and_known_not_to_have_happened(
        atoms, sim, waits, parts):
    sim.faults(rate_limit=1)
    atoms.list_audiences()

    with pytest.raises(AtomsRateLimited) as caught:
        atoms.create_campaign("Too fast", **parts)

    assert waits == []
    assert caught.value.outcome_unknown is False
    assert outcomes(sim, "POST /campaign") == {"429": 1}


# --- a deadline (a page's time for Atoms) -----------------------------------------------


def test_a_read_held_past_the_deadline_gives_up_at_the_deadline_not_its_timeout(sim):
    sim.faults(latency_ms=3000, fail_routes=["GET /audience"])
    with AtomsClient(sim.base_url, sim.api_key, read_timeout=15) as atoms:
        started = time.monotonic()
        with deadline(1), pytest.raises(AtomsUnavailable) as caught:
            atoms.list_audiences()
        took = time.monotonic() - started
    assert 0.9 < took < 2, took  # not the 3 s Atoms took, nor three 15 s attempts
    assert caught.value.timed_out
    assert caught.value.what_happened == "Atoms did not answer in time"


def test_a_read_with_a_person_waiting_is_not_asked_again_after_timing_out(sim, waits):
    """Under a deadline (a page) one read timeout is the wait: asked again, a page took
    two (30 s under an Atoms 20 s slow, a probe). Without one (the poller) it is retried;
    and a quick failure is retried under a deadline too."""
    sim.faults(timeout_rate=1, timeout_seconds=HOLD_SECONDS, fail_routes=["GET /audience"])
    with AtomsClient(sim.base_url, sim.api_key, read_timeout=READ_TIMEOUT,
                     sleep=waits) as atoms:
        with deadline(30), pytest.raises(AtomsUnavailable) as caught:
            atoms.list_audiences()
        assert caught.value.timed_out and waits == []
        assert outcomes(sim, "GET /audience") == {"timeout": 1}
        with pytest.raises(AtomsUnavailable):
            atoms.list_audiences()
        assert outcomes(sim, "GET /audience") == {"timeout": 4}
        sim.faults(error_rate=1, fail_routes=["GET /audience"])
        with deadline(30), pytest.raises(AtomsUnavailable):
            atoms.list_audiences()
    assert outcomes(sim, "GET /audience")["500"] == 3


def test_no_retry_is_waited_for_past_the_deadline(sim, waits):
    with AtomsClient(sim.base_url, sim.api_key, sleep=waits) as atoms:
        sim.faults(rate_limit=1)
        atoms.list_audiences()  # spends this second's budget
        with deadline(0.5), pytest.raises(AtomsRateLimited):
            atoms.list_audiences()  # Retry-After 1 s: past the deadline
    assert waits == []
    assert outcomes(sim, "GET /audience") == {"200": 1, "429": 1}


def test_a_change_is_not_sent_once_the_deadline_has_passed(atoms, sim, parts):
    with deadline(0.01):
        time.sleep(0.05)
        with pytest.raises(AtomsUnavailable) as caught:
            atoms.create_campaign("Too late", **parts)
    assert caught.value.outcome_unknown is False  # never sent: Atoms did nothing
    assert outcomes(sim, "POST /campaign") == {}


def test_a_nested_deadline_never_extends_the_outer_one(sim):
    sim.faults(latency_ms=3000, fail_routes=["GET /audience"])
    with AtomsClient(sim.base_url, sim.api_key, read_timeout=15) as atoms:
        started = time.monotonic()
        with deadline(1), deadline(60), pytest.raises(AtomsUnavailable):
            atoms.list_audiences()
    assert time.monotonic() - started < 2


def test_a_deadline_ends_with_its_block(atoms, sim):
    with deadline(0.01):
        time.sleep(0.05)
    # Past that block's deadline, but outside it: sent and answered.
    assert "Pilot testers" in {a.name for a in atoms.list_audiences()}


# --- refusals -------------------------------------------------------------------------


def test_a_400_carries_atoms_messages_and_is_not_retried(atoms, sim, parts):
    with pytest.raises(AtomsRejected) as caught:
        atoms.create_campaign("Bad", **parts, max_retries=11, retry_delay=0)

    error = caught.value
    assert error.status == 400
    assert error.messages == ("maxRetries must be an integer between 0 and 10",
                              "retryDelay must be an integer between 1 and 1440")
    assert error.permanent is True
    assert error.plan_limit is False
    # People read the form's labels, not Atoms' JSON keys.
    assert "“Max retries” must be an integer between 0 and 10" in error.user_message
    assert "maxRetries" not in error.user_message
    assert outcomes(sim, "POST /campaign") == {"400": 1}


def test_a_wrong_key_is_not_authorised_and_never_shown(sim, waits, caplog):
    wrong_key = "sk-live-wrong-1f2e3d4c5b6a"

    with caplog.at_level(logging.DEBUG), \
            AtomsClient(sim.base_url, wrong_key, sleep=waits) as atoms, \
            pytest.raises(AtomsNotAuthorised) as caught:
        atoms.list_campaigns()

    error = caught.value
    assert (error.status, error.permanent) == (401, True)
    assert waits == []
    assert outcomes(sim, "GET /campaign") == {"401": 1}
    assert "API key" in error.user_message
    shown = [str(error), repr(error), error.user_message, *map(str, error.args),
             *error.messages, repr(atoms), caplog.text]
    assert caplog.records, "expected the request to be logged at DEBUG"
    for text in shown:
        assert wrong_key not in text


def test_the_key_stays_out_of_logs_and_errors_when_reads_fail(sim, waits, caplog):
    sim.faults(timeout_rate=1, timeout_seconds=HOLD_SECONDS, fail_routes=["GET /audience"])

    with caplog.at_level(logging.DEBUG), \
            AtomsClient(sim.base_url, sim.api_key, read_timeout=READ_TIMEOUT,
                        sleep=waits) as atoms, \
            pytest.raises(AtomsUnavailable) as caught:
        atoms.list_audiences()

    assert len(caplog.records) >= 2
    for text in (caplog.text, str(caught.value), repr(caught.value),
                 repr(caught.value.__cause__)):
        assert f"Bearer {sim.api_key}" not in text
        assert sim.api_key not in text
