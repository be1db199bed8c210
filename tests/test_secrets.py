"""The Atoms key stays out of what we show and write down, in every form an echo may take
(case, url-encoding, base64), and reaches child processes by environment, never argv."""

import base64
import io
import json
import logging
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from campaigns.atoms import AtomsClient, AtomsRejected
from campaigns.atoms.redaction import redact
from campaigns.management.commands.rundemo import Command as RunDemo

KEY = "sk_Live-0123456789abcdefXYZ/+="


def variants(key: str) -> dict[str, str]:
    raw = key.encode()
    return {
        "exact": key,
        "upper": key.upper(),
        "lower": key.lower(),
        "url-encoded": quote(key, safe=""),
        "url-encoded, lower hex": quote(key, safe="").lower(),
        "base64": base64.b64encode(raw).decode(),
        "base64 url-safe": base64.urlsafe_b64encode(raw).decode(),
        "base64 in a Basic header": base64.b64encode(b"user:" + raw).decode(),
        "base64 of a Bearer header": base64.b64encode(b"Bearer " + raw).decode(),
    }


@pytest.mark.parametrize("form", list(variants(KEY)))
def test_every_form_of_the_key_is_redacted(form):
    echoed = variants(KEY)[form]
    text = redact(f"Bad token {echoed} for org", KEY)
    assert echoed not in text
    assert "[redacted]" in text and text.startswith("Bad token")
    # Not even a run of 12 characters of the encoded key survives.
    assert not any(echoed[i:i + 12] in text for i in range(len(echoed) - 11))


def test_text_without_the_key_is_left_alone():
    text = "Bad token c2stb3RoZXI= for org SK_OTHER"
    assert redact(text, KEY) == text


@pytest.mark.parametrize("form", ["upper", "url-encoded", "base64"])
def test_an_echo_from_atoms_never_reaches_the_error_a_person_sees(form):
    echoed = variants(KEY)[form]

    def answer(request):
        return httpx.Response(400, json={"status": False, "errors": [f"Bad token {echoed}"]})

    client = AtomsClient("http://atoms.test/atoms/v1", KEY, transport=httpx.MockTransport(answer))
    with pytest.raises(AtomsRejected) as caught:
        client.create_campaign("n", "agent1", "aud1", ["phone1"])
    error = caught.value
    for text in (str(error), repr(error), error.user_message, *error.messages):
        assert echoed not in text


def test_the_log_handler_redacts_every_form_in_messages_and_tracebacks(settings):
    settings.SMALLEST_API_KEY = KEY
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    for form, echoed in variants(KEY).items():
        try:
            raise ValueError(f"echo {echoed}")
        except ValueError:
            record = logging.getLogger("campaigns").makeRecord(
                "campaigns", logging.ERROR, __file__, 1, "Atoms said %s (%s)",
                (echoed, form), exc_info=sys.exc_info())
        assert handler.filter(record)
        line = handler.format(record)
        assert echoed not in line, form
        assert "[redacted]" in line


def test_rundemo_passes_the_key_by_environment_never_on_a_command_line(settings, tmp_path):
    settings.SMALLEST_API_KEY = KEY
    settings.SMALLEST_BASE_URL = "http://127.0.0.1:8765/atoms/v1"
    demo = RunDemo()
    children = demo.children("127.0.0.1", 8000, Path(tmp_path))
    assert [name for name, _ in children] == ["simulator", "web", "worker", "beat"]
    for _name, argv in children:
        assert not any(KEY in arg or "api-key" in arg for arg in argv)
    assert demo.child_env()["ATOMS_SIMULATOR_API_KEY"] == KEY


@pytest.mark.django_db
def test_a_403_is_logged_in_one_json_line_with_the_request_id(login_as):
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    client = login_as("manager")
    written = io.StringIO()
    previous = handler.setStream(written)
    try:
        answer = client.post("/campaigns/new/", headers={"X-Request-ID": "req-42"})
    finally:
        handler.setStream(previous)
    assert answer.status_code == 403
    assert answer["X-Request-ID"] == "req-42"
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    lines = [line for line in lines if line["logger"] == "django.request"]
    assert [line["message"] for line in lines] == ["Forbidden (Permission denied): /campaigns/new/"]
    assert lines[0]["request_id"] == "req-42" and "exception" not in lines[0]
