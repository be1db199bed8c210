"""`/campaign` routes: shapes, validation, lifecycle answers and the two exports."""

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.simulator.helpers import (
    JS_TIME,
    MUMBAI,
    OBJECT_ID,
    PILOT,
    RENEWALS,
    all_logs,
    create,
    detail,
    run_until,
    status,
)


def test_list_nests_agent_and_audience_and_pages_with_offset(api, seeded):
    response = api.get("/campaign", params={"page": 1, "offset": 2})
    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data["campaigns"]) == 2
    assert data["pagination"] == {
        "total": 4,
        "page": 1,
        "offset": 2,
        "hasMore": True,
        "totalPages": 2,
    }
    assert data["totalCampaignCount"] == 4
    item = data["campaigns"][0]
    assert set(item["agent"]) == {"_id", "name", "workflowType"}
    assert set(item["audience"]) == {"_id", "name"}
    assert "agentId" not in item and "audienceId" not in item
    assert JS_TIME.fullmatch(item["createdAt"])


def test_list_defaults_to_five_newest_first(api, seeded):
    create(api, seeded, name="Newest")
    data = api.get("/campaign").json()["data"]
    assert data["pagination"]["offset"] == 5
    assert data["campaigns"][0]["name"] == "Newest"
    stamps = [c["createdAt"] for c in data["campaigns"]]
    assert stamps == sorted(stamps, reverse=True)


def test_campaigns_created_in_the_same_instant_keep_creation_order(api, seeded):
    create(api, seeded, name="First")
    create(api, seeded, name="Second")
    newest = api.get("/campaign").json()["data"]["campaigns"]
    assert [c["name"] for c in newest[:2]] == ["Second", "First"]
    oldest = api.get("/campaign", params={"sortOrder": "asc", "offset": 10}).json()["data"]
    assert [c["name"] for c in oldest["campaigns"][-2:]] == ["First", "Second"]


def test_list_filters_by_status_and_search_but_total_count_ignores_filters(api):
    data = api.get("/campaign", params={"status": "paused"}).json()["data"]
    assert [c["status"] for c in data["campaigns"]] == ["paused"]
    assert data["pagination"]["total"] == 1
    assert data["totalCampaignCount"] == 4
    found = api.get("/campaign", params={"search": "MUMBAI"}).json()["data"]["campaigns"]
    assert {c["name"] for c in found} == {"Mumbai leads - first touch", "Mumbai leads - follow-up"}


def test_list_sorts_ascending_on_request(api):
    campaigns = api.get("/campaign", params={"sortOrder": "asc", "offset": 10}).json()["data"]
    stamps = [c["createdAt"] for c in campaigns["campaigns"]]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"sortField": "name"},
        {"sortOrder": "up"},
        {"page": "0"},
        {"offset": "x"},
    ],
)
def test_list_rejects_bad_parameters(api, params):
    response = api.get("/campaign", params=params)
    assert response.status_code == 400
    assert response.json()["status"] is False


def test_create_returns_201_with_flat_ids_and_defaults(api, seeded):
    body = seeded.campaign_body(name="Spring renewals", maxRetries=None, retryDelay=None)
    response = api.post("/campaign", json=body)
    assert response.status_code == 201
    data = response.json()["data"]
    assert OBJECT_ID.fullmatch(data["_id"])
    assert data["agentId"] == body["agentId"] and data["audienceId"] == body["audienceId"]
    assert "agent" not in data and "audience" not in data
    assert (data["maxRetries"], data["retryDelay"]) == (3, 15)
    assert data["status"] == "draft"
    assert data["participantsCount"] == 50
    assert data["retryAttempts"] == 0
    assert data["phoneNumberIds"] == body["phoneNumberIds"]
    assert data["description"] == ""
    assert "scheduledAt" not in data


