"""Waiting in a test for what real processes (a worker, the simulator) do in their own time."""

import time


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
