"""The Atoms simulator as a child process: start it on a free port, steer it through its
`/_sim` controls, stop it. The test suite's fixtures (tests/plugins/simulator.py) and the
benchmarks (bench/harness.py) both run it through this class.
"""

import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
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
        command += ["--seed", str(seed), "--speed", str(speed)]
        self.seed = seed
        self._root_url = None
        self._output.clear()
        self._process = subprocess.Popen(
            [*command, *extra_args],
            cwd=ROOT,
            # The key by environment, as rundemo passes it: never on an argv.
            env={**os.environ, "ATOMS_SIMULATOR_API_KEY": self.api_key},
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
        # root_url is always http:// (READY only matches that), never a file: or custom scheme.
        request = urllib.request.Request(self.root_url + path, data=data,  # noqa: S310
                                         method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
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
