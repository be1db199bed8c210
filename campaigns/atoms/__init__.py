"""The only code in the dashboard that speaks HTTP to the Smallest AI Atoms API.

    client      AtomsClient: one method per endpoint the dashboard uses, typed results
    transport   AtomsHttp: base URL, auth, timeouts, retries of reads, Retry-After, and
                `deadline`, the time a page's requests may take in all
    responses   how an HTTP response or a network failure becomes an AtomsError
    errors      the one error hierarchy, each error with plain words for staff
    types       frozen result dataclasses, the campaign status enum, tolerant parsers
    calls       call logs, one call, its retry family and its live events (SSE)
    coerce      readers for loosely typed JSON values

Import from this package: `from campaigns import atoms; atoms.AtomsError`.
"""

from campaigns.atoms.calls import CallDetail, CallEvent, CallLog, TranscriptTurn
from campaigns.atoms.client import AtomsClient
from campaigns.atoms.errors import (
    AtomsContradicted,
    AtomsError,
    AtomsNotAuthorised,
    AtomsNotFound,
    AtomsRateLimited,
    AtomsRejected,
    AtomsUnavailable,
    in_plain_words,
    seconds_text,
)
from campaigns.atoms.transport import deadline, normalise_base_url
from campaigns.atoms.types import (
    Agent,
    Audience,
    AudienceMember,
    Campaign,
    CampaignDetail,
    CampaignEvent,
    CampaignPage,
    CampaignStatus,
    DncEntry,
    Execution,
    Metrics,
    Page,
    PhoneNumber,
)

__all__ = [
    "Agent", "AtomsClient", "AtomsContradicted", "AtomsError", "AtomsNotAuthorised",
    "AtomsNotFound", "AtomsRateLimited", "AtomsRejected", "AtomsUnavailable", "Audience",
    "AudienceMember", "CallDetail", "CallEvent", "CallLog", "Campaign", "CampaignDetail",
    "CampaignEvent", "CampaignPage", "CampaignStatus", "DncEntry", "Execution", "Metrics",
    "Page", "PhoneNumber", "TranscriptTurn", "deadline", "in_plain_words",
    "normalise_base_url", "seconds_text",
]
