"""Every simulator route, on success and on its documented errors, matches the OpenAPI."""

import threading

import httpx
import pytest

from simulator.server import ROUTES
from tests.simulator.contract import SPEC_PATH, Contract
from tests.simulator.helpers import PILOT, Seeded, all_logs

UNKNOWN = "a" * 24
CSV = b"firstName,lastName,phoneNumber\nAsha,Rao,+919800000001\n"


@pytest.fixture(scope="module")
def contract():
    if not SPEC_PATH.exists():
        pytest.skip(f"contract tests need the Atoms OpenAPI definition at {SPEC_PATH}")
    return Contract()


@pytest.fixture
def recorded(sim):
    """Clients (with and without the key) that keep every response for checking."""
    responses: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        responses.append(response)

    hooks = {"response": [keep]}
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    with (
        httpx.Client(base_url=sim.base_url, headers=headers, event_hooks=hooks) as api,
        httpx.Client(base_url=sim.base_url, event_hooks=hooks) as anonymous,
    ):
        yield api, anonymous, responses


def exercise_campaigns(sim, api, seeded: Seeded) -> None:
    api.get("/campaign", params={"status": "bogus"})
    api.post("/campaign", json={})
    body = seeded.campaign_body(audienceId=seeded.audiences[PILOT]["_id"])
    campaign_id = api.post("/campaign", json=body).json()["data"]["_id"]
    draft_id = api.post("/campaign", json=body).json()["data"]["_id"]
    api.get(f"/campaign/{draft_id}/export/by-audience-member")  # null originalCall
    api.get("/campaign/not-an-id")
    api.get(f"/campaign/{UNKNOWN}")
    api.post(f"/campaign/{campaign_id}/pause")
    api.post(f"/campaign/{campaign_id}/start")
    api.post(f"/campaign/{campaign_id}/start")
    api.post(f"/campaign/{UNKNOWN}/start")
    sim.advance(3)
    api.get(f"/campaign/{campaign_id}")
    live = api.get("/conversation", params={"campaignIds": campaign_id, "callAttemptFilter": "all"})
    exercise_live_events(sim, api, live.json()["data"]["logs"][0]["callId"])
    api.post(f"/campaign/{campaign_id}/pause")
    api.post(f"/campaign/{UNKNOWN}/pause")
    api.delete(f"/campaign/{campaign_id}")
    sim.advance(3)
    api.get(f"/campaign/{campaign_id}")
    api.delete(f"/campaign/{campaign_id}")
    api.delete(f"/campaign/{UNKNOWN}")

    done = seeded.campaigns["Mumbai leads - first touch"]["_id"]
    api.get(f"/campaign/{done}")
    api.get(f"/campaign/{done}/export/by-audience-member")
    api.get(f"/campaign/{done}/export/by-audience-member", params={"format": "csv"})
    api.get(f"/campaign/{UNKNOWN}/export/by-audience-member")
    api.get("/campaign/bad/export/by-audience-member")
    api.get(f"/campaign/{done}/logs/export")
    api.get(f"/campaign/{UNKNOWN}/logs/export")


def exercise_live_events(sim, api, call_id: str) -> None:
    """A stream ends with its call: move the clock until it has, while the client reads."""
    api.get("/events")
    api.get("/events", params={"callId": "CALL-1737000000000-abc123"})
    reading = threading.Event()

    def hang_up():
        reading.wait(5)
        for _ in range(200):
            if not reading.is_set():
                return
            sim.advance(5)
            threading.Event().wait(0.02)

    mover = threading.Thread(target=hang_up)
    mover.start()
    reading.set()
    api.get("/events", params={"callId": call_id}, timeout=30)
    reading.clear()
    mover.join()
    api.get("/events", params={"callId": call_id})  # ended: 400


def exercise_failed_campaign(sim, api, seeded: Seeded) -> None:
    phone = next(p for p in seeded.phones if p["isActive"])
    body = seeded.campaign_body(phoneNumberIds=[phone["_id"]])
    campaign_id = api.post("/campaign", json=body).json()["data"]["_id"]
    sim.set_number_active(phone["attributes"]["phoneNumber"], False)
    api.post(f"/campaign/{campaign_id}/start")
    sim.advance(3)
    assert api.get(f"/campaign/{campaign_id}").json()["data"]["campaign"]["status"] == "failed"
    api.get("/campaign", params={"status": "failed"})
    sim.set_number_active(phone["attributes"]["phoneNumber"], True)


