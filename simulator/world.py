"""The simulated organization's data, its lock, lookups, and persistence to disk."""

import json
import os
import tempfile
from pathlib import Path

from . import dialer
from .wire import ApiError, is_object_id, object_id

STATE_VERSION = 1


class World:
    """Everything one Atoms organization owns, as JSON-ready dicts keyed by id.

    Not thread-safe by itself: the simulator holds one lock around every request, and each
    request starts with `tick`, which moves `now` forward (never back, even if threads race).
    """

    def __init__(self, state: dict):
        self.state = state
        self.now = state["now"]
        # Dialing pace (see dialer.paced); a launch option, not part of the saved world.
        self.pace = 1.0
        # callId -> (campaign id, index in its calls); derived, so rebuilt rather than saved.
        self.call_index = {
            call["callId"]: (campaign["_id"], index)
            for campaign in state["campaigns"].values()
            for index, call in enumerate(campaign["calls"])
        }

    @classmethod
    def empty(cls, seed: int, now: int) -> "World":
        return cls(
            {
                "version": STATE_VERSION,
                "seed": seed,
                "now": now,
                "idCounter": 0,
                "organizationId": object_id(seed, "organization"),
                "userId": object_id(seed, "user"),
                "agents": {},
                "phoneNumbers": {},
                "audiences": {},
                "campaigns": {},
            }
        )

    @property
    def seed(self) -> int:
        return self.state["seed"]

    @property
    def agents(self) -> dict:
        return self.state["agents"]

    @property
    def phone_numbers(self) -> dict:
        return self.state["phoneNumbers"]

    @property
    def audiences(self) -> dict:
        return self.state["audiences"]

    @property
    def campaigns(self) -> dict:
        return self.state["campaigns"]

    def tick(self, clock_now: int) -> int:
        self.now = max(self.now, clock_now)
        self.state["now"] = self.now
        return self.now

    def new_id(self) -> str:
        """The next id of this world: same seed and same actions give the same ids."""
        self.state["idCounter"] += 1
        return object_id(self.seed, "id", self.state["idCounter"])

    def register_call(self, campaign: dict, call: dict) -> None:
        """Index a call just appended to the campaign's calls."""
        self.call_index[call["callId"]] = (campaign["_id"], len(campaign["calls"]) - 1)
        self.agents[campaign["agentId"]]["totalCalls"] += 1

    # --- lookups that raise the documented errors ----------------------------------------

    def campaign(self, campaign_id: str, *, missing_status: int = 404, missing=None) -> dict:
        if not is_object_id(campaign_id):
            raise ApiError(400, f"Invalid campaign id: {campaign_id}")
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise ApiError(missing_status, missing or "Campaign not found")
        dialer.advance(self, campaign, self.now)
        return campaign

    def audience(self, audience_id: str) -> dict:
        if not is_object_id(audience_id):
            raise ApiError(400, f"Invalid audience id: {audience_id}")
        audience = self.audiences.get(audience_id)
        if audience is None:
            raise ApiError(404, "Audience not found")
        return audience

    def advance_all(self) -> None:
        for campaign in self.campaigns.values():
            dialer.advance(self, campaign, self.now)

    def advance_only(self, campaign_ids) -> list[dict]:
        """Catch up the named campaigns (unknown ids are skipped) and return them."""
        found = [self.campaigns[cid] for cid in campaign_ids if cid in self.campaigns]
        for campaign in found:
            dialer.advance(self, campaign, self.now)
        return found

    def delete_campaign(self, campaign: dict) -> None:
        for call in campaign["calls"]:
            self.call_index.pop(call["callId"], None)
        del self.campaigns[campaign["_id"]]


def dump(snapshot: dict) -> bytes:
    return json.dumps(snapshot, separators=(",", ":")).encode()


def save(path: Path, data: bytes) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> dict | None:
    """The saved snapshot, or None when there is none yet; ValueError if it is not ours."""
    try:
        snapshot = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    world = snapshot.get("world") if isinstance(snapshot, dict) else None
    if not isinstance(world, dict) or "startMs" not in snapshot:
        raise ValueError(f"{path}: not a simulator state file")
    if world.get("version") != STATE_VERSION:
        raise ValueError(f"{path}: not a simulator state file of version {STATE_VERSION}")
    return snapshot
