"""A minimal server-sent-events reader for tests: real HTTP to the uvicorn server."""

import queue
import threading
import time
from dataclasses import dataclass

import httpx


@dataclass
class Frame:
    event: str  # "" for a comment line such as the heartbeat
    data: str


class Stream:
    """Reads one SSE connection on a thread; frames arrive on `self.frames`."""

    def __init__(self, url: str, cookies: dict[str, str]):
        self.frames: queue.Queue[Frame] = queue.Queue()
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self._opened = threading.Event()
        self._closed = threading.Event()
        self._client = httpx.Client(cookies=cookies, timeout=httpx.Timeout(5, read=60))
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()
        if not self._opened.wait(10):
            raise TimeoutError(f"no response from {url}")

    def _read(self, url: str) -> None:
        try:
            with self._client.stream("GET", url) as response:
                self.status, self.headers = response.status_code, response.headers
                self._opened.set()
                event, data = "", []
                for line in response.iter_lines():
                    if self._closed.is_set():
                        return
                    if line.startswith(":"):
                        self.frames.put(Frame("", line))
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                    elif line == "" and (event or data):
                        self.frames.put(Frame(event, "\n".join(data)))
                        event, data = "", []
        except httpx.HTTPError:
            pass
        finally:
            self._opened.set()

    def next(self, *, event: str | None = None, timeout: float = 10) -> Frame:
        """The next frame (of that event name, skipping others) within `timeout`."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            try:
                frame = self.frames.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no {event or 'frame'} within {timeout} s; "
                                   f"skipped meanwhile: {[f.event for f in skipped]}") from None
            if event is None or frame.event == event:
                return frame
            skipped.append(frame)

    def drain(self) -> list[Frame]:
        found = []
        while not self.frames.empty():
            found.append(self.frames.get_nowait())
        return found

    def close(self) -> None:
        self._closed.set()
        self._client.close()
