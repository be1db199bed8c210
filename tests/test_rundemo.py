"""The one-command demo says in one line what is missing before it starts anything."""

import os
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.connections import redis_client
from campaigns.live import publish
from campaigns.management.commands.rundemo import Supervisor, forget_live_cache
from dashboard.processes import free_port


def test_without_redis_the_demo_stops_with_the_command_that_fixes_it(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(CommandError) as refused:
        call_command("rundemo")
    message = str(refused.value)
    assert message.startswith(f"Redis is not reachable at {settings.REDIS_URL}")
    assert "redis-server" in message
    assert "\n" not in message


def test_the_demo_runs_like_production_and_keeps_real_time():
    """`make run` shows friendly error pages, never Django's debug pages (DEBUG off), and
    its simulator dials fast on a real-time clock instead of running its clock 30x."""
    from pathlib import Path

    from django.conf import settings

    from campaigns.management.commands import rundemo

    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "DEBUG=1" not in recipe and "DEMO_MODE=1" in recipe
    source = Path(rundemo.__file__).read_text()
    assert '"--pace"' in source and '"--speed"' not in source



@pytest.mark.django_db
def test_a_demo_start_forgets_the_live_cache_a_run_before_it_left(settings):
    """Its campaign numbers may belong to another database: a draft read "Not live: last
    update 3822 s ago" from another campaign's fetch time."""
    redis_client().hset(publish.FETCHED_KEY, "5", "2026-12-06T14:03:01Z")
    redis_client().set("ratelimit:atoms:5", "kept")  # not the live cache: left alone
    forget_live_cache()
    assert publish.fetched_times([5]) == {}
    assert redis_client().get("ratelimit:atoms:5") == b"kept"


def test_a_child_that_exits_is_started_again_and_one_that_keeps_exiting_stops_all():
    """Killing the demo's worker stopped the web server and the simulator too (a probe)."""
    said = []
    supervisor = Supervisor(dict(os.environ), said.append, restarts=3, window=60)
    steady = supervisor.start("steady", [sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        steady.kill()
        steady.wait()
        assert supervisor.check()
        again = supervisor.processes["steady"]
        assert again.pid != steady.pid and again.poll() is None
        assert said == ["steady exited with code -9; starting it again."]

        supervisor.start("broken", [sys.executable, "-c", "raise SystemExit(3)"])
        for _ in range(2):
            supervisor.processes["broken"].wait()
            assert supervisor.check()
        supervisor.processes["broken"].wait()
        assert not supervisor.check()
        assert said[-1] == "broken exited with code 3, 3 times in 60 s; stopping the others."
        assert again.poll() is None  # stopping the rest is the caller's, on that answer
    finally:
        supervisor.stop()
    assert supervisor.processes["steady"].poll() is not None
