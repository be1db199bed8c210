"""Pytest plugin: the Atoms simulator as a real subprocess, plus fixtures around it.

Load it with `pytest_plugins = ["tests.plugins.simulator"]`. The session shares one
simulator on a free port with a frozen clock (speed 0); the `sim` fixture rebuilds its
seeded world and clears faults before each test, so tests never see each other's state.
The process itself is simulator.process.SimulatorProcess, which the benchmarks use too.
"""

import pytest

from simulator.process import SimulatorProcess


@pytest.fixture(scope="session")
def simulator_process():
    process = SimulatorProcess().start(seed=7, speed=0.0)
    yield process
    process.stop()


@pytest.fixture
def sim(simulator_process):
    """The session simulator with a freshly seeded world, no faults and zeroed stats."""
    simulator_process.reset()
    return simulator_process


@pytest.fixture
def atoms_settings(sim, settings):
    """Django settings pointed at the simulator (pytest-django restores them afterwards)."""
    settings.SMALLEST_BASE_URL = sim.base_url
    settings.SMALLEST_API_KEY = sim.api_key
    return settings
