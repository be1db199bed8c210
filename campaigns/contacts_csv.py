"""Reading a contacts CSV and checking every row before anything is sent to Atoms.

Pure functions (no database, no Atoms): `read_table` turns uploaded bytes into a header and
rows with their line numbers, or raises `BadFile` with one sentence a user can act on;
`check_rows` normalises each phone number to E.164 with `phonenumbers` and sorts the rows
into valid, invalid, duplicate and suppressed. `rejected_csv` writes the rows that will not
be uploaded, safe to open in a spreadsheet, and `for_spreadsheets` makes a download of it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

MAX_FILE_BYTES = 5 * 1024 * 1024  # Atoms' own limit on an audience file
MAX_CONTACTS = 10_000  # Atoms' limit on an audience's members
# A do-not-call file's limit: every row is parsed with phonenumbers inside the web request,
# so the file size alone let one upload hold a worker for over 30 s (100,000 rows: ~14 s).
MAX_DNC_NUMBERS = 50_000
# Columns a contacts file may have: every row is padded to the header's width, so a
# 200 KB file with a 30,000-column header took 13 s and 1.3 GB of the web process.
MAX_COLUMNS = 100
# A column's name is shown in every table of the audience and beside a field of its "Add a
# contact" form: a 100,000-character one made the audience page 1,145,398 px wide.
MAX_COLUMN_NAME = 100
# A contact's value, as "Add a contact" allows: a 100,000-character name was uploaded and
# made the audience's table 891,570 px wide, every column after it out of reach.
MAX_VALUE = 500
# Tried in order after UTF-8: what Excel and older tools write in Western Europe and the US.
SINGLE_BYTE_ENCODINGS = ("cp1252", "latin-1")
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252",
                   "latin-1": "Latin-1"}

# Headers that name a phone column, compared without case, spaces, dashes or underscores.
PHONE_HEADERS = {
    "phone", "phonenumber", "phoneno", "mobile", "mobilenumber", "mobilephone", "cell",
    "cellphone", "cellnumber", "tel", "telephone", "telephonenumber", "number", "msisdn",
    "contactnumber", "whatsapp",
}
# Spreadsheets treat a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Control characters a text file never holds; finding them means the bytes are not text.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A UTF-8 encoded accented letter (two bytes: lead C3/C4/C5, then a continuation byte);
# in a Windows-1252 file that pair would read as "Ã©" and the like, which nobody writes.
_UTF8_LETTER = re.compile(rb"[\xc3-\xc5][\x80-\xbf]")
# Spreadsheets outside the English-speaking world save "CSV" with semicolons; tab-separated
# files are the other common export.
OTHER_DELIMITERS = (";", "\t")


class BadFile(ValueError):
    """The file cannot be read as contacts; the message is the one sentence to show."""

    def __init__(self, message: str, *, field: str = "file"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class Table:
    header: list[str]
    # (line number of the row's first line, cells padded to the header's width)
    rows: list[tuple[int, list[str]]]
    encoding: str = "utf-8"

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)


# Said of a file with nothing in it, by the reading and by the forms (for a 0-byte file,
# which Django refused in its own words, "The submitted file is empty.": a probe).
EMPTY_FILE = "The file is empty: choose a CSV file with a header row and contacts."


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with; BadFile when it is not text at all."""
    if not raw.strip():
        raise BadFile(EMPTY_FILE)
    if len(raw) > MAX_FILE_BYTES:
        raise BadFile(f"The file is {len(raw) / 1024 / 1024:.1f} MB; the limit is 5 MB, so "
                      "split it into smaller files.")
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFile("This is an Excel workbook, not a CSV file: in Excel use Save As and "
                      "choose “CSV UTF-8”.")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates: Iterable[str] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", *SINGLE_BYTE_ENCODINGS)
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            if encoding == "utf-8-sig" and _UTF8_LETTER.search(raw):
                # Mostly UTF-8 with a stray byte: read as Windows-1252, every accented
                # letter of the file would reach Atoms garbled ("JosÃ©").
                line = raw[:error.start].count(b"\n") + 1
                raise BadFile(f"Line {line} is not written in the same encoding as the rest "
                              "of the file (UTF-8): fix or retype that line, or save the "
                              "file again as “CSV UTF-8”.") from None
            continue
        if _BINARY.search(text):
            break
        return text.lstrip("\ufeff"), "utf-8" if encoding == "utf-8-sig" else encoding
    raise BadFile("This is not a text file (it holds binary data): save your contacts as "
                  "“CSV UTF-8” and choose that file.")


