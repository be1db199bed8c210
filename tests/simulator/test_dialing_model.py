"""Properties of the dialing model over many seeds and random start/pause/resume sequences."""

import random
from collections import defaultdict
from datetime import datetime

import httpx
import pytest

from simulator.process import SimulatorProcess
from tests.simulator.helpers import MUMBAI, Seeded, all_logs, create, detail, status

SEEDS = range(30)
STEPS = (5, 30, 120, 600, 1800, 3600)
# The documented outcome mapping: status -> (disconnection reasons, failure reasons, seconds).
MAPPING = {
    "completed": ({"user_hangup", "agent_hangup"}, {None}, (30, 240)),
    "no_answer": ({"timeout", "agent_hangup"}, {"no_answer", "voicemail_detected"}, (20, 40)),
    "failed": ({"connection_error", "system_error"}, {"busy", "carrier_error"}, (1, 6)),
    "cancelled": ({"system_error"}, {"cancelled_by_pause"}, (0, 5)),  # rang when paused
}


def ms(stamp: str) -> int:
    return round(datetime.fromisoformat(stamp).timestamp() * 1000)  # exact, not 1 ms short


class Run:
    """Drives one campaign with random actions and checks every snapshot on the way."""

    def __init__(self, sim, api, seed: int):
        self.sim, self.api, self.rng = sim, api, random.Random(seed)
        sim.reset(seed=seed)
        self.max_retries = self.rng.randint(0, 3)
        self.retry_delay = self.rng.choice([1, 5, 15, 30])
        body = {"maxRetries": self.max_retries, "retryDelay": self.retry_delay}
        self.id = create(api, Seeded.fetch(api), **body)["_id"]
        self.previous = detail(api, self.id)
        self.quiet: list[tuple[int, int]] = []  # (pause requested, resumed + processing)
        self.pause_asked: int | None = None
        self.logs: dict[str, dict] = {}  # the call logs at the last check, by call id
        self.read_at: int | None = None

    def now(self) -> int:
        return self.sim.now()["nowMs"]

    def toggle(self) -> None:
        current = status(self.api, self.id)
        if current in ("draft", "paused"):
            requested = self.now()
            assert self.api.post(f"/campaign/{self.id}/start").status_code == 202
            if self.pause_asked is not None:
                self.quiet.append((self.pause_asked, requested + 3000))
                self.pause_asked = None
        elif current in ("running", "processing"):
            requested = self.now()
            response = self.api.post(f"/campaign/{self.id}/pause")
            assert response.status_code in (200, 400), response.text
            if response.status_code == 200:
                self.pause_asked = requested
        else:
            assert self.api.post(f"/campaign/{self.id}/start").status_code == 400

    def check(self) -> dict:
        data = detail(self.api, self.id)
        metrics, before = data["metrics"], self.previous["metrics"]
        assert metrics["contacts_connected"] <= metrics["contacts_called"]
        assert metrics["contacts_called"] <= metrics["total_participants"] == 50
        for key in metrics:
            assert metrics[key] >= before[key], (key, before, metrics)
        retries = data["campaign"]["retryAttempts"]
        assert retries >= self.previous["campaign"]["retryAttempts"]
        for execution in data["campaign"]["executions"]:
            assert execution["processedMembers"] <= execution["totalMembers"]
        self.previous = data
        self.check_stamps()
        return data

    def check_stamps(self) -> None:
        """Atoms stamps a call's `updatedAt` when it writes the change, so a change is
        never seen with a stamp older than a read that did not show it yet, nor newer than
        the read that shows it: what lets a copy read only what changed since its last
        read. (A cancelled call was once stamped with its scheduled end, still to come.)"""
        now = self.now()
        logs = {log["callId"]: log for log in all_logs(self.api, self.id)}
        for call_id, log in logs.items():
            stamp = ms(log["updatedAt"])
            assert ms(log["createdAt"]) <= stamp <= now, log
            before = self.logs.get(call_id)
            changed = before is None or any(
                before[key] != log[key] for key in ("status", "duration", "callCost"))
            if changed and self.read_at is not None:
                assert stamp >= self.read_at, (log, before, self.read_at)
        self.logs, self.read_at = logs, now

    def wander(self, steps: int = 14) -> None:
        for _ in range(steps):
            if self.rng.random() < 0.3:
                self.toggle()
            else:
                self.sim.advance(self.rng.choice(STEPS))
            self.check()

    def finish(self) -> dict:
        for _ in range(300):
            data = self.check()
            if data["campaign"]["status"] == "completed":
                return data
            if data["campaign"]["status"] == "paused":
                self.toggle()
            self.sim.advance(1800)
        raise AssertionError(f"seed never completed: {data['campaign']['status']}")


