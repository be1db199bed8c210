"""A campaign's two CSV exports, relayed from Atoms to the browser as they stream in.

Atoms writes the files (`export/by-audience-member?format=csv`, one row per contact, and
`logs/export`, one row per call attempt); we pass each row on as soon as it is complete,
so a large campaign's download starts at once and never sits whole in memory. Every cell
is made formula-safe on the way: contact data and transcripts come from outside, and a
cell starting with = + - @ would run as a formula in a spreadsheet.
"""

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import ExitStack

from campaigns.connections import atoms_client
from campaigns.contacts_csv import formula_safe
from campaigns.models import Campaign

KINDS = {
    "members": ("export_by_member_csv", "results-per-contact"),
    "logs": ("export_logs_csv", "call-attempts"),
}
ROWS_PER_CHUNK = 200  # rows written per chunk sent to the browser


def open_export(campaign: Campaign, kind: str) -> tuple[Iterator[bytes], str]:
    """Start the export now (so a refusal from Atoms raises here, before any byte goes
    to the browser); returns the browser's chunks and a file name."""
    method, label = KINDS[kind]
    stack = ExitStack()
    chunks = stack.enter_context(getattr(atoms_client(), method)(campaign.atoms_id))
    return _closing(stack, safe_csv(chunks)), f"{_slug(campaign.name)}-{label}.csv"


def safe_csv(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Atoms' CSV bytes in, the same rows out with every cell formula-safe (UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for written, row in enumerate(csv.reader(_lines(chunks)), start=1):
        writer.writerow([formula_safe(cell) for cell in row])
        if written % ROWS_PER_CHUNK == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode()


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines (ends kept) from byte chunks split anywhere, even inside a character;
    csv.reader joins the lines of a quoted cell that holds a newline."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _closing(stack: ExitStack, chunks: Iterator[bytes]) -> Iterator[bytes]:
    with stack:  # the Atoms connection closes when the download ends or is abandoned
        yield from chunks


def _slug(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return "-".join(part for part in cleaned.split("-") if part)[:60] or "campaign"
