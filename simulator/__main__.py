"""`python -m simulator`: serve the simulated Atoms API until Ctrl-C or SIGTERM."""

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .runtime import Config, Simulator
from .server import API_PREFIX, SimServer
from .wire import parse_time

SAVE_EVERY_SECONDS = 2.0
DEFAULT_API_KEY = "sim-key"


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative(kind):
    def convert(text: str):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its error messages
    return convert


def _positive(kind):
    def convert(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    convert.__name__ = kind.__name__
    return convert


def _instant(text: str) -> int:
    value = parse_time(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date-time: {text}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve a simulated Smallest AI Atoms API under /atoms/v1, with test "
        "controls under /_sim (see simulator/README.md).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        metavar="PORT",
        type=_non_negative(int),
        default=8765,
        help="TCP port; 0 picks a free one, printed on the ready line (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        # From the environment by preference: an argv is visible to every local user.
        default=os.environ.get("ATOMS_SIMULATOR_API_KEY") or DEFAULT_API_KEY,
        help="key every /atoms/v1 request must send as 'Authorization: Bearer KEY' "
        f"(default: $ATOMS_SIMULATOR_API_KEY, else {DEFAULT_API_KEY})",
    )
    parser.add_argument(
        "--speed",
        metavar="N",
        type=_non_negative(float),
        default=1.0,
        help="simulated seconds per real second; 0 freezes the clock so only "
        "POST /_sim/clock moves it (default: %(default)s)",
    )
    parser.add_argument(
        "--pace",
        metavar="N",
        type=_positive(float),
        default=1.0,
        help="calls and retry waits N times shorter while the clock keeps real time, so "
        "every timestamp agrees with the wall clock (the demo dials at 30) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=1,
        help="same seed, same world (ids, names, numbers) and same call outcomes "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="persist the world to this JSON file (written atomically) and resume from it "
        "on restart; default: in memory only",
    )
    parser.add_argument(
        "--start-time",
        type=_instant,
        metavar="ISO",
        help="simulated time at start, e.g. 2025-03-12T09:00:00Z; default: now. Pin it to "
        "make timestamps and call ids repeat across runs",
    )
    parser.add_argument(
        "--latency-ms",
        metavar="MS",
        type=_non_negative(float),
        default=0,
        help="delay added to every /atoms/v1 request (default: %(default)s)",
    )
    parser.add_argument(
        "--error-rate",
        metavar="F",
        type=_fraction,
        default=0,
        help="fraction (0..1) of /atoms/v1 requests answered 500 (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="N",
        type=_non_negative(int),
        default=0,
        help="requests per second over /atoms/v1 before answering 429 with Retry-After; "
        "0 = unlimited (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start_ms = args.start_time if args.start_time is not None else int(time.time()) * 1000
    config = Config(
        api_key=args.api_key,
        seed=args.seed,
        speed=args.speed,
        start_ms=start_ms,
        state_path=args.state,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        rate_limit=args.rate_limit,
        pace=args.pace,
        # A wall-clock world resumes at the wall clock, not where it was frozen.
        catch_up=args.start_time is None and args.speed == 1,
    )
    try:
        app = Simulator(config)
    except (OSError, ValueError) as error:  # an unreadable or foreign --state file
        print(f"error: cannot load state: {error}", file=sys.stderr)
        return 2
    try:
        server = SimServer((args.host, args.port), app)
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(
        f"Atoms simulator listening on http://{host}:{port}{API_PREFIX} "
        # The public default is shown; any other key is never printed.
        f"(key {args.api_key if args.api_key == DEFAULT_API_KEY else 'given'}, "
        f"seed {app.world.seed}, speed {args.speed:g}, pace {args.pace:g})",
        flush=True,
    )

    def stop(signum, frame):
        app.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A short poll interval keeps shutdown quick.
    serve = threading.Thread(target=server.serve_forever, args=(0.1,), name="http", daemon=True)
    serve.start()
    # The main thread only waits for a signal, saving now and then when --state is set.
    while not app.stopping.wait(SAVE_EVERY_SECONDS):
        app.persist(only_if_dirty=True)
    server.shutdown()
    server.server_close()
    app.persist()
    print("Atoms simulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
