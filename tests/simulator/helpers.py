"""Small helpers shared by the simulator tests: seeded ids, campaign driving, log paging."""

import re
from dataclasses import dataclass

import httpx

JS_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
CALL_ID = re.compile(r"CALL-\d{13}-[0-9a-f]{6}")

# Names from simulator/seed_world.py.
PILOT = "Pilot testers"
MUMBAI = "Mumbai leads - March"
US = "US renewals Q3"
RENEWALS = "Renewals Assistant"


@dataclass
class Seeded:
    agents: dict
    phones: list
    audiences: dict
    campaigns: dict

    @classmethod
    def fetch(cls, api: httpx.Client) -> "Seeded":
        agents = api.get("/agent", params={"offset": 100}).json()["data"]["agents"]
        archived = api.get("/agent", params={"offset": 100, "archived": "true"})
        agents += archived.json()["data"]["agents"]
        audiences = api.get("/audience").json()["data"]
        campaigns = api.get("/campaign", params={"offset": 100}).json()["data"]["campaigns"]
        return cls(
            agents={agent["name"]: agent for agent in agents},
            phones=api.get("/product/phone-numbers").json()["data"],
            audiences={audience["name"]: audience for audience in audiences},
            campaigns={campaign["name"]: campaign for campaign in campaigns},
        )

    def active_phone_ids(self) -> list[str]:
        return [phone["_id"] for phone in self.phones if phone["isActive"]]

    def campaign_body(self, **overrides) -> dict:
        body = {
            "name": "Test campaign",
            "agentId": self.agents[RENEWALS]["_id"],
            "audienceId": self.audiences[MUMBAI]["_id"],
            "phoneNumberIds": self.active_phone_ids()[:2],
            "maxRetries": 2,
            "retryDelay": 15,
        }
        body.update(overrides)
        return {key: value for key, value in body.items() if value is not None}


def create(api: httpx.Client, seeded: Seeded, **overrides) -> dict:
    response = api.post("/campaign", json=seeded.campaign_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]


def detail(api: httpx.Client, campaign_id: str) -> dict:
    response = api.get(f"/campaign/{campaign_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def status(api: httpx.Client, campaign_id: str) -> str:
    return detail(api, campaign_id)["campaign"]["status"]


def run_until(sim, api, campaign_id: str, wanted: str, *, step: float, limit: int) -> dict:
    """Advance the clock by `step` seconds until the campaign reaches `wanted`."""
    for _ in range(limit):
        data = detail(api, campaign_id)
        if data["campaign"]["status"] == wanted:
            return data
        sim.advance(step)
    raise AssertionError(f"campaign never reached {wanted}: {data['campaign']['status']}")


def all_logs(api: httpx.Client, campaign_id: str, attempts: str = "all") -> list[dict]:
    logs, page = [], 1
    while True:
        params = {"campaignIds": campaign_id, "callAttemptFilter": attempts}
        response = api.get("/conversation", params={**params, "limit": 500, "page": page})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        logs += data["logs"]
        if not data["pagination"]["hasMore"]:
            return logs
        page += 1
