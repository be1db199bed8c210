import httpx
import pytest

from tests.simulator.helpers import Seeded


@pytest.fixture
def api(sim):
    """An httpx client on the simulator's /atoms/v1 with the right key."""
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def seeded(api):
    """The ids of the seeded world's agents, numbers, audiences and campaigns, by name."""
    return Seeded.fetch(api)
