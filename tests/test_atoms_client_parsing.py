"""The client reads whatever Atoms sends without crashing or inventing numbers.

Odd bodies are fed through httpx.MockTransport (the network boundary): the simulator
answers by the book, real Atoms does not always.
"""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from campaigns.atoms import (
    AtomsClient,
    AtomsNotFound,
    AtomsRejected,
    AtomsUnavailable,
    CampaignStatus,
)

CAMPAIGN_ID = "65f0c0ffee0000000000d001"


def client_answering(status: int, body=None, *, text: str | None = None, headers=None):
    """A client whose every request gets this one response."""

    def answer(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return AtomsClient(
        "http://atoms.test", "key-for-parsing-tests", transport=httpx.MockTransport(answer),
        sleep=lambda seconds: None,
    )


def detail_body(campaign: dict, **siblings) -> dict:
    return {"status": True, "data": {"campaign": campaign, **siblings}}


def test_unknown_keys_are_ignored_and_unknown_status_is_kept_as_a_plain_string():
    client = client_answering(200, detail_body(
        {"_id": CAMPAIGN_ID, "status": "archived_by_ops", "brandNewField": {"x": 1}},
        metrics={"total_participants": 2, "contacts_called": 1, "contacts_connected": 0,
                 "contacts_voicemail": 1},
        somethingElse=[1, 2],
    ))

    detail = client.get_campaign(CAMPAIGN_ID)

    assert detail.campaign.status == "archived_by_ops"
    assert type(detail.campaign.status) is str
    assert detail.metrics.contacts_called == 1


def test_known_statuses_compare_equal_to_the_enum():
    client = client_answering(200, detail_body({"_id": CAMPAIGN_ID, "status": "running"}))

    assert client.get_campaign(CAMPAIGN_ID).campaign.status == CampaignStatus.RUNNING


def test_nulls_and_missing_keys_become_neutral_values():
    client = client_answering(200, detail_body(
        {"_id": CAMPAIGN_ID, "name": None, "participantsCount": None, "agent": None,
         "scheduledAt": None, "error": None},
        metrics={"total_participants": None},
        events=None,
    ))

    detail = client.get_campaign(CAMPAIGN_ID)

    assert detail.campaign.name == ""
    assert detail.campaign.participants_count == 0
    assert detail.campaign.agent_id == ""
    assert detail.campaign.scheduled_at is None
    assert detail.campaign.error == ""
    assert detail.metrics.total_participants == 0
    assert detail.metrics.contacts_called == 0
    assert detail.events == ()
    assert detail.executions == ()


def test_absent_metrics_are_none_rather_than_zeros_that_would_lie():
    client = client_answering(200, detail_body({"_id": CAMPAIGN_ID, "status": "running"}))

    assert client.get_campaign(CAMPAIGN_ID).metrics is None


def test_numbers_sent_as_strings_are_coerced_and_garbage_becomes_zero():
    client = client_answering(200, detail_body(
        {"_id": CAMPAIGN_ID, "participantsCount": "12", "maxRetries": " 2 ",
         "retryDelay": "30.0", "retryAttempts": "many"},
        metrics={"total_participants": "12", "contacts_called": 5.0,
                 "contacts_connected": True},
    ))

    detail = client.get_campaign(CAMPAIGN_ID)

    assert detail.campaign.participants_count == 12
    assert detail.campaign.max_retries == 2
    assert detail.campaign.retry_delay == 30
    assert detail.campaign.retry_attempts == 0
    assert (detail.metrics.total_participants, detail.metrics.contacts_called) == (12, 5)
    assert detail.metrics.contacts_connected == 0


def test_timestamps_with_z_are_aware_utc_and_bad_ones_are_none():
    client = client_answering(200, detail_body({
        "_id": CAMPAIGN_ID,
        "createdAt": "2025-03-12T09:30:00.000Z",
        "updatedAt": "2025-03-12T11:30:00+02:00",
        "pausedAt": "yesterday-ish",
        "scheduledAt": 1741771800000,
        "failedAt": "2025-03-12T09:30:00",
    }))

    campaign = client.get_campaign(CAMPAIGN_ID).campaign

    assert campaign.created_at == datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
    assert campaign.updated_at == datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
    assert campaign.paused_at is None
    assert campaign.scheduled_at is None
    assert campaign.failed_at.tzinfo is not None


def test_executions_and_events_are_read_from_the_detail():
    client = client_answering(200, detail_body(
        {"_id": CAMPAIGN_ID, "status": "running", "executions": [
            {"executionNumber": 1, "status": "completed", "totalMembers": 2,
             "processedMembers": "2", "startedAt": "2025-03-12T09:31:00.000Z"},
            "not an object",
        ]},
        events=[{"_id": "e1", "triggerSource": "user", "eventAction": "started",
                 "createdAt": "2025-03-12T09:31:00.000Z"}],
    ))

    detail = client.get_campaign(CAMPAIGN_ID)

    [execution] = detail.executions
    assert (execution.number, execution.status, execution.processed_members) == (
        1, "completed", 2)
    assert execution.started_at == datetime(2025, 3, 12, 9, 31, tzinfo=UTC)
    assert execution.completed_at is None
    [event] = detail.events
    assert (event.action, event.trigger_source) == ("started", "user")


def test_a_create_answer_with_flat_ids_reads_like_a_nested_one():
    flat = client_answering(201, {"status": True, "data": {
        "_id": CAMPAIGN_ID, "agentId": "agent1", "audienceId": "aud1", "status": "draft"}})
    nested = client_answering(200, detail_body({
        "_id": CAMPAIGN_ID, "agent": {"_id": "agent1", "name": "Renewals bot"},
        "audience": {"_id": "aud1", "name": "March leads"}, "status": "draft"}))

    created = flat.create_campaign("n", "agent1", "aud1", ["phone1"])
    fetched = nested.get_campaign(CAMPAIGN_ID).campaign

    assert (created.agent_id, created.audience_id) == ("agent1", "aud1")
    assert (fetched.agent_id, fetched.audience_id) == ("agent1", "aud1")
    assert (fetched.agent_name, fetched.audience_name) == ("Renewals bot", "March leads")


def test_a_non_json_502_page_is_unavailable_without_html_in_the_messages():
    client = client_answering(502, text="<html><body>Bad Gateway</body></html>")

    with pytest.raises(AtomsUnavailable) as caught:
        client.list_phone_numbers()

    assert caught.value.status == 502
    assert caught.value.messages == ()
    assert caught.value.permanent is False
    assert "<html>" not in caught.value.user_message


def test_a_success_status_with_broken_json_is_unavailable():
    client = client_answering(200, text="{not json")

    with pytest.raises(AtomsUnavailable):
        client.list_audiences()


def test_a_list_without_its_array_is_an_error_rather_than_an_empty_list():
    client = client_answering(200, {"status": True, "data": {"pagination": {"total": 3}}})

    with pytest.raises(AtomsUnavailable, match="campaigns"):
        client.list_campaigns()


@pytest.mark.parametrize(
    "body",
    [
        {"status": False, "errors": ["maxRetries must be at most 10"]},
        {"status": "error", "errors": ["maxRetries must be at most 10"]},
        {"success": False, "error": {"code": "BAD", "message": "maxRetries must be at most 10"}},
        {"message": "maxRetries must be at most 10"},
    ],
    ids=["status-false", "status-error-string", "success-error-object", "bare-message"],
)
def test_every_error_envelope_yields_atoms_message(body):
    client = client_answering(400, body)

    with pytest.raises(AtomsRejected) as caught:
        client.create_campaign("n", "agent1", "aud1", ["phone1"], max_retries=11)

    assert caught.value.messages == ("maxRetries must be at most 10",)
    # Atoms' message, in the form's words for the person reading it.
    assert "“Max retries” must be at most 10" in caught.value.user_message
    assert caught.value.permanent is True


def test_an_empty_400_is_still_a_rejection():
    client = client_answering(400)

    with pytest.raises(AtomsRejected) as caught:
        client.create_campaign("n", "agent1", "aud1", ["phone1"])

    assert caught.value.messages == ()


def test_a_200_whose_envelope_says_it_failed_is_a_rejection_not_an_empty_result():
    client = client_answering(200, {"status": False, "errors": ["Invalid input"]})

    with pytest.raises(AtomsRejected, match="Invalid input"):
        client.list_audiences()


def test_plan_gate_is_recognised():
    client = client_answering(400, {"status": False, "errors": [
        "Your plan has no access to campaigns, please upgrade to a higher plan"]})

    with pytest.raises(AtomsRejected) as caught:
        client.create_campaign("n", "agent1", "aud1", ["phone1"])

    assert caught.value.plan_limit is True
    assert "plan" in caught.value.user_message


@pytest.mark.parametrize("message", ["Invalid input", "Call plan name is required",
                                     "Please upgrade the audience CSV to UTF-8"])
def test_a_rejection_naming_only_plan_or_only_upgrade_is_not_a_plan_limit(message):
    client = client_answering(400, {"status": False, "errors": [message]})

    with pytest.raises(AtomsRejected) as caught:
        client.create_campaign("n", "agent1", "aud1", ["phone1"])

    assert caught.value.plan_limit is False


def test_agent_not_found_reported_as_400_is_not_found():
    client = client_answering(400, {"status": False, "errors": ["No agent found"]})

    with pytest.raises(AtomsNotFound):
        client.get_agent("65f0c0ffee0000000000a001")


def test_an_invalid_id_is_not_found_only_for_a_read():
    """A read of one call refused with "Invalid callId" means there is no such call; a
    start refused with "Invalid agentId" says nothing about the campaign, which must not
    be taken for deleted in Atoms."""
    client = client_answering(400, {"status": False, "errors": ["Invalid agentId: x"]})

    with pytest.raises(AtomsNotFound):
        client.get_call("CALL-1737000000000-abc123")
    with pytest.raises(AtomsRejected) as caught:
        client.start_campaign(CAMPAIGN_ID)
    assert not isinstance(caught.value, AtomsNotFound)


def test_start_and_pause_tolerate_bodies_without_data():
    client = client_answering(202, {"status": True})

    assert client.start_campaign(CAMPAIGN_ID) is None
    assert client.pause_campaign(CAMPAIGN_ID) is None


def test_pause_and_delete_accept_an_empty_body():
    client = client_answering(200)

    client.pause_campaign(CAMPAIGN_ID)
    client.delete_campaign(CAMPAIGN_ID)


def test_phone_numbers_without_optional_attributes_are_listed():
    client = client_answering(200, {"status": True, "data": [
        {"_id": "p1", "attributes": {"provider": "plivo", "phoneNumber": "+912268093560"},
         "isActive": True},
        {"_id": "p2", "attributes": None, "agentId": {"_id": "agent1"}},
        42,
    ]})

    first, second = client.list_phone_numbers()

    assert (first.number, first.provider, first.country_code) == (
        "+912268093560", "plivo", "")
    assert (second.number, second.agent_id) == ("", "agent1")


def test_audience_members_with_non_string_values_read_as_strings():
    client = client_answering(200, {"status": True, "data": {
        "members": [{"_id": "m1", "data": {"phoneNumber": 919800000001, "vip": True,
                                           "note": None}}],
        "totalCount": "1", "totalPages": 1, "hasMore": False,
    }})

    page = client.list_audience_members("aud1")

    assert dict(page.items[0].data) == {"phoneNumber": "919800000001", "vip": "true",
                                        "note": ""}
    assert page.total == 1


def test_missing_page_counters_are_derived_from_what_arrived():
    client = client_answering(200, {"status": True, "data": {
        "agents": [{"_id": f"a{i}"} for i in range(10)], "total": 25}})

    page = client.list_agents(page=2, page_size=10)

    assert (page.page, page.page_size, page.total, page.total_pages) == (2, 10, 25, 3)
    assert page.has_more is True


def test_audience_list_reads_member_count_and_campaign_names():
    client = client_answering(200, {"status": True, "data": [
        {"_id": "aud1", "name": "March leads", "phoneNumberColumnName": "phoneNumber",
         "memberCount": "2", "campaigns": [{"_id": CAMPAIGN_ID, "name": "Spring renewals"}]},
    ]})

    [audience] = client.list_audiences()

    assert audience.member_count == 2
    assert audience.has_campaigns is True
    assert audience.campaign_names == ("Spring renewals",)


def test_get_audience_without_a_count_reports_none_rather_than_zero():
    client = client_answering(200, {"status": True, "data": {"_id": "aud1", "name": "x"}})

    assert client.get_audience("aud1").member_count is None


def test_call_log_items_read_seconds_costs_and_attempts():
    client = client_answering(200, {"status": True, "data": {
        "logs": [{"callId": "CALL-1737000000000-abc123", "status": "no_answer",
                  "duration": "74.2", "from": "+1555", "to": "+1666", "callCost": None,
                  "retryAttemptNumber": 1, "campaignId": CAMPAIGN_ID}],
        "pagination": {"total": 1, "page": 1, "limit": 50, "hasMore": False,
                       "totalPages": 1},
    }})

    [log] = client.list_call_logs(CAMPAIGN_ID).items

    assert (log.duration_seconds, log.cost, log.attempt_number) == (74.2, 0.0, 1)
    assert (log.from_number, log.to_number, log.campaign_id) == ("+1555", "+1666", CAMPAIGN_ID)


def rate_limited_once(headers=None, body=None):
    """A client whose first request gets 429 (with these headers/body) and the rest 200;
    returns it with the list its injected sleep records into."""
    answers = iter([httpx.Response(429, headers=headers, json=body or {})])
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or httpx.Response(200, json={"status": True, "data": []})

    client = AtomsClient("http://atoms.test", "key-for-parsing-tests",
                         transport=httpx.MockTransport(answer), sleep=waits.append)
    return client, waits


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "7"}, None, 7.0),
        ({"Retry-After": "2.5"}, None, 2.5),
        ({"retry-after-ms": "1500"}, None, 1.5),
        (None, {"message": "Rate limit exceeded",
                "rateLimit": {"routeClass": "api", "limit": 10, "retryAfterSec": 4}}, 4.0),
        (None, None, 1.0),
    ],
    ids=["seconds", "fractional-seconds", "milliseconds", "body-retryAfterSec", "default"],
)
def test_the_wait_after_a_429_comes_from_whichever_hint_atoms_gave(headers, body, expected):
    client, waits = rate_limited_once(headers, body)

    assert client.list_audiences() == ()
    assert waits == [expected]


def test_a_retry_after_given_as_an_http_date_is_converted_to_seconds():
    in_ten_seconds = datetime.now(UTC) + timedelta(seconds=10)
    client, waits = rate_limited_once({"Retry-After": format_datetime(in_ten_seconds,
                                                                      usegmt=True)})

    client.list_audiences()

    [wait] = waits
    assert 8 <= wait <= 10
