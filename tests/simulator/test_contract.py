"""Every simulator route, on success and on its documented errors, has what our client reads
(tests/contract/atoms_responses.json, in every clone) and matches the OpenAPI (when present)."""

import copy
import threading

import httpx
import pytest

from campaigns.atoms import calls, types
from simulator.server import ROUTES
from tests.simulator.contract import SPEC_PATH, ClientSchema, Contract
from tests.simulator.helpers import PILOT, Seeded, all_logs

UNKNOWN = "a" * 24
CSV = b"firstName,lastName,phoneNumber\nAsha,Rao,+919800000001\n"


@pytest.fixture(scope="module")
def contract():
    if not SPEC_PATH.exists():
        pytest.skip(f"the OpenAPI half of the contract needs {SPEC_PATH} (the client's own "
                    "schema, tests/contract/atoms_responses.json, is checked without it)")
    return Contract()


@pytest.fixture(scope="module")
def client_schema():
    return ClientSchema()


@pytest.fixture(scope="module")
def module_sim(simulator_process):
    """One freshly seeded world for the module: every test here only reads the answers
    `exercised` recorded once (the next module's `sim` reseeds it again)."""
    simulator_process.reset()
    return simulator_process


@pytest.fixture(scope="module")
def recorded(module_sim):
    """Clients (with and without the key) that keep every response for checking."""
    sim = module_sim
    responses: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        responses.append(response)

    hooks = {"response": [keep]}
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    with (
        httpx.Client(base_url=sim.base_url, headers=headers, event_hooks=hooks) as api,
        httpx.Client(base_url=sim.base_url, event_hooks=hooks) as anonymous,
    ):
        yield api, anonymous, responses


def exercise_campaigns(sim, api, seeded: Seeded) -> None:
    api.get("/campaign", params={"status": "bogus"})
    api.post("/campaign", json={})
    body = seeded.campaign_body(audienceId=seeded.audiences[PILOT]["_id"])
    campaign_id = api.post("/campaign", json=body).json()["data"]["_id"]
    draft_id = api.post("/campaign", json=body).json()["data"]["_id"]
    api.get(f"/campaign/{draft_id}/export/by-audience-member")  # null originalCall
    api.get("/campaign/not-an-id")
    api.get(f"/campaign/{UNKNOWN}")
    api.post(f"/campaign/{campaign_id}/pause")
    api.post(f"/campaign/{campaign_id}/start")
    api.post(f"/campaign/{campaign_id}/start")
    api.post(f"/campaign/{UNKNOWN}/start")
    sim.advance(3)
    api.get(f"/campaign/{campaign_id}")
    live = api.get("/conversation", params={"campaignIds": campaign_id, "callAttemptFilter": "all"})
    exercise_live_events(sim, api, live.json()["data"]["logs"][0]["callId"])
    api.post(f"/campaign/{campaign_id}/pause")
    api.post(f"/campaign/{UNKNOWN}/pause")
    api.delete(f"/campaign/{campaign_id}")
    sim.advance(3)
    api.get(f"/campaign/{campaign_id}")
    api.delete(f"/campaign/{campaign_id}")
    api.delete(f"/campaign/{UNKNOWN}")

    done = seeded.campaigns["Mumbai leads - first touch"]["_id"]
    api.get(f"/campaign/{done}")
    api.get(f"/campaign/{done}/export/by-audience-member")
    api.get(f"/campaign/{done}/export/by-audience-member", params={"format": "csv"})
    api.get(f"/campaign/{UNKNOWN}/export/by-audience-member")
    api.get("/campaign/bad/export/by-audience-member")
    api.get(f"/campaign/{done}/logs/export")
    api.get(f"/campaign/{UNKNOWN}/logs/export")


def exercise_live_events(sim, api, call_id: str) -> None:
    """A stream ends with its call: move the clock until it has, while the client reads."""
    api.get("/events")
    api.get("/events", params={"callId": "CALL-1737000000000-abc123"})
    reading = threading.Event()

    def hang_up():
        reading.wait(5)
        for _ in range(200):
            if not reading.is_set():
                return
            sim.advance(5)
            threading.Event().wait(0.02)

    mover = threading.Thread(target=hang_up)
    mover.start()
    reading.set()
    api.get("/events", params={"callId": call_id}, timeout=30)
    reading.clear()
    mover.join()
    api.get("/events", params={"callId": call_id})  # ended: 400


