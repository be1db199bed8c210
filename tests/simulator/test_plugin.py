"""The pytest plugin other suites use: SimulatorProcess and its fixtures."""

import httpx
import pytest

from simulator.process import SimulatorProcess


def test_sim_fixture_gives_a_fresh_frozen_world(sim):
    assert sim.base_url == sim.root_url + "/atoms/v1"
    assert sim.running
    assert sim.stats() == {"requests": 0, "by_route": {}}
    assert sim.advance(0)["speed"] == 0


def test_calls_to_sums_every_status_of_a_route(sim):
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    httpx.get(sim.base_url + "/agent", headers=headers)
    httpx.get(sim.base_url + "/agent")
    sim.faults(error_rate=1)
    httpx.get(sim.base_url + "/agent", headers=headers)
    assert sim.calls_to("GET /agent") == 3
    assert sim.calls_to("GET /agent/{id}") == 0


def test_clear_faults_reports_the_empty_plan(sim):
    sim.faults(error_rate=1)
    assert sim.clear_faults()["error_rate"] == 0


def test_atoms_settings_point_django_at_the_simulator(atoms_settings, sim):
    from django.conf import settings

    assert sim.base_url == settings.SMALLEST_BASE_URL
    assert sim.api_key == settings.SMALLEST_API_KEY


def test_a_simulator_that_cannot_start_explains_why():
    with pytest.raises(RuntimeError, match=r"(?s)ready line.*--error-rate"):
        SimulatorProcess().start(extra_args=["--error-rate", "7"])


def test_stop_is_idempotent():
    process = SimulatorProcess().start()
    process.stop()
    process.stop()
    assert not process.running
