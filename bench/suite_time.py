"""`python -m bench.suite_time [REV] [--rounds N]`: this checkout's test suite against the
one of an earlier commit (default: BASELINE, the day issue 8 asked for half the time), on
the same tests, side by side on this machine.

Each round runs, one after the other in fresh clones: REV's own `make test` (its whole suite
as it stood), then this checkout's `make test` on only the tests REV had (the same node
ids, collected from both: a test renamed since is left out), then this checkout's whole
suite. It prints each time, and the same-tests ratio, which is the one issue 8 names: the
whole suite has grown since (new tests for later issues), so its time is shown, not
compared. Not part of `python -m bench` (it takes 5-10 minutes a round and needs git).

Both suites use `make test`'s PostgreSQL and Redis databases, one after the other: run it
with no other test suite running here.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import load_average

ROOT = Path(__file__).resolve().parents[1]
# Issue 8 was filed against this commit: the last before its first change.
BASELINE = "e95d66e"
# What `make test` sets (the Makefile's TEST_ENV), to collect a checkout's test ids.
COLLECT_ENV = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/campaigns",
               "REDIS_URL": "redis://127.0.0.1:6379/15",
               "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
               "SECRET_KEY": "collect-only", "HTTPS": "0", "DEBUG": "0", "DEMO_MODE": "0"}


def clone(rev: str, into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "checkout", "-q", rev], check=True)
    return into


def test_ids(checkout: Path) -> list[str]:
    # `make lint` is the target that only installs the checkout's own virtualenv first.
    subprocess.run(["make", "-C", str(checkout), "lint"], check=True, capture_output=True)
    found = subprocess.run(
        [str(checkout / ".venv/bin/pytest"), "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=checkout, env={**os.environ, **COLLECT_ENV}, capture_output=True, text=True)
    return [line for line in found.stdout.splitlines() if "::" in line]


def timed_make_test(checkout: Path, pytest_args: str = "") -> tuple[float, str]:
    """Seconds `make test` took, and pytest's summary line."""
    started = time.monotonic()
    run = subprocess.run(["make", "-C", str(checkout), "test", f"PYTEST_ARGS={pytest_args}"],
                         capture_output=True, text=True)
    seconds = time.monotonic() - started
    summary = re.findall(r"=+ (.*(?:passed|failed).*) =+", run.stdout)
    return seconds, (summary[-1] if summary else f"no summary (exit {run.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite_time", description=__doc__)
    parser.add_argument("rev", nargs="?", default=BASELINE)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="suite-time-"))
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              check=True, capture_output=True, text=True).stdout.strip()
        before, after = clone(args.rev, scratch / "before"), clone(head, scratch / "after")
        # The browser tests' npm packages, as `make test` would fetch them.
        if (ROOT / "tests/browser/node_modules").exists():
            shutil.copytree(ROOT / "tests/browser/node_modules",
                            after / "tests/browser/node_modules")
        earlier, now = test_ids(before), set(test_ids(after))
        same = [test for test in earlier if test in now]
        ids_file = scratch / "same-tests.txt"
        ids_file.write_text("\n".join(same) + "\n")
        print(f"{args.rev}: {len(earlier)} tests; {head}: {len(now)}; "
              f"the same node ids in both: {len(same)}", flush=True)
        runs = {"before": (f"{args.rev}, its whole suite", before, ""),
                "same": (f"{head}, the same tests", after, f"-p no:cacheprovider @{ids_file}"),
                "whole": (f"{head}, its whole suite", after, "-p no:cacheprovider")}
        for round_number in range(1, args.rounds + 1):
            took = {}
            for kind, (name, checkout, pytest_args) in runs.items():
                at_start = load_average()
                took[kind], summary = timed_make_test(checkout, pytest_args)
                print(f"round {round_number}: {name}: {took[kind]:.0f} s ({summary}); "
                      f"load {at_start} -> {load_average()}", flush=True)
            print(f"round {round_number}: the same tests, {head} / {args.rev} = "
                  f"{took['same'] / took['before']:.2f}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
