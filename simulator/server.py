"""HTTP front door: parsing, routing, auth, injected faults, and JSON-only errors."""

import hmac
import json
import re
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from . import (
    controls,
    routes_audiences,
    routes_calls,
    routes_campaigns,
    routes_dnc,
    routes_misc,
)
from .wire import ApiError, Request, Response, error_response, json_response

API_PREFIX = "/atoms/v1"
MAX_BODY = 32 * 1024 * 1024  # larger bodies are refused unread
UNMATCHED = "<unmatched>"


def _compile(routes):
    compiled = []
    for method, template, handler in routes:
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
        compiled.append((method, template, re.compile(pattern), handler))
    return compiled


ROUTES = _compile(
    routes_campaigns.ROUTES
    + routes_audiences.ROUTES
    + routes_calls.ROUTES
    + routes_misc.ROUTES
    + routes_dnc.ROUTES
)


def match(method: str, path: str):
    """(template, handler, params) for a path below the API prefix, else (None, None, {})."""
    for route_method, template, pattern, handler in ROUTES:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return template, handler, {k: unquote(v) for k, v in found.groupdict().items()}
    return None, None, {}


class BadBody(Exception):
    """The request body cannot be read; the connection is closed after the answer."""


class SimServer(ThreadingHTTPServer):
    daemon_threads = True  # a request parked by a timeout fault must not block shutdown
    # socketserver's default backlog of 5 drops the SYNs of a client opening dozens of
    # connections at once (each then waits a 1 s retransmit), which no real API does.
    request_queue_size = 256

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pollers reuse their connections
    server_version = "AtomsSimulator/1.0"
    sys_version = ""  # no interpreter banner in the Server header
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms
    # for a delayed ACK on every response.
    disable_nagle_algorithm = True
    timeout = 300  # seconds an idle keep-alive connection may hold a thread
    server: SimServer

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format, *args):
        """Silence the per-request access log; real failures are printed where they occur."""

    def send_error(self, code, message=None, explain=None):
        """The stdlib's own errors (bad request line, unknown method) as JSON, never HTML."""
        self.close_connection = True
        # A garbled request line leaves the version at HTTP/0.9, which would suppress the
        # status line and headers; a client deserves a real HTTP answer either way.
        self.request_version = "HTTP/1.0"
        text = message or HTTPStatus(code).phrase
        self._send(json_response(code, ApiError(code, text).body()))

    # --- pipeline ----------------------------------------------------------------------

    def _handle(self):
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        try:
            body = self._read_body()
        except BadBody as problem:
            self.close_connection = True
            self._send(error_response(ApiError(400, str(problem))))
            return
        if path.startswith("/_sim/"):
            response = self._control(path, body)
        elif path.startswith(routes_calls.RECORDING_PREFIX) and self.command == "GET":
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            response = routes_calls.serve_recording(self.server.app, path, query)
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            response = self._api(path.removeprefix(API_PREFIX), query, body)
        else:
            response = error_response(ApiError(404, "Resource not found"))
        if response is not None:
            self._send(response)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadBody("Invalid Content-Length header") from None
        if length > MAX_BODY:
            raise BadBody("Request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            try:
                size = int(self.rfile.readline(64).split(b";")[0], 16)
            except ValueError:
                raise BadBody("Malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers carry nothing we use
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise BadBody("Request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _json_body(self, body: bytes):
        content_type = self.headers.get("Content-Type", "").lower()
        if self.command == "GET" or not body.strip() or "multipart/" in content_type:
            return None  # bodies on GET are ignored, as Atoms does
        if content_type and "json" not in content_type:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise ApiError(400, "Invalid JSON in request body") from None

    def _control(self, path: str, body: bytes) -> Response:
        app = self.server.app
        handler = controls.ROUTES.get((self.command, path))
        if handler is None:
            return error_response(ApiError(404, f"Unknown control {self.command} {path}"))

        def control() -> Response:
            payload = self._json_body(body) or {}
            if not isinstance(payload, dict):
                raise ApiError(400, "Request body must be a JSON object")
            return handler(app, payload)

        return self._guarded(control)

    def _api(self, path: str, query: dict, body: bytes) -> Response | None:
        app = self.server.app
        template, handler, params = match(self.command, path)
        route = f"{self.command} {template or UNMATCHED}"
        faults = app.faults
        epoch = app.stats.epoch
        targeted = faults.targets(route)
        if targeted and faults.latency_ms:
            app.stopping.wait(faults.latency_ms / 1000)
        if targeted and faults.roll(faults.timeout_rate):
            # Hold the request past any client timeout, then drop it without an answer.
            app.stats.record(route, "timeout", epoch)
            app.stopping.wait(faults.timeout_seconds)
            self.close_connection = True
            return None
        response = self._answer(app, handler, params, query, body, targeted)
        if targeted and faults.roll(faults.drop_response_rate):
            # Atoms did the work, but the answer never reaches the client.
            app.stats.record(route, "dropped", epoch)
            app.stopping.wait(faults.timeout_seconds)
            self.close_connection = True
            return None
        app.stats.record(route, response.status, epoch)
        return response

    def _answer(self, app, handler, params, query, body, targeted) -> Response:
        faults = app.faults
        retry_after = faults.rate_limited()
        if retry_after is not None:
            limit = {"routeClass": "api", "limit": faults.rate_limit, "retryAfterSec": retry_after}
            payload = {"message": "Rate limit exceeded", "rateLimit": limit}
            return json_response(429, payload, {"Retry-After": str(retry_after)})
        if not self._authorized(app.config.api_key):
            return error_response(ApiError(401, "Unauthorized"))
        if targeted and faults.roll(faults.error_rate):
            status = faults.error_status
            return error_response(ApiError(status, "Internal server error" if status == 500
                                           else HTTPStatus(status).phrase))
        if handler is None:
            return error_response(ApiError(404, "Resource not found"))

        def api() -> Response:
            headers = {key.lower(): value for key, value in self.headers.items()}
            request = Request(query, headers, body, params=params)
            request.json = self._json_body(body)
            return app.run(handler, request)

        return self._guarded(api)

    def _guarded(self, action) -> Response:
        """Run a handler: its ApiError becomes that answer, any other failure a logged 500."""
        try:
            return action()
        except ApiError as error:
            return error_response(error)
        except Exception:
            print(f"Unhandled error in {self.command} {self.path}:", file=sys.stderr)
            traceback.print_exc()
            return error_response(ApiError(500, "Internal server error"))

    def _authorized(self, api_key: str) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        presented = token.strip().encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(presented, api_key.encode())

    def _send(self, response: Response) -> None:
        if response.stream is not None:
            self._send_stream(response)
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing left to tell it

    def _send_stream(self, response: Response) -> None:
        """Headers, then each chunk as it comes; the connection closes with the stream."""
        self.close_connection = True
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in response.stream(self.server.app):
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the subscriber left; the generator is dropped with this thread
