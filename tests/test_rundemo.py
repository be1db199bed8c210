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
