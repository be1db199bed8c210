"""`python -m simulator`: options, the ready line, clean shutdown and `--state`."""

import json
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from simulator.process import ROOT, SimulatorProcess

OPTIONS = (
    "--host", "--port", "--api-key", "--speed", "--pace", "--seed", "--state", "--start-time",
    "--latency-ms", "--error-rate", "--rate-limit",
)  # fmt: skip


def run_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def client(process: SimulatorProcess) -> httpx.Client:
    headers = {"Authorization": f"Bearer {process.api_key}"}
    return httpx.Client(base_url=process.base_url, headers=headers, timeout=10)


def test_help_lists_every_option():
    result = run_cli("--help")
    assert result.returncode == 0
    for option in OPTIONS:
        assert option in result.stdout, option


@pytest.mark.parametrize(
    "args",
    [("--error-rate", "2"), ("--speed", "-1"), ("--rate-limit", "x"), ("--start-time", "soon"),
     ("--pace", "0")],
)
def test_bad_options_exit_with_a_usage_error(args):
    result = run_cli(*args)
    assert result.returncode == 2
    assert args[0] in result.stderr


def test_ready_line_names_url_seed_and_speed_but_never_a_given_key():
    process = SimulatorProcess(api_key="demo-key").start(seed=3, speed=2.5)
    try:
        line = next(line for line in process.output.splitlines() if "listening" in line)
        assert re.fullmatch(
            r"Atoms simulator listening on http://127\.0\.0\.1:\d+/atoms/v1 "
            r"\(key given, seed 3, speed 2\.5, pace 1\)",
            line,
        )
        assert "demo-key" not in process.output
        with client(process) as api:
            assert api.get("/agent").status_code == 200
    finally:
        process.stop()


def test_sigterm_and_sigint_stop_cleanly():
    for signum in (signal.SIGTERM, signal.SIGINT):
        process = SimulatorProcess().start()
        popen = process.popen
        popen.send_signal(signum)
        assert popen.wait(timeout=10) == 0
        process.stop()
        assert "Atoms simulator stopped" in process.output


def test_a_busy_port_is_reported():
    process = SimulatorProcess().start()
    try:
        port = process.root_url.rsplit(":", 1)[1]
        result = run_cli("--port", port)
        assert result.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    finally:
        process.stop()


def test_launch_faults_apply_from_the_first_request():
    process = SimulatorProcess().start(extra_args=["--error-rate", "1", "--latency-ms", "50"])
    try:
        with client(process) as api:
            started = time.monotonic()
            assert api.get("/agent").status_code == 500
            assert time.monotonic() - started >= 0.05
    finally:
        process.stop()


def test_launch_rate_limit_applies():
    process = SimulatorProcess().start(extra_args=["--rate-limit", "2"])
    try:
        with client(process) as api:
            codes = [api.get("/agent").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        process.stop()


def test_speed_one_follows_real_time():
    process = SimulatorProcess().start(speed=1)
    try:
        first = process.now()["nowMs"]
        time.sleep(0.3)
        assert 250 <= process.now()["nowMs"] - first < 5_000
    finally:
        process.stop()


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "world.json"
    first = SimulatorProcess().start(seed=11, extra_args=["--state", str(state)])
    try:
        with client(first) as api:
            pilot = next(a for a in api.get("/audience").json()["data"] if a["memberCount"] == 2)
            agent = api.get("/agent").json()["data"]["agents"][0]
            body = {"name": "Kept", "agentId": agent["_id"], "audienceId": pilot["_id"]}
            campaign_id = api.post("/campaign", json=body).json()["data"]["_id"]
            api.post(f"/campaign/{campaign_id}/start")
            first.advance(600)
            before = api.get(f"/campaign/{campaign_id}").json()["data"]
            now = first.now()["nowMs"]
    finally:
        first.stop()
    saved = json.loads(state.read_text())
    assert campaign_id in saved["world"]["campaigns"]
    assert [p.name for p in tmp_path.iterdir()] == ["world.json"]  # no temp file left

    second = SimulatorProcess().start(seed=99, extra_args=["--state", str(state)])
    try:
        assert "seed 11" in second.output  # the saved world keeps its own seed
        assert second.now()["nowMs"] == now
        with client(second) as api:
            after = api.get(f"/campaign/{campaign_id}").json()["data"]
            assert after == before
            second.advance(86_400)
            assert (
                api.get(f"/campaign/{campaign_id}").json()["data"]["campaign"]["status"]
                == "completed"
            )
    finally:
        second.stop()


@pytest.mark.parametrize(
    "content", ['{"world": {"version": 0}, "startMs": 0}', "[]", "7", "{not json"]
)
def test_a_foreign_state_file_stops_the_start_with_a_clear_error(tmp_path, content):
    state = tmp_path / "world.json"
    state.write_text(content)
    result = run_cli("--port", "0", "--state", str(state))
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot load state:")
    assert "Traceback" not in result.stderr


def test_pace_dials_fast_while_every_time_agrees_with_the_wall_clock():
    """The demo's simulator (`--pace 30`): a "Start at" two minutes ahead by the wall clock
    is accepted, Atoms' times stay within seconds of it, and calls still end quickly."""
    from datetime import UTC, datetime, timedelta

    from tests.simulator.helpers import PILOT, Seeded, create, detail, status

    process = SimulatorProcess().start(speed=1, extra_args=("--pace", "30"))
    try:
        with client(process) as api:
            seeded = Seeded.fetch(api)
            soon = datetime.now(UTC) + timedelta(minutes=2)
            scheduled = create(api, seeded, name="Soon", audienceId=seeded.audiences[PILOT]["_id"],
                               scheduledAt=soon.isoformat().replace("+00:00", "Z"))
            assert scheduled["status"] == "scheduled"
            started = time.monotonic()
            time.sleep(5)  # 150 simulated seconds at the old 30x clock
            assert abs(process.now()["nowMs"] / 1000 - time.time()) < 3
            assert status(api, scheduled["_id"]) == "scheduled"  # not yet: 2 min

            campaign = create(api, seeded, name="Now", audienceId=seeded.audiences[PILOT]["_id"])
            assert api.post(f"/campaign/{campaign['_id']}/start").status_code < 300
            while status(api, campaign["_id"]) != "completed":
                # Two contacts, calls of up to a few minutes at pace 1: seconds at pace 30.
                assert time.monotonic() - started < 40, status(api, campaign["_id"])
                time.sleep(0.5)
            created = datetime.fromisoformat(detail(api, campaign["_id"])["campaign"]["createdAt"])
            assert abs(created.timestamp() - time.time()) < 45
    finally:
        process.stop()
