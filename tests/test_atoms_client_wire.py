"""What the client puts on the wire: URL, headers, query, bodies, and the id guard.

Requests are captured with httpx.MockTransport (the network boundary).
"""

import json
import logging
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from campaigns.atoms import AtomsClient, AtomsRejected, normalise_base_url

API_KEY = "sk-wire-test-0123456789abcdef"
CAMPAIGN_ID = "65f0c0ffee0000000000d001"
CREATED = {"status": True, "data": {"_id": CAMPAIGN_ID, "status": "draft"}}


class Recorder:
    """Answers every request with `body` and keeps the requests for inspection."""

    def __init__(self, body=None, status=200):
        self.requests: list[httpx.Request] = []
        self.body = body if body is not None else {"status": True, "data": {}}
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def client(self, base_url="http://atoms.test/atoms/v1", **options) -> AtomsClient:
        return AtomsClient(base_url, API_KEY, transport=httpx.MockTransport(self), **options)


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("https://api.smallest.ai/atoms/v1", "https://api.smallest.ai/atoms/v1"),
        ("https://api.smallest.ai/atoms/v1/", "https://api.smallest.ai/atoms/v1"),
        ("https://api.smallest.ai", "https://api.smallest.ai/atoms/v1"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765/atoms/v1"),
        ("http://proxy.internal/smallest", "http://proxy.internal/smallest/atoms/v1"),
    ],
)
def test_base_url_accepts_the_full_base_or_the_host_root(configured, expected):
    assert normalise_base_url(configured) == expected


def test_requests_go_under_atoms_v1_even_when_configured_with_the_host_root():
    recorder = Recorder({"status": True, "data": []})

    recorder.client("http://atoms.test").list_phone_numbers()

    assert str(recorder.last.url) == "http://atoms.test/atoms/v1/product/phone-numbers"


def test_every_request_carries_bearer_auth_a_user_agent_and_accepts_json():
    recorder = Recorder({"status": True, "data": []})

    recorder.client().list_audiences()

    headers = recorder.last.headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["user-agent"].startswith("atoms-campaign-dashboard/")
    assert f"httpx/{httpx.__version__}" in headers["user-agent"]
    assert headers["accept"] == "application/json"


def test_from_settings_uses_the_configured_base_key_and_timeouts(settings):
    settings.SMALLEST_BASE_URL = "http://atoms.test"
    settings.SMALLEST_API_KEY = API_KEY
    settings.ATOMS_CONNECT_TIMEOUT = 3
    settings.ATOMS_READ_TIMEOUT = 7
    recorder = Recorder({"status": True, "data": []})

    with AtomsClient.from_settings(transport=httpx.MockTransport(recorder)) as client:
        client.list_audiences()

    request = recorder.last
    assert str(request.url) == "http://atoms.test/atoms/v1/audience"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.extensions["timeout"] == {"connect": 3.0, "read": 7.0, "write": 7.0,
                                             "pool": 7.0}


def test_a_blank_api_key_is_refused_at_construction():
    with pytest.raises(ValueError, match="API key"):
        AtomsClient("http://atoms.test", "  ")


def test_list_campaigns_sends_page_size_as_offset_and_omits_unset_filters():
    recorder = Recorder({"status": True, "data": {"campaigns": []}})

    recorder.client().list_campaigns(page=3, page_size=25)

    assert dict(recorder.last.url.params) == {
        "page": "3", "offset": "25", "sortField": "createdAt", "sortOrder": "desc"}


def test_list_campaigns_passes_status_and_search():
    recorder = Recorder({"status": True, "data": {"campaigns": []}})

    recorder.client().list_campaigns(status="running", search="spring sale",
                                     sort_field="updatedAt", sort_order="asc")

    params = recorder.last.url.params
    assert (params["status"], params["search"]) == ("running", "spring sale")
    assert (params["sortField"], params["sortOrder"]) == ("updatedAt", "asc")


def test_create_campaign_sends_the_helper_defaults_and_leaves_out_unset_keys():
    recorder = Recorder(CREATED, status=201)

    recorder.client().create_campaign("Spring renewals", "agent1", "aud1", ["phone1"])

    request = recorder.last
    assert (request.method, request.url.path) == ("POST", "/atoms/v1/campaign")
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "name": "Spring renewals", "agentId": "agent1", "audienceId": "aud1",
        "phoneNumberIds": ["phone1"], "description": "", "maxRetries": 3, "retryDelay": 15,
    }


def test_create_campaign_writes_scheduled_at_in_utc_with_a_z():
    recorder = Recorder(CREATED, status=201)
    in_india = timezone(timedelta(hours=5, minutes=30))

    recorder.client().create_campaign(
        "n", "agent1", "aud1", ["phone1"], max_retries=2, retry_delay=30,
        scheduled_at=datetime(2026, 4, 24, 15, 30, tzinfo=in_india),
    )

    body = json.loads(recorder.last.content)
    assert body["scheduledAt"] == "2026-04-24T10:00:00.000Z"
    assert (body["maxRetries"], body["retryDelay"]) == (2, 30)


