"""How a single call ends, as a pure function of (seed, campaign, member, attempt).

Keeping outcomes free of any state means the result of a dial never depends on when
requests arrive or how often a client polls: the same seed always replays the same story.
"""

from dataclasses import dataclass

from .wire import unit

# (kind, probability, call-log status, disconnectionReason, callFailureReason,
#  duration range in seconds, billed); README.md explains the mapping.
_TABLE = (
    ("connected", 0.42, "completed", None, None, (30, 240), True),
    ("no_answer", 0.25, "no_answer", "timeout", "no_answer", (25, 35), False),
    ("voicemail", 0.13, "no_answer", "agent_hangup", "voicemail_detected", (20, 40), True),
    ("busy", 0.10, "failed", "connection_error", "busy", (2, 6), False),
    ("failed", 0.10, "failed", "system_error", "carrier_error", (1, 4), False),
    # Never drawn (share 0): a pause turns a call still ringing into this (dialer.py).
    ("cancelled", 0.0, "cancelled", "system_error", "cancelled_by_pause", (0, 0), False),
)
_BY_KIND = {row[0]: row for row in _TABLE}
COST_PER_MINUTE = 0.05


@dataclass(frozen=True)
class Outcome:
    kind: str
    disconnection_reason: str
    duration_ds: int  # tenths of a second, so durations print as e.g. 74.2

    def pack(self) -> list:
        """The JSON-ready form stored on a call, so listings need not recompute it."""
        return [self.kind, self.disconnection_reason, self.duration_ds]

    @classmethod
    def unpack(cls, packed: list) -> "Outcome":
        return cls(*packed)

    @property
    def status(self) -> str:
        return _BY_KIND[self.kind][2]

    @property
    def failure_reason(self) -> str | None:
        return _BY_KIND[self.kind][4]

    @property
    def connected(self) -> bool:
        return self.kind == "connected"

    @property
    def duration_ms(self) -> int:
        return self.duration_ds * 100

    @property
    def duration(self) -> float:
        return self.duration_ds / 10

    @property
    def cost(self) -> float:
        billed = _BY_KIND[self.kind][6]
        return round(self.duration / 60 * COST_PER_MINUTE, 4) if billed else 0.0


def cancelled(duration_ds: int) -> Outcome:
    """A call still ringing when its campaign was paused; never billed."""
    return Outcome("cancelled", "system_error", duration_ds)


def decide(seed: int, campaign_id: str, member_id: str, attempt: int) -> Outcome:
    roll = unit(seed, campaign_id, member_id, attempt, "outcome")
    row = _TABLE[-1]  # floating-point slack lands on the last row
    for candidate in _TABLE:
        roll -= candidate[1]
        if roll < 0:
            row = candidate
            break
    kind, _share, _status, reason, _failure, (low, high), _billed = row
    spread = unit(seed, campaign_id, member_id, attempt, "duration")
    duration_ds = low * 10 + int(spread * (high - low) * 10)
    if reason is None:
        # Either side may end a real conversation.
        side = unit(seed, campaign_id, member_id, attempt, "hangup")
        reason = "user_hangup" if side < 0.6 else "agent_hangup"
    return Outcome(kind, reason, duration_ds)
