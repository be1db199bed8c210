"""Production processes log JSON lines, the worker too (not Celery's own format)."""

import json
import time
from pathlib import Path

import httpx
import pytest

from dashboard.processes import start_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_a_worker_logs_json_lines_through_the_redacting_handler(simulator_process):
    worker = start_worker(simulator_process, beat=True)
    worker.stop()
    # Its log file and beat schedule are gone with it; what it wrote is still readable.
    assert not Path(worker.log.name).exists() and not worker.scratch.exists()
    output = worker.output(tail=10**6)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    ready = [line for line in lines if line["message"].endswith(" ready.")]
    assert ready and ready[0]["level"] == "INFO", output[-2000:]
    assert {"time", "level", "logger", "message"} <= set(ready[0])


def test_a_request_refused_as_suspicious_is_one_warning_line(web_server):
    """A bad Host header (or too many fields, a broken form) was logged as an ERROR with a
    whole traceback: anyone could fill the log, and its alerts, with them."""
    before = len(web_server.process.output(tail=10**7))
    assert httpx.get(f"{web_server.url}/campaigns/",
                     headers={"Host": "evil.example"}).status_code == 400
    time.sleep(0.3)  # the line is written after the answer
    written = web_server.process.output(tail=10**7)[before:]
    assert "Invalid HTTP_HOST header" in written
    assert "Traceback" not in written and "ERROR" not in written
