"""`python -m bench [name ...] [--quick] [--markdown] [--profile] [--keep-db]`, or
`python -m bench soak --minutes 3 --users 4 --redis-db 11` (bench/soak.py).

Sets up its own PostgreSQL database and Redis databases (whatever DATABASE_URL and
REDIS_URL say: `make bench` exports the test suite's, which must not be touched), one
Atoms simulator for all benchmarks, and removes all of it at the end, Ctrl-C included.
"""

import argparse
import importlib
import os
import platform
import signal
import sys
import time
import traceback

from bench import harness, measure, soak

# Cheapest first, so a quick look at one number does not wait for the slow ones.
BENCHMARKS = ["viewers", "board_bytes", "page_bytes", "sse_latency", "poll_write", "poll_cycle",
              "poll_clients", "sse_memory", "sse_admission", "poll_throughput", "poll_fairness"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["soak"]:  # its own options and report: see bench/soak.py
        return soak.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and fewer repetitions (a smoke run, ~2 min)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the results as a Markdown table too")
    parser.add_argument("--profile", action="store_true",
                        help="poll_cycle: also print a cProfile of one steady cycle")
    parser.add_argument("--keep-db", action="store_true",
                        help="leave the bench_dashboard database behind for inspection")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from "
                     f"{', '.join(BENCHMARKS)}")
    names = args.names or BENCHMARKS

    harness.configure_environment()
    try:
        harness.check_services()
    except harness.ServiceDown as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2

    import django

    django.setup()
    # `kill` should clean up like Ctrl-C does: stop the children, drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    rows: list[harness.Row] = []
    errors = 0
    started = time.monotonic()
    loads = [measure.load_average()]
    try:
        harness.say("creating and migrating the bench_dashboard database")
        harness.create_database()
        harness.flush_redis()
        ctx = harness.Context(quick=args.quick, sim=harness.start_simulator(),
                              profile=args.profile)
        for name in names:
            module = importlib.import_module(f"bench.{name}")
            harness.say(f"{module.__doc__.splitlines()[0]} [load {measure.load_average()}]")
            began = time.monotonic()
            try:
                rows += module.run(ctx)
            except Exception as error:  # noqa: BLE001 - report it and run the others
                errors += 1
                traceback.print_exc()
                rows.append(harness.Row(name, "FAILED", f"{type(error).__name__}: {error}"[:200],
                                        met=False))
            harness.say(f"{name} took {time.monotonic() - began:.0f} s "
                        f"[load {measure.load_average()}]")
            loads.append(measure.load_average())
    except KeyboardInterrupt:
        print("bench: interrupted; cleaning up", file=sys.stderr)
        errors += 1
    finally:
        harness.stop_all()
        if not args.keep_db:
            harness.drop_database()
        harness.flush_redis()

    print_table(rows)
    if args.markdown:
        print_markdown(rows)
    print(f"\n{machine()}; 1-min load average at start and after each benchmark: "
          f"{' '.join(loads)}; total {time.monotonic() - started:.0f} s; "
          f"command: python -m bench {' '.join(argv if argv is not None else sys.argv[1:])}")
    return 1 if errors else 0


def _verdict(row: harness.Row) -> str:
    return "" if row.met is None else ("met" if row.met else "NOT MET")


def print_table(rows: list[harness.Row]) -> None:
    header = ("benchmark", "measure", "result", "goal", "")
    lines = [header] + [(r.bench, r.measure, r.value, r.goal, _verdict(r)) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
              .rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def print_markdown(rows: list[harness.Row]) -> None:
    print("\n| benchmark | measure | result | goal | |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.bench} | {r.measure} | {r.value} | {r.goal} | {_verdict(r)} |")


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}")


if __name__ == "__main__":
    sys.exit(main())