def test_create_without_phone_numbers_dials_from_the_agents_own_number(sim, api, seeded):
    campaign = create(api, seeded, phoneNumberIds=None, audienceId=seeded.audiences[PILOT]["_id"])
    assert "phoneNumberIds" not in campaign
    api.post(f"/campaign/{campaign['_id']}/start")
    sim.advance(3)
    own = seeded.phones[0]
    assert own["agentId"] == seeded.agents[RENEWALS]["_id"]
    logs = all_logs(api, campaign["_id"])
    assert logs and all(log["from"] == own["attributes"]["phoneNumber"] for log in logs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": None}, "name is required"),
        ({"name": "   "}, "name is required"),
        ({"agentId": None}, "agentId is required"),
        ({"audienceId": None}, "audienceId is required"),
        ({"agentId": "not-an-id"}, "agentId must be a valid id"),
        ({"agentId": "0" * 24}, "Agent not found: " + "0" * 24),
        ({"audienceId": "f" * 24}, "Audience not found: " + "f" * 24),
        ({"phoneNumberIds": ["a" * 24]}, "Phone number not found: " + "a" * 24),
        ({"phoneNumberIds": "abc"}, "phoneNumberIds must be an array of phone number ids"),
        ({"maxRetries": 11}, "maxRetries must be an integer between 0 and 10"),
        ({"maxRetries": -1}, "maxRetries must be an integer between 0 and 10"),
        ({"maxRetries": 2.5}, "maxRetries must be an integer between 0 and 10"),
        ({"maxRetries": True}, "maxRetries must be an integer between 0 and 10"),
        ({"retryDelay": 0}, "retryDelay must be an integer between 1 and 1440"),
        ({"retryDelay": 1441}, "retryDelay must be an integer between 1 and 1440"),
        ({"scheduledAt": "2000-01-01T00:00:00Z"}, "scheduledAt must be in the future"),
        ({"scheduledAt": "tomorrow"}, "scheduledAt must be an ISO-8601 date-time"),
    ],
)
def test_create_rejects_invalid_input_with_400(api, seeded, overrides, message):
    response = api.post("/campaign", json=seeded.campaign_body(**overrides))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": False, "errors": [message]}


def test_create_accepts_range_edges(api, seeded):
    low = create(api, seeded, maxRetries=0, retryDelay=1)
    high = create(api, seeded, maxRetries=10, retryDelay=1440)
    assert (low["maxRetries"], low["retryDelay"]) == (0, 1)
    assert (high["maxRetries"], high["retryDelay"]) == (10, 1440)