def read_table(raw: bytes, *, audience: bool = True) -> Table:
    """The header and rows; BadFile with one sentence when they cannot be used. An
    audience holds up to Atoms' MAX_CONTACTS; a list of numbers (`audience=False`, the
    do-not-call list) up to MAX_DNC_NUMBERS, refused here before any row is checked."""
    text, encoding = decode(raw)
    # newline="" keeps "\r" visible to the csv module, so Excel's CR-only and mixed line
    # endings split rows exactly where they end instead of failing or joining lines.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True,
                        delimiter=_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    # Rows past the limit (plus the header) are only counted, for the sentence: 5 MB of
    # short rows holds millions, and keeping and stripping them all took seconds.
    keep = (MAX_CONTACTS if audience else MAX_DNC_NUMBERS) + 1
    over = 0
    line = 1
    try:
        for cells in reader:
            if "".join(cells).strip():  # not a blank row: some cell holds more than spaces
                if len(records) < keep:
                    records.append((line, cells))
                else:
                    over += 1
            line = reader.line_num + 1
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise BadFile(f"Line {line} holds a value of more than "
                          f"{csv.field_size_limit():,} characters, which no contact has: "
                          "check that this is the contacts file.") from None
        raise BadFile(f"Line {line} has a quote (\") that is not closed where it should be; "
                      "fix the quotes on that line and upload the file again.") from None
    if not records:
        raise BadFile(EMPTY_FILE)
    if not audience and any(_NUMBER_ONLY.fullmatch(cell.strip()) for cell in records[0][1]):
        # A do-not-call export is often a bare column of numbers (a note beside each, at
        # most): it was refused for want of a header an audience needs.
        width = max(len(cells) for _, cells in records)
        records.insert(0, (0, ["phone", "note", *(f"column {n}" for n in range(3, width + 1))]
                           [:width]))
    header = [cell.strip() for cell in records[0][1]]
    _check_header(header)
    width = len(header)
    rows = [(number, [c.strip() for c in cells] + [""] * (width - len(cells)))
            for number, cells in records[1:]]
    if not rows:
        raise BadFile("The file has a header row but no contacts below it.")
    if audience and len(rows) + over > MAX_CONTACTS:
        raise BadFile(f"An audience holds at most {MAX_CONTACTS:,} contacts and this file has "
                      f"{len(rows) + over:,}: split it into smaller files.")
    if len(rows) + over > MAX_DNC_NUMBERS:
        raise BadFile(f"A do-not-call file holds at most {MAX_DNC_NUMBERS:,} numbers and this "
                      f"one has {len(rows) + over:,}: split it into smaller files.")
    return Table(header=header, rows=rows, encoding=encoding)


def _delimiter(text: str) -> str:
    """What separates the columns: a comma, unless the header line has none and has
    semicolons or tabs instead."""
    first_line = re.split(r"\r\n|\r|\n", text.lstrip(), maxsplit=1)[0]  # Excel's CR-only too
    if "," not in first_line:
        for candidate in OTHER_DELIMITERS:
            if candidate in first_line:
                return candidate
    return ","


def _check_header(header: list[str]) -> None:
    if len(header) > MAX_COLUMNS:
        raise BadFile(f"The header row has {len(header):,} columns; a contacts file has at most "
                      f"{MAX_COLUMNS}: check that this is the contacts file.")
    if any(_looks_like_phone(cell) for cell in header) or not any(
            re.search(r"[^\W\d_]", cell) for cell in header):
        raise BadFile("The first line holds contacts, not column names: add a header row "
                      "such as “firstName,lastName,phoneNumber” above them.")
    if "" in header:
        position = header.index("") + 1
        raise BadFile(f"Column {position} of the header row has no name: give every column "
                      "a name.")
    for position, name in enumerate(header, start=1):
        if len(name) > MAX_COLUMN_NAME:
            raise BadFile(f"Column {position} of the header row has a name {len(name):,} "
                          f"characters long; a column name has at most {MAX_COLUMN_NAME}: "
                          "check that this is the contacts file.")
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise BadFile(f"Two columns are called “{name}”: give every column its own name.")
        seen.add(name.lower())


# A cell of digits and a number's punctuation only ("12345"): a row, never a column's name;
# a bare do-not-call file starting with a bad number was refused for want of a header.
_NUMBER_ONLY = re.compile(r"\+?[\d\s().-]*\d[\d\s().-]*")


def _looks_like_phone(value: str) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    return digits >= 7 and bool(_NUMBER_ONLY.fullmatch(value.strip()))


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-.#]", "", name).lower()


def find_column(header: list[str], wanted: str) -> str:
    """The header cell the user meant by `wanted` (case and spaces ignored)."""
    for name in header:
        if _squash(name) == _squash(wanted):
            return name
    raise BadFile(f"There is no column “{wanted}” in the file; its columns are: "
                  f"{', '.join(header)}.", field="phone_column")


