"""SIGTERM to a real uvicorn with open live streams: the streams end and the process exits
within 5 s (an orchestrator kills it at 10, losing what it was writing)."""

import signal
import time

import pytest
from django.urls import reverse

from dashboard.processes import session_cookie, start_web_server
from tests.campaign_factory import make_campaign
from tests.sse_client import Stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.mark.parametrize("trial", range(3))
def test_sigterm_with_open_streams_exits_within_5_seconds(
        simulator_process, sim, atoms_settings, users, trial):
    campaign = make_campaign(sim, users["staff"], "running", audience_size=50)
    server = start_web_server(simulator_process)
    url = f"{server.url}{reverse('live_stream')}?kind=detail&ids={campaign.pk}"
    cookies = session_cookie(users["manager"])
    # One stream opened and closed first: that is what used to leave uvicorn waiting.
    first = Stream(url, cookies)
    first.next(event=f"detail-{campaign.pk}")
    first.close()
    streams = [Stream(url, cookies) for _ in range(3)]
    try:
        for stream in streams:
            stream.next(event=f"detail-{campaign.pk}")
        started = time.monotonic()
        server.process.popen.send_signal(signal.SIGTERM)
        try:
            code = server.process.popen.wait(timeout=10)
        except Exception:
            server.process.popen.kill()
            raise
        took = time.monotonic() - started
        print(f"SIGTERM with {len(streams)} open streams: exited in {took:.2f} s")
        assert took < 5, f"exited after {took:.1f} s:\n{server.process.output()}"
        # uvicorn re-raises the signal after its graceful shutdown: -15 is a clean exit.
        assert code in (0, -signal.SIGTERM), server.process.output()
        assert "Cancel" not in server.process.output()  # not cut short by a timeout
        for stream in streams:
            stream._thread.join(timeout=2)
            assert not stream._thread.is_alive(), "a stream outlived the server"
    finally:
        for stream in streams:
            stream.close()
        server.process.stop()