def test_create_rejects_inactive_numbers_and_archived_agents(api, seeded):
    inactive = [p["_id"] for p in seeded.phones if not p["isActive"]]
    archived = next(a for a in seeded.agents.values() if a["archived"])
    response = api.post(
        "/campaign", json=seeded.campaign_body(phoneNumberIds=inactive, agentId=archived["_id"])
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "Agent is archived" in errors
    assert any("is not active" in error for error in errors)


def test_create_rejects_a_body_that_is_not_an_object(api):
    response = api.post("/campaign", json=["name"])
    assert response.status_code == 400
    assert response.json()["errors"] == ["Request body must be a JSON object"]


def test_get_has_campaign_events_metrics_and_executions(api, seeded):
    campaign = create(api, seeded)
    data = detail(api, campaign["_id"])
    assert set(data) == {"campaign", "events", "metrics"}
    assert data["campaign"]["agent"]["name"] == RENEWALS
    assert data["campaign"]["audience"]["name"] == MUMBAI
    assert data["campaign"]["executions"] == []
    assert data["metrics"] == {
        "total_participants": 50,
        "contacts_called": 0,
        "contacts_connected": 0,
    }
    assert [(e["eventAction"], e["triggerSource"]) for e in data["events"]] == [("created", "user")]


def test_get_malformed_id_is_400_and_unknown_id_is_404(api):
    assert api.get("/campaign/xyz").status_code == 400
    assert api.get("/campaign/" + "A" * 24).status_code == 400
    response = api.get("/campaign/" + "a" * 24)
    assert response.status_code == 404
    assert response.json() == {"status": False, "errors": ["Campaign not found"]}


def test_start_answers_202_and_runs_after_processing(sim, api, seeded):
    campaign = create(api, seeded)
    response = api.post(f"/campaign/{campaign['_id']}/start")
    assert response.status_code == 202
    data = response.json()["data"]
    assert data["message"] == "Campaign is being processed"
    assert data["campaignId"] == campaign["_id"]
    assert len(data["taskId"]) == 36 and data["taskId"][14] == "4"
    assert status(api, campaign["_id"]) == "processing"
    sim.advance(3)
    assert status(api, campaign["_id"]) == "running"


@pytest.mark.parametrize("content", [None, b"", b"{}"])
def test_start_accepts_an_empty_or_absent_body_with_json_content_type(api, seeded, content):
    campaign = create(api, seeded)
    headers = {"Content-Type": "application/json"}
    response = api.post(f"/campaign/{campaign['_id']}/start", content=content, headers=headers)
    assert response.status_code == 202


def test_start_is_refused_while_processing_running_or_completed(sim, api, seeded):
    campaign = create(api, seeded, audienceId=seeded.audiences[PILOT]["_id"])
    path = f"/campaign/{campaign['_id']}/start"
    assert api.post(path).status_code == 202
    assert api.post(path).json()["errors"] == ["Campaign is already being processed"]
    sim.advance(3)
    assert api.post(path).json()["errors"] == ["Campaign is already running"]
    run_until(sim, api, campaign["_id"], "completed", step=600, limit=100)
    response = api.post(path)
    assert response.status_code == 400
    assert "completed" in response.json()["errors"][0]


def test_start_unknown_campaign_is_404(api):
    response = api.post("/campaign/" + "b" * 24 + "/start")
    assert response.status_code == 404
    assert response.json()["errors"] == ["Campaign not found"]


def test_pause_lands_after_a_delay_and_start_resumes(sim, api, seeded):
    campaign = create(api, seeded)
    cid = campaign["_id"]
    api.post(f"/campaign/{cid}/start")
    sim.advance(60)
    response = api.post(f"/campaign/{cid}/pause")
    assert response.status_code == 200
    assert response.json() == {"status": True}
    assert status(api, cid) == "running"  # the pause is only queued
    assert api.post(f"/campaign/{cid}/pause").json()["errors"] == [
        "Campaign is already being paused"
    ]
    sim.advance(3)
    data = detail(api, cid)
    assert data["campaign"]["status"] == "paused"
    assert JS_TIME.fullmatch(data["campaign"]["pausedAt"])
    assert data["campaign"]["executions"][0]["status"] == "paused"
    assert api.post(f"/campaign/{cid}/pause").json()["errors"] == ["Campaign is already paused"]
    assert api.post(f"/campaign/{cid}/start").status_code == 202
    sim.advance(3)
    data = detail(api, cid)
    assert data["campaign"]["status"] == "running"
    executions = data["campaign"]["executions"]
    assert [e["executionNumber"] for e in executions] == [1, 2]
    assert executions[1]["trigger"] == "resume"
    actions = [e["eventAction"] for e in data["events"]]
    assert actions == ["created", "started", "paused", "resumed"]


def test_pause_of_a_draft_or_unknown_campaign_is_refused(api, seeded):
    campaign = create(api, seeded)
    response = api.post(f"/campaign/{campaign['_id']}/pause")
    assert response.status_code == 400
    assert "running" in response.json()["errors"][0]
    assert api.post("/campaign/" + "c" * 24 + "/pause").status_code == 404


def test_pause_while_processing_ends_paused_without_dialing(sim, api, seeded):
    campaign = create(api, seeded)
    cid = campaign["_id"]
    api.post(f"/campaign/{cid}/start")
    assert api.post(f"/campaign/{cid}/pause").status_code == 200
    sim.advance(600)
    data = detail(api, cid)
    assert data["campaign"]["status"] == "paused"
    assert data["metrics"]["contacts_called"] == 0
    assert data["campaign"]["executions"] == []


def test_delete_refuses_running_campaigns_then_removes_paused_ones(sim, api, seeded):
    campaign = create(api, seeded)
    cid = campaign["_id"]
    api.post(f"/campaign/{cid}/start")
    response = api.delete(f"/campaign/{cid}")
    assert response.status_code == 400
    assert "pause it" in response.json()["errors"][0]
    api.post(f"/campaign/{cid}/pause")
    sim.advance(5)
    response = api.delete(f"/campaign/{cid}")
    assert response.status_code == 200
    assert response.json() == {"status": True}
    assert api.get(f"/campaign/{cid}").status_code == 404
    assert api.delete(f"/campaign/{cid}").status_code == 404
    assert api.get("/conversation", params={"campaignIds": cid}).json()["data"]["logs"] == []


def test_scheduled_campaign_starts_itself_at_its_time(sim, api, seeded):
    at = sim.now()["nowMs"] + 3600_000
    stamp = datetime.fromtimestamp(at / 1000, UTC).isoformat().replace("+00:00", "Z")
    campaign = create(api, seeded, scheduledAt=stamp)
    assert campaign["status"] == "scheduled"
    assert JS_TIME.fullmatch(campaign["scheduledAt"])
    sim.advance(3599)
    assert status(api, campaign["_id"]) == "scheduled"
    sim.advance(1)
    assert status(api, campaign["_id"]) == "processing"
    sim.advance(3)
    data = detail(api, campaign["_id"])
    assert data["campaign"]["status"] == "running"
    assert data["events"][-1]["triggerSource"] == "scheduler"
    assert data["campaign"]["executions"][0]["trigger"] == "scheduled_start"


def test_scheduled_campaign_can_be_started_early(sim, api, seeded):
    campaign = create(api, seeded, scheduledAt="2999-01-01T00:00:00.000Z")
    assert api.post(f"/campaign/{campaign['_id']}/start").status_code == 202
    sim.advance(3)
    assert status(api, campaign["_id"]) == "running"


def test_export_by_member_json_has_no_envelope_and_one_row_per_member(sim, api, seeded):
    campaign = create(api, seeded, audienceId=seeded.audiences[PILOT]["_id"])
    api.post(f"/campaign/{campaign['_id']}/start")
    run_until(sim, api, campaign["_id"], "completed", step=900, limit=100)
    response = api.get(f"/campaign/{campaign['_id']}/export/by-audience-member")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"campaign", "exportedAt", "totalAudienceMembers", "data"}
    assert body["campaign"] == "Test campaign"
    assert body["totalAudienceMembers"] == 2
    for row in body["data"]:
        assert row["totalAttempts"] == 1 + len(row["retryAttempts"])
        assert row["finalStatus"] == (row["retryAttempts"] or [row["originalCall"]])[-1]["status"]
        assert row["phoneNumber"] == row["audienceMemberData"]["phoneNumber"]