def test_create_campaign_refuses_a_naive_schedule_before_sending():
    recorder = Recorder(CREATED, status=201)

    with pytest.raises(ValueError, match="time zone"):
        recorder.client().create_campaign("n", "agent1", "aud1", ["phone1"],
                                          scheduled_at=datetime(2026, 4, 24, 10, 0))

    assert recorder.requests == []


def test_create_campaign_without_numbers_leaves_the_key_out():
    recorder = Recorder(CREATED, status=201)

    recorder.client().create_campaign("n", "agent1", "aud1", [])

    assert "phoneNumberIds" not in json.loads(recorder.last.content)


def test_create_audience_uploads_the_csv_as_multipart():
    recorder = Recorder({"status": True, "data": {"_id": "aud1", "name": "March leads"}})
    csv_bytes = b"firstName,phoneNumber\nAsha,+919800000001\n"

    audience = recorder.client().create_audience(
        "March leads", "phoneNumber", csv_bytes, identifier_column="firstName")

    request = recorder.last
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    content = request.content
    assert b'name="name"\r\n\r\nMarch leads' in content
    assert b'name="phoneNumberColumnName"\r\n\r\nphoneNumber' in content
    assert b'name="identifierColumnName"\r\n\r\nfirstName' in content
    assert b'name="file"; filename="contacts.csv"' in content
    assert b"Content-Type: text/csv" in content
    assert csv_bytes in content
    # An unset optional part is left out, as the SDK does.
    assert b'name="description"' not in content
    assert audience.id == "aud1"


def test_call_logs_filter_by_campaign_with_the_documented_names():
    recorder = Recorder({"status": True, "data": {"logs": []}})

    recorder.client().list_call_logs(CAMPAIGN_ID, page=2, limit=20, attempts="retry")

    assert recorder.last.url.path == "/atoms/v1/conversation"
    assert dict(recorder.last.url.params) == {
        "campaignIds": CAMPAIGN_ID, "page": "2", "limit": "20", "callAttemptFilter": "retry"}


@pytest.mark.parametrize("bad_id", ["", "   ", None, "../audience", "a/b", "a?x=1", "a#b",
                                    "id\n", "65f0 c0ff", "%2e%2e", "a,b"])
@pytest.mark.parametrize(
    "call",
    [
        lambda client, value: client.get_campaign(value),
        lambda client, value: client.start_campaign(value),
        lambda client, value: client.pause_campaign(value),
        lambda client, value: client.delete_campaign(value),
        lambda client, value: client.get_agent(value),
        lambda client, value: client.get_audience(value),
        lambda client, value: client.delete_audience(value),
        lambda client, value: client.list_audience_members(value),
        lambda client, value: client.list_call_logs(value),
        lambda client, value: client.get_call(value),
    ],
    ids=["get_campaign", "start_campaign", "pause_campaign", "delete_campaign", "get_agent",
         "get_audience", "delete_audience", "list_audience_members", "list_call_logs",
         "get_call"],
)
def test_a_blank_or_unsafe_id_is_refused_before_any_request(call, bad_id):
    recorder = Recorder()

    with pytest.raises(ValueError):
        call(recorder.client(), bad_id)

    assert recorder.requests == []


def test_ids_of_the_documented_forms_reach_the_path_unchanged():
    recorder = Recorder({"status": True, "data": {"callId": "CALL-1737000000000-abc123"}})

    recorder.client().get_call("CALL-1737000000000-abc123")

    assert recorder.last.url.path == "/atoms/v1/conversation/CALL-1737000000000-abc123"


def test_the_key_is_not_in_the_client_repr():
    client = Recorder().client()

    assert API_KEY not in repr(client)
    assert "atoms.test" in repr(client)


def test_the_key_is_redacted_if_atoms_echoes_it_in_an_error():
    recorder = Recorder({"status": False, "errors": [f"Bad token {API_KEY} for org"]},
                        status=400)

    with pytest.raises(AtomsRejected) as caught:
        recorder.client().create_campaign("n", "agent1", "aud1", ["phone1"])

    error = caught.value
    for text in (str(error), repr(error), error.user_message, *error.messages):
        assert API_KEY not in text
    assert "Bad token" in error.messages[0]


def test_debug_logging_of_a_request_does_not_show_the_key(caplog):
    recorder = Recorder({"status": True, "data": []})

    with caplog.at_level(logging.DEBUG):
        recorder.client().list_phone_numbers()

    assert caplog.records, "expected the request to be logged at DEBUG"
    assert API_KEY not in caplog.text
    assert "/atoms/v1/product/phone-numbers" in caplog.text


def test_timestamps_have_millisecond_precision_in_utc():
    recorder = Recorder(CREATED, status=201)

    recorder.client().create_campaign(
        "n", "agent1", "aud1", ["phone1"],
        scheduled_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))

    assert json.loads(recorder.last.content)["scheduledAt"] == "2026-01-02T03:04:05.678Z"
