"""Log lines: the Atoms key never in them, JSON in production, a request id on each.

- `RedactKeyFilter` (on the console handler) rewrites every record with the key in any
  form `campaigns.atoms.redaction` knows, whatever logged it (our code, httpx, Celery),
  and keeps a refused request (403, 429) to its one line.
- `JsonFormatter` writes one JSON object per line (LOG_FORMAT=json, the default when
  DEBUG is off), which log collectors parse without guessing.
- `RequestIdMiddleware` takes X-Request-ID from the proxy (or makes one), returns it, and
  puts it on every line logged while the request runs.
- Records hold text, never an exception (`_records_hold_no_exceptions`).
"""

import contextvars
import json
import logging
import re
import time
import uuid

from django.conf import settings

from campaigns.atoms.redaction import redact

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# What we accept from outside as a request id: short, and nothing that could forge a line.
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _records_hold_no_exceptions(make_record):
    """A record keeps what it will print, not the exception: an exception's traceback
    holds every frame it passed through with their locals (the request, its database
    connection) for as long as the record lives, and handlers that keep records (pytest's
    log capture, a memory handler) kept a test's database session open past its end."""
    def make(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if isinstance(record.args, tuple) and any(
                isinstance(arg, BaseException) for arg in record.args):
            record.args = tuple(str(arg) if isinstance(arg, BaseException) else arg
                                for arg in record.args)
        return record
    return make


logging.setLogRecordFactory(_records_hold_no_exceptions(logging.getLogRecordFactory()))


class RedactKeyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and getattr(record, "status_code", 0) in (403, 429):
            # A refusal is expected and says all in its message: one line, no traceback.
            record.exc_info, record.exc_text = None, None
        if record.name.startswith("django.security."):
            # A request Django refused as suspicious (a bad Host, too many fields, a broken
            # form) is the client's doing, not an error of ours: one warning line. As an
            # ERROR with a traceback, anyone could fill the log and its alerts with them.
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        secret = getattr(settings, "SMALLEST_API_KEY", "")
        message = record.getMessage()
        cleaned = redact(message, secret)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secret)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    converter = time.gmtime  # the "Z" in the time says UTC

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", ""):
            line["request_id"] = record.request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)




class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        rid = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = rid
        return response
