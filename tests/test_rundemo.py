"""The one-command demo says in one line what is missing before it starts anything."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

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

