"""Check simulator responses against the published Atoms OpenAPI 3.0 definition."""

import re
from pathlib import Path

import httpx
import yaml
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4

from tests.simulator.helpers import JS_TIME

SPEC_PATH = Path(__file__).resolve().parents[2] / ".." / "shared" / "atoms-openapi.yaml"
URN = "urn:atoms-openapi"
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


class Contract:
    def __init__(self, path: Path = SPEC_PATH):
        self.spec = _openapi_to_jsonschema(yaml.safe_load(path.read_text()))
        self.registry = Registry().with_resource(URN, DRAFT4.create_resource(self.spec))
        self.formats = _js_dates()
        # Literal paths win over templated ones (/conversation/search vs /conversation/{id}).
        self.templates = sorted(self.spec["paths"], key=lambda t: (t.count("{"), t))
        self.patterns = {
            t: re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(t))) for t in self.templates
        }

    def template(self, path: str) -> str:
        for template in self.templates:
            if self.patterns[template].fullmatch(path):
                return template
        raise AssertionError(f"{path} is not a path of the Atoms API")

    def check(self, response: httpx.Response) -> tuple[str, str, int]:
        """Assert the response matches the definition; returns (method, template, status)."""
        method = response.request.method
        path = response.request.url.path.removeprefix(API_PREFIX).rstrip("/")
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
            problems = [
                f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
                for error in validator.iter_errors(response.json())
            ]
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
