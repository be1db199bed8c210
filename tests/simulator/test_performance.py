"""The simulator stays fast with 1,000 campaigns polled at once and with 1,000-contact runs."""

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.simulator.helpers import PILOT, Seeded, detail

BIG = "US renewals - Q3 wave 1"  # the seeded 1,000-contact draft


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_threads(count: int, work) -> None:
    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to read CPU time")
def test_polling_a_thousand_campaigns_costs_little_cpu_per_request(sim, api):
    seeded = Seeded.fetch(api)
    body = seeded.campaign_body(audienceId=seeded.audiences[PILOT]["_id"])
    ids: list[str] = []
    headers = {"Authorization": f"Bearer {sim.api_key}"}

    def create_and_start(index: int) -> None:
        with httpx.Client(base_url=sim.base_url, headers=headers, timeout=30) as client:
            for _ in range(50):
                campaign_id = client.post("/campaign", json=body).json()["data"]["_id"]
                assert client.post(f"/campaign/{campaign_id}/start").status_code == 202
                ids.append(campaign_id)

    in_threads(20, create_and_start)
    assert len(ids) == 1000
    sim.advance(60)
    statuses: list[str] = []

    def poll(index: int) -> None:
        with httpx.Client(base_url=sim.base_url, headers=headers, timeout=30) as client:
            for campaign_id in ids[index::20] * 2:
                response = client.get(f"/campaign/{campaign_id}")
                statuses.append(response.json()["data"]["campaign"]["status"])

    before = cpu_seconds(sim.popen.pid)
    started = time.monotonic()
    in_threads(20, poll)
    elapsed = time.monotonic() - started
    per_request = (cpu_seconds(sim.popen.pid) - before) / len(statuses)
    assert len(statuses) == 2000 and set(statuses) <= {"running", "completed"}
    assert per_request < 0.003, f"{per_request * 1000:.2f} ms of CPU per GET"
    assert elapsed < 20

    started = time.monotonic()
    listing = api.get("/campaign", params={"search": body["name"]}).json()["data"]
    assert listing["pagination"]["total"] == 1000
    assert time.monotonic() - started < 0.5


def test_a_thousand_contact_campaign_keeps_requests_fast(sim, api, seeded):
    campaign_id = seeded.campaigns[BIG]["_id"]
    assert api.post(f"/campaign/{campaign_id}/start").status_code == 202
    slowest = 0.0
    for _ in range(24):
        sim.advance(3600)
        started = time.monotonic()
        data = detail(api, campaign_id)
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 0.5, f"an hour of catch-up took {slowest:.3f} s"
    assert data["campaign"]["status"] == "completed"
    assert data["metrics"]["contacts_called"] == 1000

    started = time.monotonic()
    for _ in range(20):
        detail(api, campaign_id)
    assert (time.monotonic() - started) / 20 < 0.02

    started = time.monotonic()
    page = api.get("/conversation", params={"campaignIds": campaign_id, "limit": 50})
    assert page.json()["data"]["pagination"]["total"] == 1000
    assert time.monotonic() - started < 0.5


def test_a_whole_day_caught_up_in_one_request_stays_reasonable(sim, api, seeded):
    campaign_id = seeded.campaigns[BIG]["_id"]
    api.post(f"/campaign/{campaign_id}/start")
    sim.advance(2 * 86_400)
    started = time.monotonic()
    assert detail(api, campaign_id)["campaign"]["status"] == "completed"
    assert time.monotonic() - started < 2.0
