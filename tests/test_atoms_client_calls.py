"""A campaign's calls through the client, on the simulator over HTTP: filtered call logs,
the retry family, recording links, exports streamed, and a live call's events."""

import threading
import time

import httpx
import pytest

from campaigns.atoms import AtomsClient, AtomsNotFound, AtomsRejected, AtomsUnavailable
from campaigns.atoms.calls import parse_sse


@pytest.fixture
def atoms(sim):
    with AtomsClient(sim.base_url, sim.api_key, sleep=lambda seconds: None) as client:
        yield client


def finished(atoms):
    return next(c for c in atoms.iter_campaigns() if c.name == "Mumbai leads - first touch")


def test_call_log_filters_reach_atoms_and_narrow_the_page(atoms):
    campaign = finished(atoms)
    no_answers = atoms.list_call_logs(campaign.id, limit=500, statuses=["no_answer"])
    short_retries = atoms.list_call_logs(
        campaign.id, limit=500, attempts="retry", durations=["0-30"], reasons=["timeout"]
    )
    assert no_answers.total and {log.status for log in no_answers.items} == {"no_answer"}
    assert short_retries.items
    for log in short_retries.items:
        assert log.is_retry and log.duration_seconds < 30
        assert log.disconnection_reason == "timeout"
    with pytest.raises(AtomsRejected):
        atoms.list_call_logs(campaign.id, statuses=["bogus"])


def test_connected_calls_carry_dispositions_and_the_detail_its_variables(atoms):
    logs = atoms.list_call_logs(finished(atoms).id, limit=500).items
    talked = next(log for log in logs if log.status == "completed")
    assert talked.dispositions["interested"] in ("yes", "no") and talked.summary
    assert talked.cost > 0 and not talked.is_live
    detail = atoms.get_call(talked.call_id)
    assert detail.variables["phoneNumber"] == talked.to_number
    assert detail.call.dispositions == talked.dispositions


def test_the_retry_family_comes_first_attempt_first(atoms):
    retried = next(
        log for log in atoms.list_call_logs(finished(atoms).id, limit=500, attempts="retry").items
    )
    family = atoms.list_retries(retried.call_id)
    assert [log.attempt_number for log in family] == list(range(len(family)))
    assert retried.call_id in {log.call_id for log in family}
    assert family[0].retry_call_id == family[1].call_id
    with pytest.raises(AtomsNotFound):
        atoms.list_retries("CALL-1737000000000-abc123")


def test_a_recording_link_is_asked_for_each_time_and_expires(atoms, sim):
    logs = atoms.list_call_logs(finished(atoms).id, limit=500).items
    talked = next(log for log in logs if log.status == "completed")
    first = atoms.recording_url(talked.call_id)
    assert httpx.get(first).status_code == 200
    sim.advance(301)
    assert httpx.get(first).status_code == 403
    assert httpx.get(atoms.recording_url(talked.call_id)).status_code == 200
    assert sim.calls_to("GET /conversation/{callId}/recording/download-url") == 2
    busy = next(log for log in logs if log.failure_reason == "busy")
    with pytest.raises(AtomsNotFound):
        atoms.recording_url(busy.call_id)


def test_exports_stream_as_csv_chunks(atoms):
    campaign = finished(atoms)
    with atoms.export_by_member_csv(campaign.id) as chunks:
        members = b"".join(chunks).decode()
    with atoms.export_logs_csv(campaign.id) as chunks:
        logs = b"".join(chunks).decode()
    assert members.startswith("audienceMemberId,phoneNumber,totalAttempts")
    assert len(members.strip().splitlines()) == 51  # header + 50 contacts
    assert logs.startswith("timestamp,callId,phoneNumber")
    attempts = atoms.list_call_logs(campaign.id, limit=1, attempts="all").total
    assert len(logs.strip().splitlines()) == 1 + attempts
    with pytest.raises(AtomsNotFound), atoms.export_logs_csv("a" * 24) as chunks:
        b"".join(chunks)


def test_exports_under_faults_raise_a_clear_error(atoms, sim):
    sim.faults(fail_routes=["GET /campaign/{id}/logs/export"])
    with pytest.raises(AtomsUnavailable), atoms.export_logs_csv(finished(atoms).id) as chunks:
        b"".join(chunks)