def exercise_failed_campaign(sim, api, seeded: Seeded) -> None:
    phone = next(p for p in seeded.phones if p["isActive"])
    body = seeded.campaign_body(phoneNumberIds=[phone["_id"]])
    campaign_id = api.post("/campaign", json=body).json()["data"]["_id"]
    sim.set_number_active(phone["attributes"]["phoneNumber"], False)
    api.post(f"/campaign/{campaign_id}/start")
    sim.advance(3)
    assert api.get(f"/campaign/{campaign_id}").json()["data"]["campaign"]["status"] == "failed"
    api.get("/campaign", params={"status": "failed"})
    sim.set_number_active(phone["attributes"]["phoneNumber"], True)


def exercise_audiences(api, seeded: Seeded) -> None:
    form = {"name": "Contract", "phoneNumberColumnName": "phoneNumber"}
    fresh = api.post("/audience", data=form, files={"file": ("c.csv", CSV, "text/csv")})
    fresh_id = fresh.json()["data"]["_id"]
    api.post(
        "/audience", data={**form, "phoneNumberColumnName": "x"}, files={"file": ("c.csv", CSV)}
    )
    used = seeded.audiences[PILOT]["_id"]
    api.get(f"/audience/{fresh_id}")
    api.get("/audience/bad")
    api.get(f"/audience/{UNKNOWN}")
    api.get(f"/audience/{used}/members")
    api.get(f"/audience/{used}/members", params={"page": 0})
    api.get(f"/audience/{UNKNOWN}/members")
    api.get(f"/audience/{used}/members/search", params={"query": "a"})
    api.get(f"/audience/{used}/members/search", params={"firstName": "a"})
    api.get(f"/audience/{used}/members/search")
    api.get(f"/audience/{UNKNOWN}/members/search", params={"query": "a"})
    api.post(f"/audience/{fresh_id}/members", json={"members": [{"phoneNumber": "+15550001"}]})
    api.post(f"/audience/{fresh_id}/members", json={"members": [{"name": "no phone"}]})
    api.post(f"/audience/{UNKNOWN}/members", json={"members": [{"phoneNumber": "1"}]})
    member = api.get(f"/audience/{fresh_id}/members").json()["data"]["members"][0]["_id"]
    api.request("DELETE", f"/audience/{fresh_id}/members", json={"memberIds": [member]})
    api.request("DELETE", f"/audience/{fresh_id}/members", json={"memberIds": []})
    api.request("DELETE", f"/audience/{UNKNOWN}/members", json={"memberIds": [member]})
    api.delete(f"/audience/{used}")
    api.delete(f"/audience/{fresh_id}")
    api.delete(f"/audience/{UNKNOWN}")


def exercise_agents_and_calls(api, seeded: Seeded) -> None:
    api.get("/agent", params={"type": "bogus"})
    api.get(f"/agent/{next(iter(seeded.agents.values()))['_id']}")
    api.get(f"/agent/{UNKNOWN}")
    done = seeded.campaigns["Mumbai leads - first touch"]["_id"]
    logs = all_logs(api, done)
    api.get(f"/conversation/{next(log for log in logs if log['status'] == 'completed')['callId']}")
    api.get(f"/conversation/{next(log for log in logs if log['status'] != 'completed')['callId']}")
    api.get("/conversation", params={"page": 0})
    api.get("/conversation/CALL-1737000000000-abc123")
    api.get("/conversation/not-a-call")
    talked = next(log for log in logs if log["status"] == "completed")["callId"]
    silent = next(log for log in logs if log["status"] == "failed")["callId"]
    api.get(f"/conversation/{talked}/retries")
    api.get("/conversation/CALL-1737000000000-abc123/retries")
    api.get(f"/conversation/{talked}/recording/download-url")
    api.get(f"/conversation/{silent}/recording/download-url")
    api.get("/conversation/not-a-call/recording/download-url")
    api.get("/dnc", params={"offset": "1", "page": "2"})
    api.get("/dnc", params={"agentId": "bad"})
    api.get("/dnc", params={"agentId": UNKNOWN})


@pytest.fixture(scope="module")
def exercised(module_sim, recorded) -> list[httpx.Response]:
    """Every route on success and on its errors, with and without the key, once."""
    sim = module_sim
    api, anonymous, responses = recorded
    seeded = Seeded.fetch(api)
    exercise_campaigns(sim, api, seeded)
    exercise_failed_campaign(sim, api, seeded)
    exercise_audiences(api, seeded)
    exercise_agents_and_calls(api, seeded)
    for method, template, _pattern, _handler in ROUTES:
        anonymous.request(method, template.replace("{id}", UNKNOWN))
    return responses