def signature(logs: list[dict]) -> list[tuple]:
    return sorted((log["callId"], log["to"], log["status"], log["duration"]) for log in logs)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_lifecycles_keep_every_invariant(sim, api, seed):
    run = Run(sim, api, seed)
    run.wander()
    final = run.finish()
    logs = all_logs(api, run.id)
    metrics = final["metrics"]
    assert len(logs) == 50 + final["campaign"]["retryAttempts"]
    assert sum(log["retryAttemptNumber"] > 0 for log in logs) == final["campaign"]["retryAttempts"]

    by_contact = defaultdict(list)
    for log in logs:
        by_contact[log["to"]].append(log)
    assert len(by_contact) == metrics["contacts_called"] == 50
    connected = 0
    for attempts in by_contact.values():
        attempts.sort(key=lambda log: log["retryAttemptNumber"])
        assert [a["retryAttemptNumber"] for a in attempts] == list(range(len(attempts)))
        assert len(attempts) <= 1 + run.max_retries
        for earlier, later in zip(attempts, attempts[1:], strict=False):
            ended = ms(earlier["createdAt"]) + earlier["duration"] * 1000
            assert ms(later["createdAt"]) >= ended + run.retry_delay * 60_000
        statuses = [a["status"] for a in attempts]
        if "completed" in statuses:
            assert statuses.index("completed") == len(statuses) - 1  # no call after success
            connected += 1
        else:
            assert len(attempts) == 1 + run.max_retries  # exhausted before giving up
    assert metrics["contacts_connected"] == connected

    for log in logs:
        reasons, failures, (low, high) = MAPPING[log["status"]]
        assert log["disconnectionReason"] in reasons
        assert log.get("callFailureReason") in failures
        assert low <= log["duration"] <= high
        for quiet_from, quiet_until in run.quiet:
            assert not quiet_from < ms(log["createdAt"]) < quiet_until, "dialed while paused"

    executions = final["campaign"]["executions"]
    actions = [e["eventAction"] for e in final["events"]]
    assert len(executions) == actions.count("started") + actions.count("resumed")
    assert executions[-1]["status"] == "completed"
    assert actions[-1] == "completed" and final["events"][-1]["triggerSource"] == "system"


@pytest.mark.parametrize("seed", [3, 17])
def test_same_seed_same_actions_same_outcomes(sim, api, seed):
    first = Run(sim, api, seed)
    first.wander()
    first.finish()
    expected = signature(all_logs(api, first.id))
    again = Run(sim, api, seed)
    again.wander()
    again.finish()
    assert again.id == first.id
    assert signature(all_logs(api, again.id)) == expected


def test_outcomes_do_not_depend_on_how_often_anyone_polls(sim, api):
    def play(poll_every: float | None) -> list[tuple]:
        sim.reset(seed=5)
        seeded = Seeded.fetch(api)
        campaign_id = create(api, seeded, maxRetries=3, retryDelay=1)["_id"]
        plan = [(0, "start"), (900, "pause"), (1500, "start"), (2400, None), (30_000, None)]
        elapsed = 0.0
        for at, action in plan:
            # Poll through the eventful first 40 minutes, then jump to the end.
            while poll_every and elapsed + poll_every < min(at, 2400):
                sim.advance(poll_every)
                elapsed += poll_every
                api.get(f"/campaign/{campaign_id}")
                api.get("/campaign")
            sim.advance(at - elapsed)
            elapsed = at
            if action:
                assert api.post(f"/campaign/{campaign_id}/{action}").status_code in (200, 202)
        assert status(api, campaign_id) == "completed"
        return signature(all_logs(api, campaign_id))

    assert play(poll_every=7) == play(poll_every=None)


def test_a_pinned_start_time_and_seed_repeat_the_world_across_processes():
    def world(seed: int) -> tuple[list, list]:
        process = SimulatorProcess().start(
            seed=seed, extra_args=["--start-time", "2025-03-12T09:00:00Z"]
        )
        try:
            headers = {"Authorization": f"Bearer {process.api_key}"}
            with httpx.Client(base_url=process.base_url, headers=headers) as client:
                campaigns = client.get("/campaign", params={"offset": 50}).json()["data"][
                    "campaigns"
                ]
                done = next(c for c in campaigns if c["status"] == "completed")
                members = client.get(f"/audience/{done['audience']['_id']}/members").json()["data"]
                return campaigns + members["members"], signature(all_logs(client, done["_id"]))
        finally:
            process.stop()

    first, same, other = world(3), world(3), world(4)
    assert first == same
    assert first[0] != other[0]


def test_seeded_history_obeys_the_model(api, seeded):
    paused = seeded.campaigns["Mumbai leads - follow-up"]
    assert paused["status"] == "paused" and "pausedAt" in paused
    done = detail(api, seeded.campaigns["Mumbai leads - first touch"]["_id"])
    assert done["campaign"]["status"] == "completed"
    assert done["metrics"]["contacts_called"] == 50
    logs = all_logs(api, done["campaign"]["_id"])
    connected = {log["to"] for log in logs if log["status"] == "completed"}
    assert done["metrics"]["contacts_connected"] == len(connected)
    assert seeded.audiences[MUMBAI]["memberCount"] == 50
