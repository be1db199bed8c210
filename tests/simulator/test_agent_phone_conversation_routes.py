"""Agents, rented phone numbers and call logs."""

import pytest

from tests.simulator.helpers import CALL_ID, JS_TIME, PILOT, RENEWALS, all_logs, create, run_until

FIRST_TOUCH = "Mumbai leads - first touch"


def test_phone_numbers_are_a_bare_array_of_plivo_and_twilio_numbers(api):
    response = api.get("/product/phone-numbers")
    assert response.status_code == 200
    phones = response.json()["data"]
    assert len(phones) >= 3
    providers = {p["attributes"]["provider"] for p in phones}
    assert providers == {"plivo", "twilio"}
    prefixes = {p["attributes"]["phoneNumber"][:3] for p in phones}
    assert {"+91", "+14"} <= prefixes
    assert phones[0]["isActive"] is True
    assert {p["productType"] for p in phones} == {"telephony"}
    assert any(p["agentId"] is None for p in phones)
    assert all(JS_TIME.fullmatch(p["createdAt"]) for p in phones)


def test_agents_list_with_all_four_counters(api):
    data = api.get("/agent", params={"offset": 2}).json()["data"]
    assert len(data["agents"]) == 2
    assert (data["total"], data["totalCount"], data["totalPages"], data["hasMore"]) == (
        3,
        3,
        2,
        True,
    )
    assert {a["workflowType"] for a in data["agents"]} <= {"single_prompt", "workflow_graph"}
    assert "_resolvedConfig" not in data["agents"][0]


def test_agents_filter_by_search_type_and_archived(api):
    search = api.get("/agent", params={"search": "renewals"}).json()["data"]["agents"]
    assert [a["name"] for a in search] == [RENEWALS]
    graphs = api.get("/agent", params={"type": "workflow_graph"}).json()["data"]["agents"]
    assert [a["workflowType"] for a in graphs] == ["workflow_graph"]
    archived = api.get("/agent", params={"archived": "true"}).json()["data"]["agents"]
    assert [a["archived"] for a in archived] == [True]
    assert JS_TIME.fullmatch(archived[0]["archivedAt"])


def test_agents_sort_by_name(api):
    params = {"sortField": "name", "sortOrder": "asc"}
    names = [a["name"] for a in api.get("/agent", params=params).json()["data"]["agents"]]
    assert names == sorted(names)


def test_agents_count_calls_as_campaigns_dial(sim, api, seeded):
    before = seeded.agents[RENEWALS]["totalCalls"]
    campaign = create(api, seeded, audienceId=seeded.audiences[PILOT]["_id"])
    api.post(f"/campaign/{campaign['_id']}/start")
    sim.advance(5)
    agent = api.get(f"/agent/{seeded.agents[RENEWALS]['_id']}").json()["data"]
    assert agent["totalCalls"] == before + 2


def test_agent_detail_has_resolved_config(api, seeded):
    agent_id = seeded.agents[RENEWALS]["_id"]
    data = api.get(f"/agent/{agent_id}").json()["data"]
    assert data["_id"] == agent_id
    assert data["phoneNumber"] == [seeded.phones[0]["attributes"]["phoneNumber"]]
    assert data["_resolvedConfig"]["defaultLanguage"] == data["language"]["default"]
    assert "prompt" not in data


@pytest.mark.parametrize("agent_id", ["0" * 24, "not-an-id"])
def test_unknown_agent_is_a_400(api, agent_id):
    response = api.get(f"/agent/{agent_id}")
    assert response.status_code == 400
    assert response.json() == {"status": False, "errors": ["No agent found"]}


def test_conversation_lists_root_calls_by_default_with_limit_five(api, seeded):
    campaign = seeded.campaigns[FIRST_TOUCH]
    response = api.get("/conversation", params={"campaignIds": campaign["_id"]})
    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data["logs"]) == 5
    assert data["pagination"] == {
        "total": 50,
        "page": 1,
        "limit": 5,
        "hasMore": True,
        "totalPages": 10,
    }
    assert all(log["retryAttemptNumber"] == 0 for log in data["logs"])
    log = data["logs"][0]
    assert CALL_ID.fullmatch(log["callId"])
    assert log["type"] == "telephony_outbound"
    assert log["campaignId"] == campaign["_id"]
    assert log["agentId"] == campaign["agent"]["_id"]
    updated = [entry["updatedAt"] for entry in data["logs"]]
    assert updated == sorted(updated, reverse=True)


def test_conversation_attempt_filter_selects_retries(api, seeded):
    campaign = seeded.campaigns[FIRST_TOUCH]
    retries = all_logs(api, campaign["_id"], attempts="retry")
    assert len(retries) == campaign["retryAttempts"] > 0
    assert all(log["retryAttemptNumber"] >= 1 for log in retries)
    assert len(all_logs(api, campaign["_id"])) == 50 + campaign["retryAttempts"]


def test_conversation_limit_is_clamped_between_1_and_500(api):
    def limit(value):
        return api.get("/conversation", params={"limit": value}).json()["data"]["pagination"]

    assert limit(10_000)["limit"] == 500
    assert limit(0)["limit"] == 1
    assert limit(-3)["limit"] == 1
    assert api.get("/conversation", params={"limit": "many"}).status_code == 400