def test_every_response_the_client_reads_has_every_field_it_reads(client_schema, exercised):
    seen = {key for key in map(client_schema.check, exercised) if key}
    answered = {(method, template) for method, template, status in seen if status < 300}
    refused = {(method, template) for method, template, status in seen if status >= 400}
    assert answered == refused == client_schema.routes()


def test_every_route_the_client_calls_is_a_simulator_route(client_schema):
    routes = {(method, template) for method, template, _pattern, _handler in ROUTES}
    assert client_schema.routes() <= routes


# Fields the client reads, one or more per route, each dropped from a real answer in turn.
READ_FIELDS = [
    ("GET /product/phone-numbers", ["data", 0, "attributes", "phoneNumber"]),
    ("GET /product/phone-numbers", ["data", 0, "isActive"]),
    ("GET /agent", ["data", "agents", 0, "name"]),
    ("GET /agent", ["data", "hasMore"]),
    ("GET /audience", ["data", 0, "memberCount"]),
    ("GET /audience", ["data", 0, "campaigns", 0, "name"]),
    ("GET /audience/{id}/members", ["data", "members", 0, "data"]),
    ("POST /audience/{id}/members", ["data", 0, "data", "added"]),
    ("DELETE /audience/{id}/members", ["data", "deletedCount"]),
    ("GET /dnc", ["data", "entries", 0, "phoneNumber"]),
    ("GET /dnc", ["data", "pagination", "totalPages"]),
    ("GET /campaign", ["data", "campaigns", 0, "status"]),
    ("GET /campaign", ["data", "campaigns", 0, "agent", "name"]),
    ("GET /campaign", ["data", "totalCampaignCount"]),
    ("POST /campaign", ["data", "_id"]),
    ("POST /campaign", ["data", "audienceId"]),
    ("GET /campaign/{id}", ["data", "metrics", "contacts_called"]),
    ("GET /campaign/{id}", ["data", "campaign", "executions"]),
    ("GET /campaign/{id}", ["data", "events", 0, "eventAction"]),
    ("GET /campaign/{id}/export/by-audience-member", ["data", 0, "phoneNumber"]),
    ("GET /conversation", ["data", "logs", 0, "callId"]),
    ("GET /conversation/{id}", ["data", "transcript", 0, "content"]),
    ("POST /campaign/{id}/start", ["status"]),
]


def _answers(client_schema, responses) -> dict[str, list[dict]]:
    """The 2xx bodies of each client route, fullest first (lists that have an item)."""
    found: dict[str, list[dict]] = {}
    for response in responses:
        key = client_schema.check(response)
        if key and key[2] < 300:
            found.setdefault(f"{key[0]} {key[1]}", []).append(response.json())
    return found


def _drop(body, path) -> bool:
    node = body
    try:
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True


@pytest.mark.parametrize(("route", "path"), READ_FIELDS,
                         ids=[f"{route} {'.'.join(map(str, path))}" for route, path in READ_FIELDS])
def test_a_simulator_answer_without_a_field_the_client_reads_fails(
        client_schema, exercised, route, path):
    bodies = _answers(client_schema, exercised)[route]
    body = next(copy.deepcopy(b) for b in bodies if _drop(copy.deepcopy(b), path))
    client_schema.validate(f"/responses/{route.replace('/', '~1')}", body, route)  # as sent
    assert _drop(body, path)
    with pytest.raises(AssertionError, match="lacks what the client reads"):
        client_schema.validate(f"/responses/{route.replace('/', '~1')}", body, route)


def test_an_error_without_its_messages_fails(client_schema):
    client_schema.validate("/$defs/error", {"status": False, "errors": ["No agent found"]}, "ok")
    with pytest.raises(AssertionError, match="errors"):
        client_schema.validate("/$defs/error", {"status": False, "message": "x"}, "error")