def test_export_by_member_of_an_uncalled_campaign_has_null_original_calls(api, seeded):
    campaign = create(api, seeded, audienceId=seeded.audiences[PILOT]["_id"])
    rows = api.get(f"/campaign/{campaign['_id']}/export/by-audience-member").json()["data"]
    assert [(r["originalCall"], r["finalStatus"], r["totalAttempts"]) for r in rows] == [
        (None, "pending", 0),
        (None, "pending", 0),
    ]


def test_export_by_member_csv(sim, api, seeded):
    campaign = seeded.campaigns["Mumbai leads - first touch"]
    response = api.get(
        f"/campaign/{campaign['_id']}/export/by-audience-member", params={"format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 50
    assert list(rows[0])[:6] == [
        "audienceMemberId",
        "phoneNumber",
        "totalAttempts",
        "finalStatus",
        "totalCallDuration",
        "totalCallCost",
    ]
    assert {"firstName", "lastName", "city"} <= set(rows[0])


def test_export_by_member_unknown_campaign_is_404(api):
    response = api.get("/campaign/" + "d" * 24 + "/export/by-audience-member")
    assert response.status_code == 404
    assert response.json() == {"status": False, "errors": ["Campaign not found"]}


def test_logs_export_is_csv_with_one_row_per_attempt(api, seeded):
    campaign = seeded.campaigns["Mumbai leads - first touch"]
    response = api.get(f"/campaign/{campaign['_id']}/logs/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    header = "timestamp,callId,phoneNumber,agentName,status,duration,callCost"
    assert response.text.startswith(header + ",recordingUrl,transcriptUrl\r\n")
    assert len(rows) == 50 + campaign["retryAttempts"]
    assert {row["status"] for row in rows} <= {"completed", "no_answer", "failed"}


def test_logs_export_unknown_campaign_is_400_naming_the_id(api):
    unknown = "e" * 24
    response = api.get(f"/campaign/{unknown}/logs/export")
    assert response.status_code == 400
    assert response.json() == {"status": False, "errors": [f"no campaign found for id {unknown}"]}
