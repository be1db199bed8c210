"""Production processes log JSON lines, the worker too (not Celery's own format)."""

import json
from pathlib import Path

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