def guess_phone_column(table: Table) -> str | None:
    """The one column that clearly holds phone numbers, or None when unsure (then ask)."""
    named = [name for name in table.header if _squash(name) in PHONE_HEADERS]
    sample = [cells for _, cells in table.rows[:200]]
    looks = []
    for index, name in enumerate(table.header):
        values = [cells[index] for cells in sample if cells[index]]
        if values and sum(_looks_like_phone(v) for v in values) >= 0.8 * len(values):
            looks.append(name)
    if len(named) == 1 and looks in ([], named):
        return named[0]
    if not named and len(looks) == 1:
        return looks[0]
    return None


# --- checking rows ---------------------------------------------------------------------

VALID, INVALID, DUPLICATE, SUPPRESSED = "valid", "invalid", "duplicate", "suppressed"


@dataclass
class Row:
    line: int
    cells: list[str]
    kind: str
    phone: str = ""  # E.164 when the number could be read
    reason: str = ""
    # Letters among its digits were read as a phone keypad's ("FLOWERS" is 3569377): a
    # vanity number, or a letter O typed for a zero and dialled as a 6 (see keypad_letters_read).
    from_letters: bool = False


@dataclass
class Check:
    header: list[str]
    phone_column: str
    region: str
    rows: list[Row] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for row in self.rows if row.kind == kind)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in (VALID, INVALID, DUPLICATE, SUPPRESSED)}

    @property
    def valid(self) -> list[Row]:
        return [row for row in self.rows if row.kind == VALID]

    @property
    def rejected(self) -> list[Row]:
        return [row for row in self.rows if row.kind != VALID]

    @property
    def read_from_letters(self) -> list[Row]:
        return [row for row in self.valid if row.from_letters]

    def valid_members(self) -> list[dict[str, str]]:
        """The rows to upload, as column -> value, with the phone number in E.164."""
        members = []
        for row in self.valid:
            member = dict(zip(self.header, row.cells, strict=False))
            member[self.phone_column] = row.phone
            members.append(member)
        return members


# A letter after the number has begun: a keypad word, a note, a mistyped digit.
_LETTER_AMONG_DIGITS = re.compile(r"\d.*[^\W\d_]", re.DOTALL)
# How the refusal of an extension begins: its "ext." has letters too, but is told as itself.
_HAS_EXTENSION = "Has an extension"
# A number as Excel writes a long one it took for a figure: "9.19876E+11", "4.15555E+09".
_EXCEL_EXPONENT = re.compile(r"\+?\d(?:[.,]\d+)?E\+?\d{1,2}", re.IGNORECASE)


def normalise(value: str, region: str, *, extension_ok: bool = False) -> tuple[str, str]:
    """(E.164 number, "") or ("", the reason it is not a number we can call).

    A number with an extension is refused (Atoms dials the number alone: "+1 415 555 2675
    ext. 12" was uploaded as the main line without a word) unless `extension_ok`, for
    comparing a number someone else wrote with the do-not-call list."""
    value = value.strip()
    if not value:
        return "", "No phone number."
    if _EXCEL_EXPONENT.fullmatch(value):
        # Excel shows a long number stored as a number as "9.19876E+11", and saves it so:
        # its last digits are gone, and "Not a phone number." did not say why (a probe).
        return "", ("Excel turned this number into a figure (such as 9.19876E+11) and its "
                    "last digits are lost: format the column as Text in Excel, type the "
                    "numbers again, and save the file again.")
    number, reason = _read_number(value, region, extension_ok)
    if reason and not reason.startswith(_HAS_EXTENSION) and _LETTER_AMONG_DIGITS.search(value):
        # Letters are read as a phone keypad's digits ("CALL" is 2255): "(work)" after a
        # number made it "too long", and a letter O for a zero "too short" (a probe).
        return "", ("Has letters among its digits (a note such as “work”, or a letter O for "
                    "a zero): keep only the number in this column.")
    if reason and value.startswith("00"):
        # "00" starts an international number in most of the world, but not under every
        # country's dialling rules (the US dials 011): "00 44 20 7946 0958" read as a US
        # number was "too long", and a do-not-call import left it off the list.
        international, _ = _read_number("+" + value[2:], region, extension_ok)
        if international:
            return international, ""
    return number, reason


