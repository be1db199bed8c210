"""Outcomes and the per-call extras: cancelled calls on pause, a failed campaign, the retry
family, expiring recording links and the live event stream of a call in progress."""

import json
import threading

import httpx

from tests.simulator.helpers import MUMBAI, all_logs, create, detail, run_until


def _start(sim, api, campaign_id):
    assert api.post(f"/campaign/{campaign_id}/start").status_code == 202
    sim.advance(3)  # processing -> running, the first calls are placed


def test_every_finished_call_has_a_cost_and_the_outcomes_include_voicemail_and_busy(
    sim, api, seeded
):
    done = seeded.campaigns["Mumbai leads - first touch"]["_id"]
    logs = all_logs(api, done)
    assert all(isinstance(log["callCost"], int | float) for log in logs)
    reasons = {log.get("callFailureReason") for log in logs}
    assert {"voicemail_detected", "busy", "no_answer"} <= reasons
    billed = [log for log in logs if log["status"] == "completed"]
    assert billed and all(log["callCost"] > 0 for log in billed)


def test_pause_cancels_the_calls_still_ringing(sim, api, seeded):
    campaign = create(api, seeded, audienceId=seeded.audiences[MUMBAI]["_id"])
    _start(sim, api, campaign["_id"])
    paused_at = sim.now()["now"]
    assert api.post(f"/campaign/{campaign['_id']}/pause").status_code == 200
    # Cancelled at the pause, and stamped then: not at the ends they were scheduled for,
    # times still to come that a copy reading "changed since" would skip past.
    assert {log["updatedAt"] for log in all_logs(api, campaign["_id"])} == {paused_at}
    sim.advance(3)
    data = detail(api, campaign["_id"])["campaign"]
    assert data["status"] == "paused"
    assert data["cancelledCallsCount"] == 3  # every line was still ringing
    logs = all_logs(api, campaign["_id"])
    assert sorted(log["status"] for log in logs) == ["cancelled"] * 3
    assert all(log["callCost"] == 0 for log in logs)
    cancelled = api.get(
        "/conversation", params={"campaignIds": campaign["_id"], "statusFilter": "cancelled"}
    )
    assert cancelled.json()["data"]["pagination"]["total"] == 3


def test_a_campaign_whose_numbers_all_lapse_fails_with_the_reason(sim, api, seeded):
    phone = next(p for p in seeded.phones if p["isActive"])
    campaign = create(api, seeded, phoneNumberIds=[phone["_id"]])
    sim.set_number_active(phone["attributes"]["phoneNumber"], False)
    assert api.post(f"/campaign/{campaign['_id']}/start").status_code == 202
    data = run_until(sim, api, campaign["_id"], "failed", step=3, limit=3)
    assert "inactive" in data["campaign"]["error"]
    assert data["campaign"]["failedAt"]
    assert data["events"][-1]["eventAction"] == "failed"
    assert api.post(f"/campaign/{campaign['_id']}/start").status_code == 400


def test_retries_return_the_whole_family_from_any_member(sim, api, seeded):
    done = seeded.campaigns["Mumbai leads - first touch"]["_id"]
    retry = next(log for log in all_logs(api, done, "retry") if log["retryAttemptNumber"] == 1)
    family = api.get(f"/conversation/{retry['callId']}/retries").json()["data"]["retries"]
    assert [call["retryAttemptNumber"] for call in family] == list(range(len(family)))
    assert retry["callId"] in [call["callId"] for call in family]
    assert family[0]["retryCallId"] == family[1]["callId"]
    assert {call["to"] for call in family} == {retry["to"]}
    assert api.get("/conversation/CALL-1737000000000-abc123/retries").status_code == 404


def test_recording_links_are_fresh_per_request_and_expire(sim, api, seeded):
    done = seeded.campaigns["Mumbai leads - first touch"]["_id"]
    logs = all_logs(api, done)
    talked = next(log for log in logs if log["status"] == "completed")
    silent = next(log for log in logs if log.get("callFailureReason") == "busy")
    first = api.get(f"/conversation/{talked['callId']}/recording/download-url")
    assert first.status_code == 200
    url = first.json()["data"]["presignedUrl"]
    audio = httpx.get(url)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert audio.headers["content-type"] == "audio/wav"
    assert httpx.get(url.replace("Signature=", "Signature=0")).status_code == 403
    sim.advance(301)
    assert httpx.get(url).status_code == 403  # expired
    again = api.get(f"/conversation/{talked['callId']}/recording/download-url")
    fresh = again.json()["data"]["presignedUrl"]
    assert fresh != url and httpx.get(fresh).status_code == 200
    none = api.get(f"/conversation/{silent['callId']}/recording/download-url")
    assert none.status_code == 404
    assert api.get(f"/conversation/{talked['_id']}/recording/download-url").status_code == 400


def _listen(sim, call_id: str, steps: list, received: list) -> None:
    """Collect one call's events, each with the number of clock steps taken so far."""
    headers = {"Authorization": f"Bearer {sim.api_key}", "Accept": "text/event-stream"}
    params = {"callId": call_id}
    with httpx.stream(
        "GET", sim.base_url + "/events", params=params, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append((len(steps), json.loads(line[6:])))


def test_live_events_stream_the_transcript_line_by_line_and_close_at_hang_up(sim, api, seeded):
    campaign = create(api, seeded, audienceId=seeded.audiences[MUMBAI]["_id"], maxRetries=0)
    _start(sim, api, campaign["_id"])
    live = all_logs(api, campaign["_id"])
    assert len(live) == 3 and all(log["status"] == "in_progress" for log in live)
    steps: list = []
    streams = {log["callId"]: [] for log in live}
    threads = [
        threading.Thread(target=_listen, args=(sim, call_id, steps, received))
        for call_id, received in streams.items()
    ]
    for thread in threads:
        thread.start()
    for _ in range(150):  # 5 minutes of simulated time, 2 s at a time
        if not any(thread.is_alive() for thread in threads):
            break
        sim.advance(2)
        steps.append(1)
        threading.Event().wait(0.06)  # one look of the stream per step
    for thread in threads:
        thread.join(5)
    talked = 0
    for call_id, received in streams.items():
        kinds = [event["event_type"] for _step, event in received]
        assert kinds[0] == "sse_init" and kinds[1] == "call_start", kinds
        assert kinds[-2:] == ["call_end", "sse_close"], kinds
        assert all(event["call_id"] == call_id for _step, event in received[1:-1])
        said = [
            (step, event.get("tts_text") or event["user_transcription_text"])
            for step, event in received
            if event["event_type"] in ("tts_completed", "user_transcription")
        ]
        transcript = api.get(f"/conversation/{call_id}").json()["data"]["transcript"]
        assert [text for _step, text in said] == [line["content"] for line in transcript]
        if said:
            talked += 1
            # Line by line: the lines arrived over several clock steps, not in one batch.
            assert len({step for step, _text in said}) >= 3
        assert api.get("/events", params={"callId": call_id}).status_code == 400  # ended
    assert talked, "seed 7 connects at least one of the first three calls"
    assert api.get("/events").status_code == 400
    assert api.get("/events", params={"callId": "CALL-1737000000000-abc123"}).status_code == 404