def exercise_audiences(api, seeded: Seeded) -> None:
    form = {"name": "Contract", "phoneNumberColumnName": "phoneNumber"}
    fresh = api.post("/audience", data=form, files={"file": ("c.csv", CSV, "text/csv")})
    fresh_id = fresh.json()["data"]["_id"]
    api.post(
        "/audience", data={**form, "phoneNumberColumnName": "x"}, files={"file": ("c.csv", CSV)}
    )
    used = seeded.audiences[PILOT]["_id"]
    api.get(f"/audience/{fresh_id}")
    api.get("/audience/bad")
    api.get(f"/audience/{UNKNOWN}")
    api.get(f"/audience/{used}/members")
    api.get(f"/audience/{used}/members", params={"page": 0})
    api.get(f"/audience/{UNKNOWN}/members")
    api.get(f"/audience/{used}/members/search", params={"query": "a"})
    api.get(f"/audience/{used}/members/search", params={"firstName": "a"})
    api.get(f"/audience/{used}/members/search")
    api.get(f"/audience/{UNKNOWN}/members/search", params={"query": "a"})
    api.post(f"/audience/{fresh_id}/members", json={"members": [{"phoneNumber": "+15550001"}]})
    api.post(f"/audience/{fresh_id}/members", json={"members": [{"name": "no phone"}]})
    api.post(f"/audience/{UNKNOWN}/members", json={"members": [{"phoneNumber": "1"}]})
    member = api.get(f"/audience/{fresh_id}/members").json()["data"]["members"][0]["_id"]
    api.request("DELETE", f"/audience/{fresh_id}/members", json={"memberIds": [member]})
    api.request("DELETE", f"/audience/{fresh_id}/members", json={"memberIds": []})
    api.request("DELETE", f"/audience/{UNKNOWN}/members", json={"memberIds": [member]})
    api.delete(f"/audience/{used}")
    api.delete(f"/audience/{fresh_id}")
    api.delete(f"/audience/{UNKNOWN}")


def exercise_agents_and_calls(api, seeded: Seeded) -> None:
    api.get("/agent", params={"type": "bogus"})
    api.get(f"/agent/{next(iter(seeded.agents.values()))['_id']}")
    api.get(f"/agent/{UNKNOWN}")
    done = seeded.campaigns["Mumbai leads - first touch"]["_id"]
    logs = all_logs(api, done)
    api.get(f"/conversation/{next(log for log in logs if log['status'] == 'completed')['callId']}")
    api.get(f"/conversation/{next(log for log in logs if log['status'] != 'completed')['callId']}")
    api.get("/conversation", params={"page": 0})
    api.get("/conversation/CALL-1737000000000-abc123")
    api.get("/conversation/not-a-call")
    talked = next(log for log in logs if log["status"] == "completed")["callId"]
    silent = next(log for log in logs if log["status"] == "failed")["callId"]
    api.get(f"/conversation/{talked}/retries")
    api.get("/conversation/CALL-1737000000000-abc123/retries")
    api.get(f"/conversation/{talked}/recording/download-url")
    api.get(f"/conversation/{silent}/recording/download-url")
    api.get("/conversation/not-a-call/recording/download-url")
    api.get("/dnc", params={"offset": "1", "page": "2"})
    api.get("/dnc", params={"agentId": "bad"})
    api.get("/dnc", params={"agentId": UNKNOWN})


def test_every_route_answers_within_the_contract(sim, contract, recorded):
    api, anonymous, responses = recorded
    seeded = Seeded.fetch(api)
    exercise_campaigns(sim, api, seeded)
    exercise_failed_campaign(sim, api, seeded)
    exercise_audiences(api, seeded)
    exercise_agents_and_calls(api, seeded)
    for method, template, _pattern, _handler in ROUTES:
        anonymous.request(method, template.replace("{id}", UNKNOWN))

    seen = [contract.check(response) for response in responses]

    kinds: dict[tuple[str, str], set[int]] = {}
    for method, template, status in seen:
        kinds.setdefault((method, template), set()).add(status // 100)
    for method, template, _pattern, _handler in ROUTES:
        assert kinds.get((method, template), set()) >= {2, 4}, (
            method,
            template,
            kinds.get((method, template)),
        )


def test_contract_check_catches_a_wrong_shape(sim, contract):
    """Guard against a checker that passes everything."""
    request = httpx.Request("GET", sim.base_url + "/campaign")
    wrong = httpx.Response(200, json={"status": True, "data": {"campaigns": {}}}, request=request)
    with pytest.raises(AssertionError, match="campaigns"):
        contract.check(wrong)
    bad_time = {"status": True, "data": [{"createdAt": "2025-01-01 10:00"}]}
    phones = httpx.Request("GET", sim.base_url + "/product/phone-numbers")
    with pytest.raises(AssertionError, match="date-time"):
        contract.check(httpx.Response(200, json=bad_time, request=phones))
