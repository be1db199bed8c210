"""Pytest plugin: the Atoms simulator as a real subprocess, plus fixtures around it.

Load it with `pytest_plugins = ["tests.plugins.simulator"]`. The session shares one
simulator on a free port with a frozen clock (speed 0); the `sim` fixture rebuilds its
seeded world and clears faults before each test, so tests never see each other's state.
"""

import collections
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"listening on (http://[^/\s]+)(/atoms/v1)")
START_TIMEOUT = 10.0


class SimulatorProcess:
    """One `python -m simulator` child process and the `/_sim` controls to steer it."""

    def __init__(self, api_key: str = "sim-key"):
        self.api_key = api_key
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=200)
        self._root_url: str | None = None
        self.seed: int | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, *, seed: int = 7, speed: float = 0.0, extra_args=()) -> "SimulatorProcess":
        if self._process is not None:
            raise RuntimeError("simulator already started")
        command = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", "0"]
        command += ["--seed", str(seed), "--speed", str(speed), "--api-key", self.api_key]
        self.seed = seed
        self._root_url = None
        self._output.clear()
        self._process = subprocess.Popen(
            [*command, *extra_args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        ready = threading.Event()
        # Drain the pipe for the whole life of the process, or a chatty child would block.
        self._reader = threading.Thread(
            target=self._pump, args=(self._process.stdout, ready), daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        if not ready.wait(START_TIMEOUT) or self._root_url is None:
            self._fail("did not print its ready line")
        while True:
            try:
                self._request("GET", "/_sim/health")
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self._fail("did not answer /_sim/health")
                time.sleep(0.05)

    def _pump(self, stream, ready: threading.Event) -> None:
        for line in stream:
            self._output.append(line.rstrip("\n"))
            found = READY.search(line)
            if found and not ready.is_set():
                self._root_url = found.group(1)
                ready.set()
        ready.set()  # the process ended: wake `start` so it can report the output

    def _fail(self, what: str) -> NoReturn:
        self.stop()
        output = "\n".join(self._output) or "(no output)"
        raise RuntimeError(f"Atoms simulator {what} within {START_TIMEOUT:g} s. Output:\n{output}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # The reader stops at end of file; only then is the pipe safe to close.
        self._reader.join(timeout=5)
        process.stdout.close()

    @property
    def output(self) -> str:
        return "\n".join(self._output)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def popen(self) -> subprocess.Popen:
        """The child process, e.g. to signal it or to read its CPU time from /proc."""
        if self._process is None:
            raise RuntimeError("simulator not started")
        return self._process

    @property
    def root_url(self) -> str:
        if self._root_url is None:
            raise RuntimeError("simulator not started")
        return self._root_url

    @property
    def base_url(self) -> str:
        return self.root_url + "/atoms/v1"

    # --- controls ----------------------------------------------------------------------

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.root_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path} -> {error.code}: {error.read()!r}") from None

    def advance(self, seconds: float) -> dict:
        """Move the simulated clock forward; returns {"now", "nowMs", "speed"}."""
        return self._request("POST", "/_sim/clock", {"advance": seconds})

    def set_speed(self, speed: float) -> dict:
        return self._request("POST", "/_sim/clock", {"speed": speed})

    def now(self) -> dict:
        return self._request("POST", "/_sim/clock", {})

    def faults(self, **plan) -> dict:
        """Replace the fault plan, e.g. faults(error_rate=1, fail_routes=["GET /agent"])."""
        return self._request("POST", "/_sim/faults", plan)["faults"]

    def clear_faults(self) -> dict:
        return self._request("POST", "/_sim/faults", {"clear": True})["faults"]

    def stats(self) -> dict:
        return self._request("GET", "/_sim/stats")

    def reset(self, seed: int | None = None) -> dict:
        """Rebuild the seeded world (the launch seed unless given), zero stats, clear faults."""
        return self._request("POST", "/_sim/reset", {} if seed is None else {"seed": seed})

    def add_dnc(self, phone_number: str, agent_id: str | None = None) -> dict:
        """Put a number on Atoms' own do-not-call list (`GET /dnc`)."""
        body = {"phoneNumber": phone_number, **({"agentId": agent_id} if agent_id else {})}
        return self._request("POST", "/_sim/dnc", body)

    def set_number_active(self, phone_number: str, active: bool) -> dict:
        """Switch a rented number on or off, as a lapsed rental would in Atoms."""
        body = {"phoneNumber": phone_number, "isActive": active}
        return self._request("POST", "/_sim/phone-number", body)

    def calls_to(self, route_template: str) -> int:
        """Requests seen for e.g. "GET /campaign/{id}", whatever their status."""
        return sum(self.stats()["by_route"].get(route_template, {}).values())


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
