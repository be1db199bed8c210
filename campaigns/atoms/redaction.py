"""Keeping the Atoms key out of everything we show or write down.

An echo of the key may come back changed: upper- or lower-cased by a proxy, url-encoded
in a query string, base64-encoded in a Basic header or a token. Every form we can
compute is replaced; base64 is matched at each of its three alignments, so the key is
found inside a longer encoded string too.
"""

import base64
import re
from functools import lru_cache
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"


def _base64_cores(secret: bytes) -> set[str]:
    """The part of base64 that does not depend on what comes before or after the key,
    for each of the three offsets it can start at in a longer encoded text."""
    cores = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + secret).decode().rstrip("=")
            # Characters mixing prefix bits are dropped at the front, and the last
            # character may mix with what follows.
            skip = {0: 0, 1: 2, 2: 3}[offset]
            core = encoded[skip:-1]
            if len(core) >= 8:
                cores.add(core)
    return cores


@lru_cache(maxsize=8)
def _pattern(secret: str) -> re.Pattern | None:
    if not secret:
        return None
    plain = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    # Case-insensitive for the plain and url-encoded forms (hex escapes may be either case).
    insensitive = "|".join(re.escape(form) for form in sorted(plain, key=len, reverse=True))
    encoded = _base64_cores(secret.encode())
    sensitive = "|".join(re.escape(core) for core in sorted(encoded, key=len, reverse=True))
    parts = [f"(?i:{insensitive})"] + ([sensitive] if sensitive else [])
    return re.compile("|".join(parts))


def redact(text: str, secret: str) -> str:
    """`text` with every form of `secret` we know replaced by [redacted]."""
    pattern = _pattern(secret)
    return pattern.sub(REDACTED, text) if pattern is not None and text else text
