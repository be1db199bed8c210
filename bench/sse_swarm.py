"""Hundreds of live-stream viewers on one asyncio loop, for the benchmarks.

tests/sse_client.py spends a thread and an httpx client per stream, which is right for a
test with a few viewers; with hundreds, the measuring process would compete for the two
cores with the server it measures and add its own delay to every latency. Here a viewer
is a bare socket: HTTP/1.1 by hand, chunked decoding and SSE framing with string splits.
"""

import asyncio
import re
import threading
import time
import zlib
from collections import Counter
from urllib.parse import urlsplit

# Benchmarks embed `bench-sent=<unix time>` in a fragment to measure its delivery delay.
SENT = re.compile(r"bench-sent=(\d+\.\d+)")


class Swarm:
    """Viewers of one live-stream URL, all sharing a background event loop."""

    def __init__(self, base_url: str, path: str,
                 cookies: dict[str, str] | list[dict[str, str]], *, gzip: bool = False):
        """`cookies`: one set for every viewer, or a list dealt to viewers in turn (e.g.
        a session each); `gzip`: ask for the stream gzipped, as browsers do."""
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.gzip = gzip
        encoding = "Accept-Encoding: gzip\r\n" if gzip else ""
        self.requests = [(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: "
            + "; ".join(f"{key}={value}" for key, value in jar.items())
            + f"\r\nAccept: text/event-stream\r\n{encoding}Cache-Control: no-cache\r\n\r\n"
        ).encode() for jar in (cookies if isinstance(cookies, list) else [cookies])]
        self.opened = 0  # requests sent so far: the next viewer takes the next cookies
        self.viewers: list[_Viewer] = []
        self.failures: Counter = Counter()  # HTTP status or error name -> viewers refused
        self.events: Counter = Counter()  # frame kind ("card", "tick", "ping"...) -> frames
        self.frame_bytes: Counter = Counter()  # frame kind -> bytes of its frames, unzipped
        self.latencies: list[float] = []  # seconds, for frames carrying bench-sent
        self.chunks = 0  # HTTP chunks after the first, each one write of the server (chunked)
        self.wire_bytes = 0  # body bytes received after the first chunk, as sent (gzipped)
        self.recording = False
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sse-swarm",
                                        daemon=True)
        self._thread.start()

    def _run(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def connect(self, count: int, *, parallel: int = 20, timeout: float = 180) -> int:
        """Open `count` more streams; returns how many are open in all.

        A stream counts as open once its first chunk (the retry line and the current
        state) has arrived: by then the server has registered it with its broadcaster.
        """
        self._run(self._connect(count, parallel), timeout)
        return len(self.viewers)

    async def _connect(self, count: int, parallel: int) -> None:
        gate = asyncio.Semaphore(parallel)

        async def one():
            async with gate:
                viewer = _Viewer(self)
                outcome = await viewer.open()
                if outcome == 200:
                    self.viewers.append(viewer)
                else:
                    self.failures[outcome] += 1

        await asyncio.gather(*(one() for _ in range(count)))

    def ticks(self) -> list[int]:
        """Poller ticks each viewer has received since the last reset."""
        return [viewer.ticks for viewer in self.viewers]

    def warm_ticks(self) -> list[int]:
        return [viewer.warm_ticks for viewer in self.viewers]

    def reset_counts(self) -> None:
        def reset():
            for viewer in self.viewers:
                viewer.ticks = viewer.warm_ticks = 0
            self.events.clear()
            self.frame_bytes.clear()
            self.latencies.clear()
            self.chunks = self.wire_bytes = 0

        self.loop.call_soon_threadsafe(reset)
        self._run(asyncio.sleep(0), 5)  # wait until the loop has run it

    def snapshot(self) -> tuple[Counter, list[float], int]:
        """A consistent copy of the counters (frames by kind, latencies, chunks), taken on
        the loop's own thread."""

        async def copy():
            return Counter(self.events), list(self.latencies), self.chunks

        return self._run(copy(), 5)

    def bytes_by_kind(self) -> Counter:
        """The frames' bytes by kind since the last reset, all viewers together, as
        decoded (before any gzip)."""

        async def copy():
            return Counter(self.frame_bytes)

        return self._run(copy(), 5)

    def received_bytes(self) -> int:
        """Body bytes on the wire since the last reset, all viewers together."""

        async def read():
            return self.wire_bytes

        return self._run(read(), 5)

    def close(self) -> None:
        async def close_all():
            for viewer in self.viewers:
                viewer.close()
            self.viewers.clear()
            await asyncio.sleep(0.1)

        try:
            self._run(close_all(), 30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


class _Viewer:
    def __init__(self, swarm: Swarm):
        self.swarm = swarm
        self.ticks = 0
        self.warm_ticks = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task | None = None
        self.chunked = True
        self.buffer = ""
        self.gunzip = zlib.decompressobj(wbits=31) if swarm.gzip else None

    async def open(self) -> int | str:
        try:
            self.reader, self.writer = await asyncio.open_connection(
                self.swarm.host, self.swarm.port, limit=1 << 20)
            swarm = self.swarm
            self.writer.write(swarm.requests[swarm.opened % len(swarm.requests)])
            swarm.opened += 1
            await self.writer.drain()
            status = int((await self.reader.readline()).split()[1])
            headers = {}
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if status != 200:
                self.close()
                return status
            self.chunked = "chunked" in headers.get("transfer-encoding", "")
            self._feed(await self._chunk(), time.time())
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as error:
            self.close()
            return type(error).__name__
        self.task = asyncio.get_running_loop().create_task(self._pump())
        return 200

    async def _chunk(self) -> bytes:
        if not self.chunked:
            data = await self.reader.read(65536)
            if not data:
                raise asyncio.IncompleteReadError(b"", None)
            return data
        size = int((await self.reader.readline()).split(b";")[0], 16)
        if size == 0:
            raise asyncio.IncompleteReadError(b"", None)
        return (await self.reader.readexactly(size + 2))[:-2]

    async def _pump(self) -> None:
        try:
            while True:
                data = await self._chunk()
                self._feed(data, time.time())  # stamped on arrival, before any parsing
                self.swarm.chunks += 1
                self.swarm.wire_bytes += len(data)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass  # the server ended the stream or the benchmark closed it

    def _feed(self, data: bytes, arrived: float) -> None:
        if self.gunzip is not None:
            data = self.gunzip.decompress(data)
        self.buffer += data.decode()
        while "\n\n" in self.buffer:
            frame, self.buffer = self.buffer.split("\n\n", 1)
            self._frame(frame, arrived)

    def _frame(self, frame: str, arrived: float) -> None:
        swarm = self.swarm
        if frame.startswith(":"):
            kind = "ping"
        elif frame.startswith("event: "):
            name = frame[7:frame.find("\n")] if "\n" in frame else frame[7:]
            kind = name.split("-", 1)[0]
        else:
            kind = frame.split(":", 1)[0]  # "retry"
        swarm.events[kind] += 1
        swarm.frame_bytes[kind] += len(frame.encode()) + 2  # and the blank line ending it
        if kind == "tick":
            # The benchmarks' warm-up ticks name no campaigns; the poller's always do.
            if '"ids": []' in frame:
                self.warm_ticks += 1
            else:
                self.ticks += 1
        if swarm.recording and "bench-sent=" in frame:
            sent = SENT.search(frame)
            if sent:
                swarm.latencies.append(arrived - float(sent.group(1)))

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()