@pytest.mark.parametrize(
    ("params", "check"),
    [
        (
            {"statusFilter": "no_answer,failed"},
            lambda log: log["status"] in ("no_answer", "failed"),
        ),
        (
            {"disconnectReasonFilter": "timeout"},
            lambda log: log["disconnectionReason"] == "timeout",
        ),
        ({"durationFilter": "0-30"}, lambda log: log["duration"] < 30),
        ({"durationFilter": "1-5"}, lambda log: 60 <= log["duration"] < 300),
        ({"callTypes": "telephony_outbound"}, lambda log: log["type"] == "telephony_outbound"),
        ({"sortBy": "callDuration", "sortOrder": "asc"}, lambda log: True),
    ],
)
def test_conversation_filters(api, seeded, params, check):
    campaign_id = seeded.campaigns[FIRST_TOUCH]["_id"]
    query = {"campaignIds": campaign_id, "callAttemptFilter": "all", "limit": 500, **params}
    logs = api.get("/conversation", params=query).json()["data"]["logs"]
    assert logs
    assert all(check(log) for log in logs)
    if params.get("sortBy") == "callDuration":
        assert [log["duration"] for log in logs] == sorted(log["duration"] for log in logs)


def test_conversation_search_and_foreign_filters(api, seeded):
    campaign_id = seeded.campaigns[FIRST_TOUCH]["_id"]
    some = api.get("/conversation", params={"campaignIds": campaign_id}).json()["data"]["logs"][0]
    found = api.get("/conversation", params={"search": some["to"], "callAttemptFilter": "all"})
    assert {log["to"] for log in found.json()["data"]["logs"]} == {some["to"]}
    inbound = api.get("/conversation", params={"callTypes": "telephony_inbound"})
    assert inbound.json()["data"]["logs"] == []
    other_agent = api.get("/conversation", params={"agentIds": "0" * 24})
    assert other_agent.json()["data"]["pagination"]["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"statusFilter": "bogus"},
        {"callAttemptFilter": "first"},
        {"dateFrom": "yesterday"},
        {"page": "-1"},
    ],
)
def test_conversation_rejects_bad_filters(api, params):
    response = api.get("/conversation", params=params)
    assert response.status_code == 400
    assert response.json()["status"] is False


def test_conversation_date_range_is_inclusive(api, seeded):
    campaign_id = seeded.campaigns[FIRST_TOUCH]["_id"]
    first = all_logs(api, campaign_id)
    stamp = first[0]["createdAt"]
    params = {
        "campaignIds": campaign_id,
        "dateFrom": stamp,
        "dateTo": stamp,
        "callAttemptFilter": "all",
    }
    logs = api.get("/conversation", params={**params, "limit": 500}).json()["data"]["logs"]
    assert logs and {log["createdAt"] for log in logs} == {stamp}


def test_in_progress_calls_show_as_in_progress(sim, api, seeded):
    campaign = create(api, seeded, audienceId=seeded.audiences[PILOT]["_id"])
    api.post(f"/campaign/{campaign['_id']}/start")
    sim.advance(3)
    logs = all_logs(api, campaign["_id"])
    assert [log["status"] for log in logs] == ["in_progress", "in_progress"]
    assert all(log["duration"] == 0 and "disconnectionReason" not in log for log in logs)


def test_conversation_detail_of_a_connected_call(api, seeded):
    campaign_id = seeded.campaigns[FIRST_TOUCH]["_id"]
    logs = all_logs(api, campaign_id)
    connected = next(log for log in logs if log["status"] == "completed")
    response = api.get(f"/conversation/{connected['callId']}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["callId"] == connected["callId"]
    assert data["agent"]["_id"] == connected["agentId"]
    assert [turn["role"] for turn in data["transcript"]][:2] == ["agent", "user"]
    assert data["variables"]["phoneNumber"] == connected["to"]
    assert data["turnLatencyMetrics"]["turns"] == len(data["transcript"])
    assert data["duration"] == connected["duration"]


def test_conversation_detail_of_an_unanswered_call_has_no_transcript(api, seeded):
    campaign_id = seeded.campaigns[FIRST_TOUCH]["_id"]
    log = next(log for log in all_logs(api, campaign_id) if log["status"] != "completed")
    data = api.get(f"/conversation/{log['callId']}").json()["data"]
    assert data["transcript"] == []
    assert data["callFailureReason"] == log["callFailureReason"]


def test_conversation_detail_unknown_is_404_and_malformed_is_400(api):
    response = api.get("/conversation/CALL-1737000000000-abc123")
    assert response.status_code == 404
    assert response.json()["status"] is False
    assert api.get("/conversation/" + "a" * 24).status_code == 400


def test_retry_chain_links_attempts(sim, api, seeded):
    campaign = create(api, seeded, maxRetries=3, retryDelay=1)
    api.post(f"/campaign/{campaign['_id']}/start")
    run_until(sim, api, campaign["_id"], "completed", step=600, limit=200)
    logs = all_logs(api, campaign["_id"])
    by_call = {log["callId"]: log for log in logs}
    for log in logs:
        if "retryCallId" in log:
            follow = by_call[log["retryCallId"]]
            assert follow["to"] == log["to"]
            assert follow["retryAttemptNumber"] == log["retryAttemptNumber"] + 1


def test_calls_rotate_over_the_campaigns_numbers(api, seeded):
    campaign = seeded.campaigns[FIRST_TOUCH]  # seeded with the two Plivo numbers
    numbers = [p["attributes"]["phoneNumber"] for p in seeded.phones[:2]]
    assert campaign["phoneNumberIds"] == [p["_id"] for p in seeded.phones[:2]]
    used = [log["from"] for log in all_logs(api, campaign["_id"])]
    assert set(used) == set(numbers)
    assert abs(used.count(numbers[0]) - used.count(numbers[1])) <= 1
