"""Bad input of every kind gets a JSON answer and the server stays up."""

import json
import socket
import threading
from urllib.parse import urlsplit

import httpx
import pytest

from simulator import server
from simulator.runtime import Config, Simulator
from tests.simulator.helpers import PILOT, Seeded


def assert_json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    # GET /audience/{id}/members documents "status": "error" for its 400s.
    assert body["status"] in (False, "error") and body["errors"], body


def raw_exchange(sim, payload: bytes) -> bytes:
    url = urlsplit(sim.root_url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as connection:
        connection.sendall(payload)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/campaign"),
        ("POST", "/campaign/" + "a" * 24 + "/start"),
        ("DELETE", "/audience/x/members"),
    ],
)
def test_malformed_json_is_a_400(api, method, path):
    headers = {"Content-Type": "application/json"}
    response = api.request(method, path, content=b'{"name": ', headers=headers)
    assert_json_error(response, 400)
    assert response.json()["errors"] == ["Invalid JSON in request body"]


def test_json_body_without_content_type_is_still_read(api, seeded):
    body = json.dumps(seeded.campaign_body()).encode()
    response = api.post("/campaign", content=body, headers={"Content-Type": ""})
    assert response.status_code == 201


def test_a_body_on_get_is_ignored(api):
    response = api.request(
        "GET", "/campaign", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/campaign/123",
        "/campaign/ZZZZZZZZZZZZZZZZZZZZZZZZ",
        "/campaign/" + "a" * 25,
        "/campaign/%00",
        "/audience/short",
        "/audience/short/members",
        "/conversation/CALL-1-2",
    ],
)
def test_bad_ids_are_a_400(api, path):
    assert_json_error(api.get(path), 400)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/campaign/" + "a" * 24 + "/stop"),
        ("POST", "/campaign/" + "a" * 24 + "/stop"),
        ("PUT", "/campaign"),
        ("PATCH", "/campaign/" + "a" * 24),
        ("GET", ""),
    ],
)
def test_unknown_routes_are_a_json_404(api, method, path):
    assert_json_error(api.request(method, path), 404)


def test_paths_outside_the_api_are_a_json_404(sim):
    assert_json_error(httpx.get(sim.root_url + "/"), 404)
    assert_json_error(httpx.get(sim.root_url + "/_sim/nope"), 404)


def test_a_trailing_slash_reaches_the_same_route(api):
    # GET /campaign/ is the list endpoint (the SDK guards against an empty id for this reason)
    assert "campaigns" in api.get("/campaign/").json()["data"]


def test_unsupported_methods_get_json_not_html(sim):
    response = httpx.request("OPTIONS", sim.base_url + "/campaign")
    assert_json_error(response, 501)


def test_a_garbage_request_line_gets_a_json_400(sim):
    answer = raw_exchange(sim, b"THIS IS NOT HTTP\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"application/json" in head
    assert b'"status":false' in body


def test_a_bad_content_length_gets_a_json_400(sim):
    request = (
        b"POST /atoms/v1/campaign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sim-key\r\n"
        b"Content-Length: lots\r\n\r\n"
    )
    answer = raw_exchange(sim, request)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Invalid Content-Length header" in answer


def test_a_chunked_body_is_read(api, seeded):
    payload = json.dumps(seeded.campaign_body()).encode()
    halves = iter([payload[:20], payload[20:]])
    response = api.post("/campaign", content=halves, headers={"Content-Type": "application/json"})
    assert response.status_code == 201


def test_an_upload_over_five_megabytes_is_a_json_400_and_the_server_lives(api):
    big = b"firstName,phoneNumber\n" + b"x" * (5 * 1024 * 1024 + 1)
    form = {"name": "Too big", "phoneNumberColumnName": "phoneNumber"}
    response = api.post("/audience", data=form, files={"file": ("big.csv", big, "text/csv")})
    assert_json_error(response, 400)
    assert response.json()["errors"] == ["CSV file must be at most 5 MB"]
    assert api.get("/audience").status_code == 200


def test_a_body_over_the_hard_cap_is_refused_unread(sim):
    request = (
        b"POST /atoms/v1/audience HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sim-key\r\n"
        b"Content-Length: 999999999\r\n\r\n"
    )
    answer = raw_exchange(sim, request)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Request body too large" in answer and b"Connection: close" in answer


def test_twenty_threads_at_once_get_answers_and_the_server_stays_up(sim, api):
    seeded = Seeded.fetch(api)
    body = seeded.campaign_body(audienceId=seeded.audiences[PILOT]["_id"])
    problems: list[str] = []
    expected = {
        "list": {200},
        "create": {201},
        "start": {202, 400},
        "pause": {200, 400},
        "detail": {200},
        "calls": {200},
        "bad": {400},
    }

    def worker(index: int) -> None:
        headers = {"Authorization": f"Bearer {sim.api_key}"}
        with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10) as client:
            for round_ in range(10):
                created = client.post("/campaign", json={**body, "name": f"t{index}-{round_}"})
                campaign_id = created.json()["data"]["_id"]
                answers = {
                    "create": created,
                    "list": client.get("/campaign", params={"offset": 50}),
                    "start": client.post(f"/campaign/{campaign_id}/start"),
                    "detail": client.get(f"/campaign/{campaign_id}"),
                    "pause": client.post(f"/campaign/{campaign_id}/pause"),
                    "calls": client.get("/conversation", params={"callAttemptFilter": "all"}),
                    "bad": client.post("/campaign", json={"name": ""}),
                }
                for name, response in answers.items():
                    if response.status_code not in expected[name]:
                        problems.append(f"{name}: {response.status_code} {response.text[:200]}")
                    response.json()  # every answer is JSON

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for _ in range(5):
        sim.advance(2)  # let the clock move under the load too
    for thread in threads:
        thread.join(timeout=60)
    assert not problems, problems[:5]
    total = api.get("/campaign").json()["data"]["totalCampaignCount"]
    assert total == 4 + 20 * 10
    assert httpx.get(sim.root_url + "/_sim/health").status_code == 200


def test_a_crashing_handler_answers_a_json_500_and_is_logged(monkeypatch, capsys):
    """In-process, to plant a handler that raises; the real server code does the rest."""

    def boom(world, request):
        raise RuntimeError("kaboom")

    routes = [(m, t, p, boom if t == "/agent" else h) for m, t, p, h in server.ROUTES]
    monkeypatch.setattr(server, "ROUTES", routes)
    app = Simulator(Config(speed=0, start_ms=1_741_770_000_000))
    httpd = server.SimServer(("127.0.0.1", 0), app)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/atoms/v1"
    headers = {"Authorization": "Bearer sim-key"}
    try:
        crashed = httpx.get(base + "/agent", headers=headers)
        healthy = httpx.get(base + "/campaign", headers=headers)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert crashed.status_code == 500
    assert crashed.json() == {"status": False, "errors": ["Internal server error"]}
    assert healthy.status_code == 200
    logged = capsys.readouterr().err
    assert "Unhandled error in GET /atoms/v1/agent" in logged and "RuntimeError: kaboom" in logged