def test_live_events_arrive_until_the_call_ends(atoms, sim, parts):
    created = atoms.create_campaign("Live", **parts, max_retries=0)
    atoms.start_campaign(created.id)
    sim.advance(3)
    live = atoms.list_call_logs(created.id).items
    assert live and all(log.is_live for log in live)
    stop = threading.Event()

    def move_clock():
        while not stop.wait(0.05):
            sim.advance(5)

    mover = threading.Thread(target=move_clock)
    mover.start()
    try:
        with atoms.call_events(live[0].call_id, idle_timeout=10) as events:
            received = list(events)
    finally:
        stop.set()
        mover.join()
    kinds = [event.kind for event in received]
    assert kinds[0] == "sse_init" and kinds[-1] == "sse_close" and "call_end" in kinds
    assert received[-2].ends_call
    said = [(event.role, event.text) for event in received if event.role]
    transcript = atoms.get_call(live[0].call_id).transcript
    assert said == [(turn.role, turn.content) for turn in transcript]
    with pytest.raises(AtomsRejected), atoms.call_events(live[0].call_id) as events:
        list(events)  # the call has ended: Atoms refuses with a 400


def test_server_sent_events_are_read_across_lines_and_comments():
    lines = [
        ": keep-alive", "", 'data: {"event_type": "tts_completed",', 'data: "tts_text": "Hi"}',
        "", "data: not json", "", 'data: {"event_type": "user_transcription", '
        '"user_transcription_text": "Yes", "call_id": "CALL-1"}', "",
    ]
    events = list(parse_sse(lines))
    assert [(e.kind, e.role, e.text) for e in events] == [
        ("tts_completed", "agent", "Hi"), ("user_transcription", "user", "Yes")]


# --- under faults -------------------------------------------------------------------------


@pytest.fixture
def patient(sim):
    """A client that retries reads and records its waits instead of sleeping."""
    waits: list[float] = []
    with AtomsClient(sim.base_url, sim.api_key, read_timeout=0.3,
                     sleep=waits.append) as client:
        yield client, waits


def a_connected_call(atoms):
    return next(log for log in atoms.list_call_logs(finished(atoms).id, limit=500).items
                if log.status == "completed")


@pytest.mark.parametrize(("route", "read"), [
    ("GET /conversation/{callId}/retries", lambda atoms, call: atoms.list_retries(call)),
    ("GET /conversation/{callId}/recording/download-url",
     lambda atoms, call: atoms.recording_url(call)),
    ("GET /conversation", lambda atoms, call: atoms.list_call_logs(finished(atoms).id)),
])
def test_call_reads_retry_errors_and_timeouts_then_give_up(patient, sim, route, read):
    atoms, waits = patient
    call = a_connected_call(atoms).call_id
    campaign_id = finished(atoms).id  # looked up before the faults
    if route == "GET /conversation":
        read = lambda atoms, call: atoms.list_call_logs(campaign_id)  # noqa: E731
    sim.faults(error_rate=1, fail_routes=[route])
    with pytest.raises(AtomsUnavailable):
        read(atoms, call)
    assert sim.stats()["by_route"][route].get("500") == 3
    sim.faults(timeout_rate=1, timeout_seconds=1, fail_routes=[route])
    with pytest.raises(AtomsUnavailable, match="timed out"):
        read(atoms, call)
    sim.faults(drop_response_rate=1, timeout_seconds=1, fail_routes=[route])
    with pytest.raises(AtomsUnavailable):
        read(atoms, call)  # the answer was lost: a read is simply asked again, then given up
    # Three attempts per fault, two waits between them (counted before the clean read,
    # which may itself be retried once on a loaded machine: its timeout is 0.3 s).
    assert len(waits) == 6
    sim.clear_faults()
    assert read(atoms, call)


def test_call_reads_wait_out_a_rate_limit(sim):
    waits: list[float] = []

    def sleep(seconds):  # really waits: the limit must pass
        waits.append(seconds)
        time.sleep(seconds)

    with AtomsClient(sim.base_url, sim.api_key, sleep=sleep) as atoms:
        call = a_connected_call(atoms).call_id
        sim.faults(rate_limit=1)
        results = [atoms.list_retries(call) for _ in range(3)]
    assert all(results)
    assert waits and all(wait >= 1 for wait in waits)  # Retry-After honoured


def test_a_live_stream_that_cannot_open_is_unavailable(atoms, sim, parts):
    created = atoms.create_campaign("Live fault", **parts)
    atoms.start_campaign(created.id)
    sim.advance(3)
    live = atoms.list_call_logs(created.id).items[0]
    sim.faults(error_rate=1, fail_routes=["GET /events"])
    with pytest.raises(AtomsUnavailable), atoms.call_events(live.call_id) as events:
        list(events)
    sim.faults(timeout_rate=1, timeout_seconds=1, fail_routes=["GET /events"])
    with AtomsClient(sim.base_url, sim.api_key, read_timeout=0.3) as quick, \
            pytest.raises(AtomsUnavailable), quick.call_events(live.call_id,
                                                               idle_timeout=0.3) as events:
        list(events)
