"""Check simulator responses against what the client reads and against the Atoms OpenAPI.

`ClientSchema` is the project's own schema (tests/contract/atoms_responses.json) of every
response the client reads, so the check runs in any clone. `Contract` is the published
OpenAPI 3.0 definition, which lives outside the repository (CI has it beside the clone).
"""

import json
import re
from pathlib import Path

import httpx
import yaml
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4, DRAFT202012

from tests.simulator.helpers import JS_TIME

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / ".." / "shared" / "atoms-openapi.yaml"
CLIENT_SCHEMA_PATH = ROOT / "tests" / "contract" / "atoms_responses.json"
URN = "urn:atoms-openapi"
CLIENT_URN = "urn:atoms-client-responses"
API_PREFIX = "/atoms/v1"

# Statuses the definition does not declare for a route, each a documented simulator choice.
UNDECLARED = {
    ("GET", "/campaign/{id}", 404): "well-formed unknown id (atoms-api.md §17)",
    ("POST", "/campaign/{id}/pause", 404): "well-formed unknown id (atoms-api.md §17)",
    ("GET", "/campaign/{id}/export/by-audience-member", 400): "malformed id or format",
    ("GET", "/campaign/{id}/export/by-audience-member", 401): "every route needs the key",
    ("GET", "/campaign/{id}/logs/export", 401): "every route needs the key",
}
# Media types the definition only describes in prose.
UNDECLARED_MEDIA = {
    ("GET", "/campaign/{id}/export/by-audience-member", "text/csv"): "format=csv (description)",
}


def _openapi_to_jsonschema(node):
    """OpenAPI 3.0 `nullable: true` means the value may also be null."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _openapi_to_jsonschema(value) for key, value in node.items()}
    if converted.get("nullable") is True:
        del converted["nullable"]
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _js_dates() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def js_time(value) -> bool:  # stricter than RFC 3339: the simulator's chosen shape
        return not isinstance(value, str) or bool(JS_TIME.fullmatch(value))

    return checker


class Templates:
    """Which path template (e.g. /campaign/{id}) a request path belongs to."""

    def __init__(self, templates):
        # Literal paths win over templated ones (/conversation/search vs /conversation/{id}).
        self.templates = sorted(set(templates), key=lambda t: (t.count("{"), t))
        self.patterns = {
            t: re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(t))) for t in self.templates
        }

    def match(self, path: str) -> str | None:
        for template in self.templates:
            if self.patterns[template].fullmatch(path):
                return template
        return None


def _route(response: httpx.Response) -> tuple[str, str]:
    return response.request.method, response.request.url.path.removeprefix(API_PREFIX).rstrip("/")


def _problems(validator, body) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(body)]


class ClientSchema:
    """The responses the client reads, as tests/contract/atoms_responses.json declares them."""

    def __init__(self, path: Path = CLIENT_SCHEMA_PATH):
        self.document = json.loads(path.read_text())
        Draft202012Validator.check_schema(self.document)
        self.registry = Registry().with_resource(
            CLIENT_URN, DRAFT202012.create_resource(self.document))
        self.formats = _js_dates()
        routes = [key.split(" ", 1) for key in self.document["responses"]]
        self.templates = Templates(template for _method, template in routes)

    def routes(self) -> set[tuple[str, str]]:
        return {tuple(key.split(" ", 1)) for key in self.document["responses"]}

    def check(self, response: httpx.Response) -> tuple[str, str, int] | None:
        """Assert a response the client reads has every field it reads, of the right type;
        returns (method, template, status), or None for a route the client never calls."""
        method, path = _route(response)
        template = self.templates.match(path)
        key = f"{method} {template}"
        if template is None or key not in self.document["responses"]:
            return None
        if response.request.url.params.get("format") == "csv":
            return None  # the export's CSV form is handed to the person as it comes, unread
        status = response.status_code
        pointer = (f"/responses/{_escape(key)}" if 200 <= status < 300 else "/$defs/error")
        assert response.headers["content-type"].startswith("application/json"), (key, status)
        self.validate(pointer, response.json(), f"{key} {status}")
        return method, template, status

    def validate(self, pointer: str, body, what: str) -> None:
        validator = Draft202012Validator({"$ref": f"{CLIENT_URN}#{pointer}"},
                                         registry=self.registry, format_checker=self.formats)
        problems = _problems(validator, body)
        assert not problems, f"{what} lacks what the client reads:\n" + "\n".join(problems)


class Contract:
    def __init__(self, path: Path = SPEC_PATH):
        self.spec = _openapi_to_jsonschema(yaml.safe_load(path.read_text()))
        self.registry = Registry().with_resource(URN, DRAFT4.create_resource(self.spec))
        self.formats = _js_dates()
        self.templates = Templates(self.spec["paths"])

    def template(self, path: str) -> str:
        template = self.templates.match(path)
        if template is None:
            raise AssertionError(f"{path} is not a path of the Atoms API")
        return template

    def check(self, response: httpx.Response) -> tuple[str, str, int]:
        """Assert the response matches the definition; returns (method, template, status)."""
        method, path = _route(response)
        template = self.template(path)
        operation = self.spec["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not in the definition"
        status = response.status_code
        key = (method, template, status)
        pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{status}"
        declared = operation["responses"].get(str(status))
        if declared is None:
            assert key in UNDECLARED or status in (401, 500), f"undeclared {key}"
            self._error_envelope(response)
            return key
        if "$ref" in declared:
            pointer = declared["$ref"].removeprefix("#")
            declared = self._resolve(pointer)
        content = declared.get("content")
        media_type = response.headers["content-type"].split(";")[0]
        if not content:  # declared without a body schema: the usual error envelope
            self._error_envelope(response)
        elif (method, template, media_type) in UNDECLARED_MEDIA:
            assert response.content, key
        elif "application/json" in content:
            assert response.headers["content-type"].startswith("application/json"), key
            schema_ref = f"{URN}#{pointer}/content/application~1json/schema"
            validator = Draft4Validator(
                {"$ref": schema_ref}, registry=self.registry, format_checker=self.formats
            )
            problems = _problems(validator, response.json())
            assert not problems, f"{key} breaks the contract:\n" + "\n".join(problems)
        else:
            (media_type,) = content
            assert response.headers["content-type"].startswith(media_type), key
        return key

    def _resolve(self, pointer: str) -> dict:
        node = self.spec
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    @staticmethod
    def _error_envelope(response: httpx.Response) -> None:
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["status"] is False, body
        assert body["errors"] and all(isinstance(e, str) for e in body["errors"]), body
