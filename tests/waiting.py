"""Waiting in a test for what real processes (a worker, the simulator) do in their own time."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor


def wait_until(condition, timeout: float = 20, what: str = "condition", step: float = 0.2):
    """`condition()`'s first truthy value, asked every `step` seconds; an AssertionError
    naming `what` if none comes within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"{what} not reached within {timeout} s")


def run_coroutine(coroutine):
    """`asyncio.run(coroutine)` in a thread of its own: on a test worker that has run a
    browser test, Playwright's sync API holds an event loop in this thread, and
    asyncio.run() here refuses to start another (seen when the tests were dealt anew)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
