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
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack

from django.utils.http import content_disposition_header

from campaigns.connections import atoms_client
from campaigns.contacts_csv import formula_safe
from campaigns.models import CallRecord, Campaign
from campaigns.outcomes import OUTCOME_LABELS

KINDS = {
    "members": ("export_by_member_csv", "results-per-contact"),
    "logs": ("export_logs_csv", "call-attempts"),
}
ROWS_PER_CHUNK = 200  # rows written per chunk sent to the browser


def open_export(campaign: Campaign, kind: str) -> tuple[Iterator[bytes], str]:
    """Start the export now (so a refusal from Atoms raises here, before any byte goes
    to the browser); returns the browser's chunks and a file name."""
    method, label = KINDS[kind]
    # Read here, in the request's thread: the rows are pulled in other threads, which
    # have no database connection of their own to use (views.calls._streamed).
    edit = with_outcomes(call_outcomes(campaign)) if kind == "logs" else None
    stack = ExitStack()
    chunks = stack.enter_context(getattr(atoms_client(), method)(campaign.atoms_id))
    return _closing(stack, safe_csv(chunks, edit)), f"{_slug(campaign.name)}-{label}.csv"


# The columns the call-attempts file gains: Atoms' `status` files a busy line under
# "failed" and a voicemail under "no_answer", so the file could not be matched to the
# outcome breakdown on the campaign's page, nor tell a first call from a retry (a probe).
OUTCOME_COLUMNS = ["outcome", "attempt"]


def call_outcomes(campaign: Campaign) -> dict[str, list[str]]:
    """Each copied call's outcome and attempt as the campaign's page words them."""
    return {call_id: [OUTCOME_LABELS.get(outcome, outcome),
                      f"Retry {attempt}" if attempt else "First call"]
            for call_id, outcome, attempt in CallRecord.objects.filter(
                campaign=campaign).values_list("call_id", "outcome", "attempt").iterator()}


def with_outcomes(outcomes: dict[str, list[str]]) -> Callable[[Iterator[list[str]]],
                                                              Iterator[list[str]]]:
    """The call-attempts file's rows with OUTCOME_COLUMNS after Atoms' own, found by the
    `callId` column (left blank for a call not copied yet; the file as Atoms wrote it if
    it has no such column)."""

    def edit(rows: Iterator[list[str]]) -> Iterator[list[str]]:
        header = next(rows, None)
        if header is None:
            return
        if "callId" not in header:
            yield header
            yield from rows
            return
        at = header.index("callId")
        yield header + OUTCOME_COLUMNS
        blank = [""] * len(OUTCOME_COLUMNS)
        for row in rows:
            yield row + (outcomes.get(row[at], blank) if len(row) > at else blank)

    return edit


def safe_csv(chunks: Iterable[bytes], edit=None) -> Iterator[bytes]:
    """Atoms' CSV bytes in, the same rows out (through `edit`, if given) with every cell
    formula-safe, in UTF-8 led by a byte order mark, as our other downloads
    (contacts_csv.for_spreadsheets): without it Excel showed "Zoë Müller" as "ZoÃ«
    MÃ¼ller"."""
    yield codecs.BOM_UTF8
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    rows = csv.reader(_lines(chunks))
    for written, row in enumerate(edit(rows) if edit else rows, start=1):
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


def content_disposition(filename: str) -> str:
    """The download's Content-Disposition (RFC 6266). An ASCII name goes as it always did,
    filename="…". Any other goes as filename*=utf-8''…, which browsers prefer, after an
    ASCII filename="…" (accents dropped, other scripts left out) for readers of that one
    alone, such as the page's download progress (static/js/app.js). Put raw in
    filename="…", a name outside ASCII went out as Latin-1 bytes or as an RFC 2047 word
    that hid the whole header, and Chromium saved the file as "logs.csv"."""
    header = content_disposition_header(as_attachment=True, filename=filename)
    if filename.isascii():
        return header
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = re.sub(r"-{2,}", "-", folded).lstrip("-")
    return f'attachment; filename="{fallback}"; {header.removeprefix("attachment; ")}'


def _slug(name: str) -> str:
    """The campaign's name as a file name: letters and digits of any script, words joined
    by "-". Combining marks are kept with their letters: Hindi's vowel signs are not
    `isalnum`, and "मुंबई" came out as "म-बई"."""
    cleaned = "".join(ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else "-"
                      for ch in unicodedata.normalize("NFC", name.lower())).strip("-")
    return "-".join(part for part in cleaned.split("-") if part)[:60] or "campaign"
