"""The SDK campaign guide (shared/seeds/000_…txt), step by step, over HTTP."""

from tests.simulator.helpers import PILOT, RENEWALS, run_until


def test_seed_walkthrough(sim, api, seeded):
    # 1. List phone numbers; the guide takes data[0]._id.
    phones = api.get("/product/phone-numbers")
    assert phones.status_code == 200
    phone = phones.json()["data"][0]
    assert phone["attributes"]["provider"] == "plivo"
    assert phone["attributes"]["phoneNumber"].startswith("+91")
    assert phone["isActive"] is True

    # 2. Create with the helper's body (description always sent).
    body = {
        "name": "January Outreach",
        "agentId": seeded.agents[RENEWALS]["_id"],
        "audienceId": seeded.audiences[PILOT]["_id"],
        "phoneNumberIds": [phone["_id"]],
        "description": "",
        "maxRetries": 2,
        "retryDelay": 30,
    }
    created = api.post("/campaign", json=body)
    assert created.status_code == 201
    data = created.json()["data"]
    assert data["status"] == "draft"
    assert data["participantsCount"] == 2
    assert (data["maxRetries"], data["retryDelay"]) == (2, 30)
    campaign_id = data["_id"]

    # 3. Start: the helper sends no body but a JSON content type.
    started = api.post(
        f"/campaign/{campaign_id}/start", headers={"Content-Type": "application/json"}
    )
    assert started.status_code == 202
    assert started.json()["data"]["message"] == "Campaign is being processed"

    # 4. Monitor until running.
    running = run_until(sim, api, campaign_id, "running", step=1, limit=10)
    metrics = running["metrics"]
    assert metrics["total_participants"] == 2
    assert 0 <= metrics["contacts_connected"] <= metrics["contacts_called"] <= 2

    # 5. Pause, and wait until the status says so.
    assert api.post(f"/campaign/{campaign_id}/pause").json() == {"status": True}
    run_until(sim, api, campaign_id, "paused", step=1, limit=10)

    # 6. Delete; the campaign is gone.
    assert api.delete(f"/campaign/{campaign_id}").json() == {"status": True}
    gone = api.get(f"/campaign/{campaign_id}")
    assert gone.status_code == 404
    assert gone.json() == {"status": False, "errors": ["Campaign not found"]}


def test_monitoring_can_show_a_running_campaign_with_a_completed_execution(sim, api, seeded):
    """The guide's status example: execution 1 completed while retries keep it running."""
    for attempt in range(20):
        sim.reset(seed=100 + attempt)
        fresh = type(seeded).fetch(api)
        body = fresh.campaign_body(audienceId=fresh.audiences[PILOT]["_id"], retryDelay=30)
        campaign_id = api.post("/campaign", json=body).json()["data"]["_id"]
        api.post(f"/campaign/{campaign_id}/start")
        sim.advance(600)  # every first attempt is over; a retry waits 30 minutes
        data = api.get(f"/campaign/{campaign_id}").json()["data"]
        if data["campaign"]["status"] == "running":
            execution = data["campaign"]["executions"][0]
            assert execution["status"] == "completed"
            assert execution["totalMembers"] == execution["processedMembers"] == 2
            assert data["metrics"]["contacts_called"] == 2
            assert data["metrics"]["contacts_connected"] < 2
            return
    raise AssertionError("no seed produced a pending retry")
