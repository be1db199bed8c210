"""The live stream gzipped, each frame compressed once for all the viewers it goes to.

An open board received every changed card's HTML at each poll: 2.4 MB a minute with 61
running campaigns. gzip takes a card frame to under half, but a compressor per connection
would compress each frame once per viewer, and hold some 256 KB of memory per stream
(an idle stream costs 28.5 KB in all). Here each frame is deflated once, alone, ending in
a full flush: such pieces follow one another in any order in a gzip stream (none refers
to anything before it), so every viewer's stream is the shared pieces put together. A
viewer keeps only the running CRC and length of what it was sent, for the trailer that
ends its stream.
"""

import struct
import zlib
from collections import OrderedDict

# No file name, no time; "unknown" operating system (RFC 1952).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# The last block of a stream: empty, marked final.
_FINAL_BLOCK = zlib.compressobj(wbits=-zlib.MAX_WBITS).flush(zlib.Z_FINISH)
# Frames are compressed once however many viewers get them: the better ratio is worth it.
LEVEL = 6


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header value allows gzip (RFC 9110: "gzip;q=0" refuses
    it; "*" allows it unless gzip is refused by name)."""
    allowed = {}
    for coding in (accept_encoding or "").split(","):
        name, _, parameters = coding.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[name.strip().lower()] = quality > 0
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


class DeflatedFrames:
    """Each frame's bytes and its deflated piece, kept while viewers may still send it.

    Bounded by the text it holds, not by a count: one board's first frame (its current
    state) can be a hundred kilobytes, a card's a couple.
    """

    def __init__(self, limit_chars: int = 8_000_000):
        self._pieces: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
        self._chars = 0
        self._limit = limit_chars

    def __call__(self, frame: str) -> tuple[bytes, bytes]:
        """(the frame's bytes, the same deflated, ending in a full flush)."""
        piece = self._pieces.get(frame)
        if piece is not None:
            self._pieces.move_to_end(frame)
            return piece
        raw = frame.encode()
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        piece = raw, compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)
        self._pieces[frame] = piece
        self._chars += len(frame)
        while self._chars > self._limit and len(self._pieces) > 1:
            dropped, _ = self._pieces.popitem(last=False)
            self._chars -= len(dropped)
        return piece


deflated = DeflatedFrames()


class GzipStream:
    """One viewer's gzip stream: its header first, then the shared pieces, then a trailer."""

    __slots__ = ("crc", "size", "started")

    def __init__(self):
        self.crc, self.size, self.started = 0, 0, False

    def encode(self, frames: list[str]) -> bytes:
        pieces = [] if self.started else [GZIP_HEADER]
        self.started = True
        for frame in frames:
            raw, piece = deflated(frame)
            self.crc = zlib.crc32(raw, self.crc)
            self.size += len(raw)
            pieces.append(piece)
        return b"".join(pieces)

    def end(self) -> bytes:
        """The final block and the trailer: the CRC and length of all that was sent."""
        start = b"" if self.started else GZIP_HEADER
        self.started = True
        return start + _FINAL_BLOCK + struct.pack("<II", self.crc, self.size & 0xFFFFFFFF)


class PlainStream:
    """The same interface for a viewer that did not ask for gzip."""

    __slots__ = ()

    def encode(self, frames: list[str]) -> bytes:
        return "".join(frames).encode()

    def end(self) -> bytes:
        return b""
