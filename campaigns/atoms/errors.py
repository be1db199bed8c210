"""The one error hierarchy of the Atoms client (`responses` maps HTTP onto it).

Every error says whether trying again can help (`permanent`), carries Atoms' own messages,
and offers `user_message`: plain words for staff. None of them ever holds the API key.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_RETRY_AFTER_SECONDS = 1.0


class AtomsError(Exception):
    """Base of every failure talking to Atoms.

    `str(error)` is for logs and engineers; `user_message` is for the page.
    """

    permanent: bool = True

    def __init__(
        self,
        summary: str = "Atoms request failed",
        *,
        status: int | None = None,
        messages: tuple[str, ...] = (),
        permanent: bool | None = None,
    ) -> None:
        super().__init__(summary)
        self.status = status
        self.messages = tuple(messages)
        if permanent is not None:
            self.permanent = permanent

    @property
    def user_message(self) -> str:
        return _with_details("Atoms could not complete the request.", self.messages)


# Atoms' messages name its JSON keys; people know the fields by the form's labels.
_FIELD_WORDS = {
    "scheduledAt": "Start at", "maxRetries": "Max retries", "retryDelay": "Retry delay",
    "phoneNumberIds": "Phone numbers", "agentId": "Agent", "audienceId": "Audience",
    "phoneNumber": "Phone number", "phoneNumbers": "Phone numbers",
}
_FIELD_PATTERN = re.compile(r"\b(" + "|".join(sorted(_FIELD_WORDS, key=len, reverse=True))
                            + r")\b")


def in_plain_words(message: str) -> str:
    """Atoms' message with its field names replaced by the form's ("Start at")."""
    return _FIELD_PATTERN.sub(lambda match: f"“{_FIELD_WORDS[match.group(1)]}”", message)


def seconds_text(seconds: int) -> str:
    return f"{seconds} second" if seconds == 1 else f"{seconds} seconds"


class AtomsUnavailable(AtomsError):
    """Atoms could not be reached or answered badly (network, timeout, 5xx, broken JSON).

    Transient: trying again later can succeed. `outcome_unknown` is True when a request
    that changes something may nevertheless have been carried out, so the caller must
    look before repeating it.
    """

    permanent = False

    def __init__(self, summary: str = "Atoms is unavailable", *, outcome_unknown: bool = False,
                 timed_out: bool = False, **kwargs: Any) -> None:
        super().__init__(summary, **kwargs)
        self.outcome_unknown = outcome_unknown
        self.timed_out = timed_out

    @property
    def may_still_land(self) -> bool:
        """No answer came (a timeout, a dropped connection, a gateway's timeout): Atoms may
        still be at work on the request, and carry it out after we stopped waiting (seen:
        a create 20 s slow landed after the dashboard had looked and found nothing). An
        error answer of its own means it is done with it."""
        return self.outcome_unknown and self.status in (None, 504)

    @property
    def what_happened(self) -> str:
        """Said as it was: an error answer from Atoms is not a silence."""
        if self.status is not None and self.status >= 500:
            return f"Atoms answered with an error of its own (HTTP {self.status})"
        if self.timed_out:
            return "Atoms did not answer in time"
        if self.status is not None:
            return f"Atoms gave an answer the dashboard could not read (HTTP {self.status})"
        return "Atoms could not be reached"

    @property
    def user_message(self) -> str:
        if self.outcome_unknown:
            return (
                f"{self.what_happened}, so we cannot tell whether the request was carried "
                "out. Refresh and check before trying again."
            )
        return f"{self.what_happened}. Please try again in a minute."


class AtomsRateLimited(AtomsUnavailable):
    """Atoms asked us to slow down (429); `retry_after` is how many seconds it wants."""

    def __init__(self, summary: str = "Atoms rate limit reached", *,
                 retry_after: float = DEFAULT_RETRY_AFTER_SECONDS, **kwargs: Any) -> None:
        super().__init__(summary, **kwargs)
        self.retry_after = retry_after

    @property
    def what_happened(self) -> str:
        # Not "an answer the dashboard could not read (HTTP 429)": it read it (a probe).
        return "Atoms was busy and asked the dashboard to wait"

    @property
    def user_message(self) -> str:
        seconds = max(1, round(self.retry_after))
        return f"Atoms is busy right now. Please try again in {seconds_text(seconds)}."


class AtomsContradicted(AtomsUnavailable):
    """Atoms answered "not found" for a campaign its own list still holds: a passing
    fault of Atoms' (taken for a deletion, a running campaign lost its Pause button and
    left the board for as long as it lasted: a probe), read again at the next poll."""

    @property
    def user_message(self) -> str:
        return ("Atoms still lists this campaign but could not find its details just now; "
                "reading it again.")


class AtomsRejected(AtomsError):
    """Atoms refused the request as given (400 and other client errors): repeating it
    unchanged will fail again. `plan_limit` marks the plan gate ("upgrade … plan")."""

    @property
    def plan_limit(self) -> bool:
        return any(
            "upgrade" in message.lower() and "plan" in message.lower()
            for message in self.messages
        )

    @property
    def user_message(self) -> str:
        if self.plan_limit:
            return _with_details(
                "Your Atoms plan does not allow this, or its limit has been reached.",
                self.messages,
            )
        return _with_details("Atoms did not accept this request.", self.messages)


class AtomsNotFound(AtomsError):
    """The campaign, audience, agent or call does not exist (any more) in Atoms."""

    @property
    def user_message(self) -> str:
        return "Atoms could not find this item. It may have been deleted."


class AtomsNotAuthorised(AtomsError):
    """The API key was refused (401) or lacks access (403)."""

    @property
    def user_message(self) -> str:
        return (
            "The dashboard's Atoms API key is wrong or does not have access to this. "
            "Ask an administrator to check the SMALLEST_API_KEY setting."
        )


def _with_details(lead: str, messages: tuple[str, ...]) -> str:
    details = " ".join(in_plain_words(m).rstrip(".") + "." for m in messages if m)
    return f"{lead} {details}" if details else lead
