"""The running simulator: configuration, world, clock, faults, counters and persistence."""

import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from . import seed_world
from .clock import SimClock
from .faults import Faults, Stats
from .world import World, dump, load, save


@dataclass(frozen=True)
class Config:
    api_key: str = "sim-key"
    seed: int = 1
    speed: float = 1.0
    start_ms: int = 0
    state_path: Path | None = None
    latency_ms: float = 0
    error_rate: float = 0
    rate_limit: int = 0
    # Calls and retry waits this many times shorter; the clock stays on real time.
    pace: float = 1.0
    # Resuming a saved world, move its clock to `start_ms` (now) if that is later: the time
    # the simulator was down passed for its campaigns too, as it would for Atoms.
    catch_up: bool = False


class Simulator:
    """Holds the one lock that serialises access to the world (and swaps it on reset)."""

    def __init__(self, config: Config):
        self.config = config
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # wakes requests parked by a latency or timeout fault
        self._dirty = False
        snapshot = load(config.state_path) if config.state_path else None
        if snapshot:
            # The world was frozen while the simulator was down: resume where it stopped.
            self.start_ms = snapshot["startMs"]
            self.world = World(snapshot["world"])
        else:
            self.start_ms = config.start_ms
            self.world = seed_world.build(config.seed, config.start_ms)
        if snapshot and config.catch_up:
            self.world.tick(config.start_ms)
        self.world.pace = config.pace
        self.clock = SimClock(self.world.now, config.speed)
        self.faults = Faults(self.world.seed)
        self.faults.configure(self.launch_faults())
        self.stats = Stats()

    def launch_faults(self) -> dict:
        config = self.config
        plan = {"latency_ms": config.latency_ms, "error_rate": config.error_rate}
        return {**plan, "rate_limit": config.rate_limit}

    def run(self, handler, request):
        """Apply one API handler to the world at the current simulated instant."""
        with self.lock:
            self.world.tick(self.clock.now_ms())
            self._dirty = True
            return handler(self.world, request)

    def now_ms(self) -> int:
        with self.lock:
            return self.world.tick(self.clock.now_ms())

    def reset(self, seed: int | None) -> None:
        """Rebuild the seeded world as at launch; zero the counters and clear every fault."""
        with self.lock:
            seed = self.config.seed if seed is None else seed
            self.world = seed_world.build(seed, self.start_ms)
            self.world.pace = self.config.pace
            self.clock.reset(self.start_ms, self.config.speed)
            self.faults = Faults(seed)
            self.stats.clear()
            self._dirty = True

    def persist(self, *, only_if_dirty: bool = False) -> None:
        if self.config.state_path is None:
            return
        with self.lock:
            if only_if_dirty and not self._dirty:
                return
            self.world.tick(self.clock.now_ms())
            # Serialised under the lock (requests mutate the state); written outside it.
            data = dump({"startMs": self.start_ms, "world": self.world.state})
            self._dirty = False
        try:
            save(self.config.state_path, data)
        except OSError as error:
            # Keep serving: the next change retries, and the file on disk is still whole.
            print(f"warning: cannot save {self.config.state_path}: {error}", file=sys.stderr)
            self._dirty = True