def _read_number(value: str, region: str, extension_ok: bool) -> tuple[str, str]:
    try:
        number = phonenumbers.parse(value, region or None)
    except NumberParseException as error:
        if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            if value.startswith(("+", "00")):
                return "", "Unknown country code."
            return "", ("No country code: write it as +<country code> <number>, or choose "
                        "the country of national numbers.")
        if error.error_type in (NumberParseException.TOO_SHORT_NSN,
                                NumberParseException.TOO_SHORT_AFTER_IDD):
            return "", "Too short to be a phone number."
        if error.error_type == NumberParseException.TOO_LONG:
            return "", "Too long to be a phone number."
        return "", "Not a phone number."
    # Written without a country code, it was read as a number of `region`: a number from
    # elsewhere (a UK one under the US default) fails as too long or not valid, so say how.
    elsewhere = ("" if value.startswith(("+", "00")) or not region else
                 f" It was read as a {region} number: if it is from another country, write "
                 "it with its + country code or choose that country.")
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in (ValidationResult.TOO_SHORT, ValidationResult.INVALID_LENGTH):
        # Short with a leading 0 is how most countries write their own numbers ("030
        # 901821", Berlin); "12345" is short anywhere.
        national = re.sub(r"\D", "", value).startswith("0")
        return "", "Too short to be a phone number." + (elsewhere if national else "")
    if possible == ValidationResult.TOO_LONG:
        return "", "Too long to be a phone number." + elsewhere
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return "", "Unknown country code."
    if not phonenumbers.is_valid_number(number):
        country = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
        return "", f"Not a valid {country} phone number." + elsewhere
    if number.extension and not extension_ok:
        return "", (f"{_HAS_EXTENSION} (ext. {number.extension}), which cannot be dialled: "
                    "write the number without it.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def check_rows(table: Table, phone_column: str, region: str,
               suppressed: Container[str] = frozenset(), *,
               max_value: int | None = MAX_VALUE) -> Check:
    """Each row's verdict. `max_value` None: a do-not-call file's long note (cut to fit
    where it is kept) never keeps its number off the list."""
    index = table.header.index(phone_column)
    result = Check(header=table.header, phone_column=phone_column, region=region)
    first_line: dict[str, int] = {}
    width = len(table.header)
    for line, cells in table.rows:
        phone, reason = normalise(cells[index], region)
        if any(cells[width:]):
            # Uploaded, the values past the last column would be lost without a word.
            row = Row(line, cells, INVALID, reason=(
                f"More values than the {width} columns of the header: put quotes around "
                "a value that holds a comma."))
        elif reason:
            row = Row(line, cells, INVALID, reason=reason)
        elif max_value and (long := next(
                (i for i, cell in enumerate(cells) if len(cell) > max_value), None)) is not None:
            row = Row(line, cells, INVALID, reason=(
                f"Its {table.header[long]} is {len(cells[long]):,} characters long; a value "
                f"has at most {max_value}."))
        elif phone in first_line:
            row = Row(line, cells, DUPLICATE, phone,
                      f"Same number as line {first_line[phone]}.")
        elif phone in suppressed:
            first_line[phone] = line
            row = Row(line, cells, SUPPRESSED, phone, "On the do-not-call list.")
        else:
            first_line[phone] = line
            row = Row(line, cells, VALID, phone,
                      from_letters=keypad_letters_read(cells[index], phone))
        result.rows.append(row)
    return result


def keypad_letters_read(value: str, e164: str) -> bool:
    """Whether reading `value` as the number `e164` took letters for digits, as a phone's
    keypad does: "1-800-FLOWERS" is +18003569377, and "415 555 O1OO", a letter O typed
    for each zero, +14155556166, someone else's line (uploaded without a word, a probe).
    Not for letters that are no part of the number: "Tel: +1 …", an extension's "x"."""
    if not _LETTER_AMONG_DIGITS.search(value):
        return False
    significant = phonenumbers.national_significant_number(phonenumbers.parse(e164))
    return significant not in phonenumbers.normalize_digits_only(value)


def formula_safe(value: str) -> str:
    """A cell a spreadsheet shows as text rather than running as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def rejected_csv(check: Check) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([formula_safe(c) for c in ["line", "reason", *check.header]])
    for row in check.rejected:
        writer.writerow([str(row.line), formula_safe(row.reason),
                         *(formula_safe(cell) for cell in row.cells)])
    return out.getvalue()


def for_spreadsheets(text: str) -> bytes:
    """A CSV's text as a download's bytes: UTF-8 led by a byte order mark. Without the
    mark Excel reads the file in the computer's own code page and shows “Zoë” as “ZoÃ«”;
    with it Excel, Numbers and LibreOffice all read UTF-8, and Python's "utf-8-sig" drops it."""
    return text.encode("utf-8-sig")


def members_csv(header: list[str], members: list[dict[str, str]]) -> bytes:
    """Members as the CSV Atoms' audience upload takes (UTF-8, header row)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(members)
    return out.getvalue().encode("utf-8")