def test_every_route_answers_within_the_contract(sim, contract, exercised):
    responses = exercised
    seen = [contract.check(response) for response in responses]

    kinds: dict[tuple[str, str], set[int]] = {}
    for method, template, status in seen:
        kinds.setdefault((method, template), set()).add(status // 100)
    for method, template, _pattern, _handler in ROUTES:
        assert kinds.get((method, template), set()) >= {2, 4}, (
            method,
            template,
            kinds.get((method, template)),
        )


def test_contract_check_catches_a_wrong_shape(sim, contract):
    """Guard against a checker that passes everything."""
    request = httpx.Request("GET", sim.base_url + "/campaign")
    wrong = httpx.Response(200, json={"status": True, "data": {"campaigns": {}}}, request=request)
    with pytest.raises(AssertionError, match="campaigns"):
        contract.check(wrong)
    bad_time = {"status": True, "data": [{"createdAt": "2025-01-01 10:00"}]}
    phones = httpx.Request("GET", sim.base_url + "/product/phone-numbers")
    with pytest.raises(AssertionError, match="date-time"):
        contract.check(httpx.Response(200, json=bad_time, request=phones))


class Reads(dict):
    """A JSON object that notes which of its keys a parser reads (and finds present)."""

    def __init__(self, value: dict, path: tuple, seen: set):
        super().__init__({key: _wrap(item, (*path, key), seen) for key, item in value.items()})
        self._path, self._seen = path, seen

    def get(self, key, default=None):
        if key in self.keys():
            self._seen.add((*self._path, key))
        return super().get(key, default)

    def __getitem__(self, key):
        self._seen.add((*self._path, key))
        return super().__getitem__(key)


def _wrap(value, path: tuple, seen: set):
    if isinstance(value, dict):
        return Reads(value, path, seen)
    if isinstance(value, list):
        return [_wrap(item, (*path, "[]"), seen) for item in value]
    return value


# Each parser of campaigns/atoms/types.py and calls.py, fed the part of a real answer the
# client gives it.
PARSERS = [
    ("GET /product/phone-numbers", ("data", 0), types.parse_phone_number),
    ("GET /agent", ("data", "agents", 0), types.parse_agent),
    ("GET /agent/{id}", ("data",), types.parse_agent),
    ("GET /audience", ("data", 0), types.parse_audience),
    ("GET /audience/{id}", ("data",), types.parse_audience),
    ("POST /audience", ("data",), types.parse_audience),
    ("GET /audience/{id}/members", ("data", "members", 0), types.parse_audience_member),
    ("GET /audience/{id}/members/search", ("data", "members", 0), types.parse_audience_member),
    ("GET /dnc", ("data", "entries", 0), types.parse_dnc_entry),
    ("GET /campaign", ("data", "campaigns", 0), types.parse_campaign),
    ("POST /campaign", ("data",), types.parse_campaign),
    ("GET /campaign/{id}", ("data",), types.parse_campaign_detail),
    ("GET /campaign/{id}/export/by-audience-member", ("data", 0),
     types.parse_campaign_contact),
    ("GET /conversation", ("data", "logs", 0), calls.parse_call_log),
    ("GET /conversation/{id}", ("data",), calls.parse_call_detail),
]


def _declares(schema: ClientSchema, node: dict, path: tuple) -> bool:
    """Whether the schema at `node` declares the property path (through $ref and allOf)."""
    if "$ref" in node:
        return _declares(schema, schema.document["$defs"][node["$ref"].rsplit("/", 1)[1]], path)
    if not path:
        return True
    branches = node.get("allOf", []) + node.get("anyOf", [])
    if any(_declares(schema, branch, path) for branch in branches):
        return True
    head, rest = path[0], path[1:]
    if head == "[]" or isinstance(head, int):
        return "items" in node and _declares(schema, node["items"], rest)
    prop = node.get("properties", {}).get(head)
    if prop is None:
        return False
    if isinstance(prop.get("additionalProperties"), dict):  # a free-form map (member data)
        return True
    return _declares(schema, prop, rest)


@pytest.mark.parametrize(("route", "where", "parse"), PARSERS,
                         ids=[f"{route} {parse.__name__}" for route, _where, parse in PARSERS])
def test_every_field_a_parser_reads_from_a_simulator_answer_is_in_our_schema(
        client_schema, exercised, route, where, parse):
    answers = _answers(client_schema, exercised)[route]
    body = next(b for b in answers if _at(b, where))  # one with an item to parse
    seen: set = set()
    parse(_wrap(_at(body, where), where, seen))
    assert seen, "the parser read nothing: the wrapper is not seeing its reads"
    root = client_schema.document["responses"][route]
    undeclared = sorted(".".join(map(str, path)) for path in seen
                        if not _declares(client_schema, root, path))
    assert undeclared == [], f"{route}: add these to tests/contract/atoms_responses.json"


def _at(body, where: tuple):
    node = body
    try:
        for step in where:
            node = node[step]
    except (KeyError, IndexError, TypeError):
        return None
    return node
