"""Reading contact files: every bad file gets one sentence, every row a verdict."""

import csv
import io

import pytest

from campaigns.contacts_csv import (
    BadFile,
    check_rows,
    find_column,
    guess_phone_column,
    keypad_letters_read,
    normalise,
    read_table,
    rejected_csv,
)


def bad(raw: bytes) -> str:
    with pytest.raises(BadFile) as caught:
        read_table(raw)
    return caught.value.message


@pytest.mark.parametrize(("raw", "words"), [
    (b"", "The file is empty"),
    (b"\n\n  \r\n", "The file is empty"),
    (b",,\n,,\n", "The file is empty"),
    (b"name,phone\n", "header row but no contacts"),
    (b"Asha,+14155550100\nRavi,+14155550101\n", "holds contacts, not column names"),
    (b"1,2\n3,4\n", "holds contacts, not column names"),
    (b"name,,phone\nAsha,x,+14155550100\n", "Column 2 of the header row has no name"),
    (b"phone,Phone\n1,2\n", "Two columns are called"),
    (b"name,phone\nAsha,\"+14155550100\nRavi,+14155550101\n", "Line 2 has a quote"),
    (b"name,phone\nAsha,+14155550100\nRavi,\"x\"y\n", "Line 3 has a quote"),
    (b"name,phone\nAsha,+1415555\"0100" + b"9" * 140_000 + b"\n", "Line 2 holds a value of "
     "more than 131,072 characters"),
    ("name,phone\nJosé,+14155550100\nZoë,+14155550101\n".encode() + b"Bad\xff,+1415\n",
     "Line 4 is not written in the same encoding as the rest of the file (UTF-8)"),
    (b"PK\x03\x04\x14\x00\x06\x00binary", "Excel workbook"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    (b"name,phone\nAsha,\x00\x01\x02\n", "not a text file"),
])
def test_each_bad_file_gets_one_clear_sentence(raw, words):
    message = bad(raw)
    assert words in message
    assert message.endswith(".")


def test_over_five_megabytes_is_refused_before_reading():
    assert "the limit is 5 MB" in bad(b"phone\n" + b"+14155550100\n" * 420_000)


def test_over_ten_thousand_contacts_is_refused_with_the_count():
    rows = "".join(f"+1415555{n % 10000:04d}\n" for n in range(10_001))
    assert "at most 10,000 contacts and this file has 10,001" in bad(
        ("phone\n" + rows).encode())


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"\n"])
def test_excel_line_endings_cr_only_and_crlf_split_rows_where_they_end(ending):
    raw = ending.join([b"name,phone", b"Asha,+14155550100", b"Ravi,+14155550101", b""])
    table = read_table(raw)
    assert table.rows == [(2, ["Asha", "+14155550100"]), (3, ["Ravi", "+14155550101"])]


def test_mixed_line_endings_keep_every_row_and_its_line_number():
    table = read_table(b"name,phone\r\nAsha,+14155550100\nRavi,+14155550101\rMeera,x\r\n")
    assert [line for line, _ in table.rows] == [2, 3, 4]


def test_a_quoted_line_break_stays_in_its_cell_and_later_lines_keep_their_numbers():
    table = read_table(b'name,phone\n"Asha\nRao",+14155550100\nRavi,+14155550101\n')
    assert table.rows == [(2, ["Asha\nRao", "+14155550100"]), (4, ["Ravi", "+14155550101"])]


@pytest.mark.parametrize(("raw", "encoding", "name"), [
    ("name,phone\nJosé,+14155550100\n".encode(), "utf-8", "José"),
    ("\ufeffname,phone\nJosé,+14155550100\n".encode(), "utf-8", "José"),
    ("name,phone\nJosé “Pepe”,+14155550100\n".encode("cp1252"), "cp1252", "José “Pepe”"),
    ("name,phone\nJosé,+14155550100\n".encode("utf-16"), "utf-16", "José"),
])
def test_utf8_with_or_without_bom_then_single_byte_encodings(raw, encoding, name):
    table = read_table(raw)
    assert table.encoding == encoding
    assert table.header == ["name", "phone"]
    assert table.rows[0][1][0] == name


@pytest.mark.parametrize("ending", ["\n", "\r"])
@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_files_keep_their_columns(delimiter, ending):
    raw = (delimiter.join(["name", "phone"]) + ending
           + delimiter.join(["Ann, Smith", "+14155550140"]))
    table = read_table(raw.encode())
    assert table.header == ["name", "phone"]
    assert table.rows == [(2, ["Ann, Smith", "+14155550140"])]


def test_a_row_with_more_values_than_columns_is_left_out_with_the_reason():
    table = read_table(b"phone,name\n+14155550170,Smith, John\n+14155550171,Ravi,\n")
    check = check_rows(table, "phone", "US")
    assert [(row.line, row.kind) for row in check.rows] == [(2, "invalid"), (3, "valid")]
    assert check.rows[0].reason == ("More values than the 2 columns of the header: put "
                                    "quotes around a value that holds a comma.")
    assert check.valid_members() == [{"phone": "+14155550171", "name": "Ravi"}]


@pytest.mark.parametrize(("header", "expected"), [
    ("firstName,phoneNumber", "phoneNumber"),
    ("Name,Mobile Number", "Mobile Number"),
    ("name,contact", "contact"),  # found by its values
])
def test_the_phone_column_is_found_by_name_or_by_its_values(header, expected):
    table = read_table(f"{header}\nAsha,+14155550100\nRavi,(415) 555-0101\n".encode())
    assert guess_phone_column(table) == expected


def test_when_two_columns_could_hold_the_numbers_it_asks():
    table = read_table(b"home,mobile\n+14155550100,+14155550101\n")
    assert guess_phone_column(table) is None


def test_a_chosen_column_that_does_not_exist_names_the_columns_there_are():
    table = read_table(b"firstName,phone\nAsha,+14155550100\n")
    assert find_column(table.header, " PHONE ") == "phone"
    with pytest.raises(BadFile) as caught:
        find_column(table.header, "phoneNumber")
    assert caught.value.field == "phone_column"
    assert caught.value.message == ("There is no column “phoneNumber” in the file; its "
                                    "columns are: firstName, phone.")


CRAFTED = (
    "name,phone\n"
    "Intl,+1 415 555 0100\n"          # 2 valid, international with spaces
    "National,(415) 555-0101\n"        # 3 valid, national for the US
    "Short,12345\n"                    # 4 invalid
    "Words,not-a-number\n"             # 5 invalid
    "Again,+14155550100\n"             # 6 duplicate of line 2
    "Blocked,415.555.0199\n"           # 7 suppressed
    "Empty,\n"                         # 8 invalid
    "India,+91 98765 43210\n"          # 9 valid, another country
)


def test_every_row_is_valid_invalid_duplicate_or_suppressed_with_its_reason():
    check = check_rows(read_table(CRAFTED.encode()), "phone", "US", {"+14155550199"})
    assert check.counts == {"valid": 3, "invalid": 3, "duplicate": 1, "suppressed": 1}
    verdicts = {row.line: (row.kind, row.phone, row.reason) for row in check.rows}
    assert verdicts[2] == ("valid", "+14155550100", "")
    assert verdicts[3] == ("valid", "+14155550101", "")
    assert verdicts[4] == ("invalid", "", "Too short to be a phone number.")
    assert verdicts[5] == ("invalid", "", "Not a phone number.")
    assert verdicts[6] == ("duplicate", "+14155550100", "Same number as line 2.")
    assert verdicts[7] == ("suppressed", "+14155550199", "On the do-not-call list.")
    assert verdicts[8] == ("invalid", "", "No phone number.")
    assert verdicts[9] == ("valid", "+919876543210", "")
    assert [m["phone"] for m in check.valid_members()] == [
        "+14155550100", "+14155550101", "+919876543210"]


def test_a_value_longer_than_a_contact_may_hold_leaves_its_row_out_with_the_reason():
    """A 100,000-character name was uploaded: the audience's table grew 891,570 px wide."""
    raw = f"name,phone\n{'x' * 501},+14155550100\n{'y' * 500},+14155550101\n".encode()
    check = check_rows(read_table(raw), "phone", "US")
    assert [(row.kind, row.reason) for row in check.rows] == [
        ("invalid", "Its name is 501 characters long; a value has at most 500."), ("valid", "")]


@pytest.mark.parametrize(("typed", "reason"), [
    ("+999 1234", "Unknown country code."),
    ("4155550100", "No country code: write it as +<country code> <number>, or choose the "
                   "country of national numbers."),
])
def test_a_missing_country_code_is_not_confused_with_an_unknown_one(typed, reason):
    assert normalise(typed, "") == ("", reason)


def test_the_region_decides_how_national_numbers_are_read():
    table = read_table(b"phone\n020 7946 0000\n")
    assert check_rows(table, "phone", "GB").rows[0].phone == "+442079460000"
    assert check_rows(table, "phone", "US").rows[0].kind == "invalid"


def test_a_national_number_from_another_country_says_how_it_was_read_and_what_to_do():
    """A UK number under the US default was "Too long to be a phone number." and nothing
    more: a person could not tell that the country setting was the cause."""
    hint = ("It was read as a US number: if it is from another country, write it with its "
            "+ country code or choose that country.")
    assert normalise("020 7946 0959", "US") == ("", f"Too long to be a phone number. {hint}")
    # Written with its country code, nothing was assumed: no hint.
    assert normalise("+1 415 555 01011", "US") == ("", "Too long to be a phone number.")
    # Too short as a US number (a German one, say): the same hint (it said "too short" only).
    assert normalise("030 901821", "US") == ("", f"Too short to be a phone number. {hint}")


@pytest.mark.parametrize("typed", ["+1 415 555 2675 ext. 12", "(415) 555-2675 x12",
                                   "415-555-2675;ext=12"])
def test_a_number_with_an_extension_is_refused_not_sent_as_the_main_line(typed):
    """"+1 415 555 2675 ext. 12" was uploaded as +14155552675: the main line, silently."""
    assert normalise(typed, "US") == ("", "Has an extension (ext. 12), which cannot be "
                                          "dialled: write the number without it.")
    table = read_table(f"phone\n{typed}\n".encode())
    assert check_rows(table, "phone", "US").rows[0].kind == "invalid"
    # Compared with the do-not-call list, it is the number Atoms would dial.
    assert normalise(typed, "US", extension_ok=True) == ("+14155552675", "")


@pytest.mark.parametrize("region", ["US", "GB", "IN", ""])
@pytest.mark.parametrize("typed", ["00 44 20 7946 0958", "0044 20 7946 0958", "0044-20-7946-0958"])
def test_a_number_written_with_00_before_its_country_code_is_read_under_any_country(
        typed, region):
    """00 starts an international number in most of the world; under the US default (whose
    own prefix is 011) it was "Too long to be a phone number." and a do-not-call import
    quietly left the number off the list."""
    assert normalise(typed, region) == ("+442079460958", "")


def test_00_before_an_unknown_country_code_is_still_refused():
    assert normalise("00 999 1234 5678", "US")[0] == ""


def test_the_rejected_rows_csv_has_line_reason_and_the_row_and_no_formulas():
    raw = (b"name,phone\n"
           b"=HYPERLINK(\"http://x\"),12345\n"
           b"@SUM(A1),+14155550100\n"
           b"-2+3,+14155550100\n"
           b"Good,+14155550101\n")
    check = check_rows(read_table(raw), "phone", "US")
    rows = list(csv.reader(io.StringIO(rejected_csv(check))))
    assert rows[0] == ["line", "reason", "name", "phone"]
    assert rows[1] == ["2", "Too short to be a phone number.", "'=HYPERLINK(\"http://x\")",
                       "12345"]
    assert rows[2] == ["4", "Same number as line 3.", "'-2+3", "'+14155550100"]
    assert len(rows) == 3  # the valid rows are not in it
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_a_do_not_call_file_holds_at_most_50000_numbers_and_says_how_many_it_has():
    """Every row is parsed with phonenumbers inside the request: the count is refused
    before any row is checked. An audience file keeps its own, lower limit."""
    from campaigns.contacts_csv import MAX_DNC_NUMBERS

    assert MAX_DNC_NUMBERS == 50_000
    at_most = b"phone\n" + b"x\n" * MAX_DNC_NUMBERS
    assert len(read_table(at_most, audience=False).rows) == MAX_DNC_NUMBERS
    with pytest.raises(BadFile) as caught:
        read_table(b"phone\n" + b"x\n" * 73_214, audience=False)
    assert caught.value.message == (
        "A do-not-call file holds at most 50,000 numbers and this one has 73,214: split it "
        "into smaller files.")
    assert caught.value.field == "file"
    # Without a header row too (the first number is a row, not column names).
    with pytest.raises(BadFile) as caught:
        read_table(b"+14155550100\n" * (MAX_DNC_NUMBERS + 1), audience=False)
    assert "this one has 50,001" in caught.value.message


def test_a_do_not_call_file_may_be_a_bare_column_of_numbers_an_audience_may_not():
    """The commonest do-not-call export, a column of numbers with no header, was refused
    with the audience's "add a header row such as firstName,lastName,phoneNumber"."""
    table = read_table(b"+14155550605\n+14155550606,asked twice\n", audience=False)
    assert table.header == ["phone", "note"]
    assert table.rows == [(1, ["+14155550605", ""]), (2, ["+14155550606", "asked twice"])]
    with pytest.raises(BadFile, match="add a header row"):
        read_table(b"+14155550605\n+14155550606\n")
    # Its first number unreadable, it is still a row (reported), not the column names.
    assert read_table(b"12345\n+14155550605\n", audience=False).rows[0] == (1, ["12345"])
    assert read_table(b"12345,first\n+14155550605,x\n", audience=False).header == [
        "phone", "note"]


def test_a_file_with_more_columns_than_a_contacts_file_has_is_refused_before_its_rows():
    """Every row is padded to the header's width: 30,000 columns by 3,000 rows (200 KB)
    held the web process 13 s and 1.3 GB."""
    header = ",".join(f"c{i}" for i in range(30_000))
    raw = (header + "\n" + "x\n" * 3_000).encode()
    with pytest.raises(BadFile) as refused:
        read_table(raw, audience=False)
    assert refused.value.message == ("The header row has 30,000 columns; a contacts file has "
                                     "at most 100: check that this is the contacts file.")


def test_a_column_name_longer_than_a_name_is_refused():
    """A 100,000-character column name was taken: the audience's page became 1,145,398 px
    wide, the name running across its table and its "Add a contact" form."""
    raw = f"phone,{'p' * 100_000}\n+14155550100,x\n".encode()
    with pytest.raises(BadFile) as refused:
        read_table(raw)
    assert refused.value.message == (
        "Column 2 of the header row has a name 100,000 characters long; a column name has at "
        "most 100: check that this is the contacts file.")
    assert read_table(f"phone,{'p' * 100}\n+14155550100,x\n".encode()).header[1] == "p" * 100


@pytest.mark.parametrize("written", ["'+14155550100", "'+1 415 555 0100"])
def test_a_number_as_our_downloads_write_it_reads_back_as_the_number(written):
    """Downloads write a cell starting with + behind an apostrophe (formula_safe: "+…"
    would run as a formula in a spreadsheet); a download uploaded again as contacts must
    give the numbers, not refuse them."""
    assert normalise(written, "US") == ("+14155550100", "")


@pytest.mark.parametrize("typed", ["9.19876E+11", "4.15555e+09", "9,19876E+11", "1E+10"])
def test_a_number_excel_turned_into_a_figure_says_so_and_how_to_mend_it(typed):
    """A probe: "9.19876E+11" (Excel's way with a long number it took for a figure) was
    "Not a phone number.", which did not say the digits were lost or what to do."""
    number, reason = normalise(typed, "US")
    assert number == "" and reason.startswith("Excel turned this number into a figure")
    assert "format the column as Text" in reason


@pytest.mark.parametrize("typed", ["415 555 0152 (work)", "415-555-O100", "(415) 555-0l01",
                                   "415-555-0150 / 415-555-0151 alt"])
def test_letters_among_the_digits_are_named_as_the_reason(typed):
    """A probe: "(work)" after a number made it "too long", a letter O for a zero "too
    short"; read as a keypad's digits, the advice given was wrong."""
    assert normalise(typed, "US") == ("", "Has letters among its digits (a note such as "
                                          "“work”, or a letter O for a zero): keep only the "
                                          "number in this column.")


@pytest.mark.parametrize(("typed", "number"), [
    ("415 555 CALL", "+14155552255"),  # a keypad word that makes a whole number is one
    ("Fax: 415 555 0161", "+14155550161"),  # words before the number are not part of it
    ("+1 415 555 0100 ext. 12", ""),  # still said as an extension
])
def test_a_keypad_word_or_a_label_before_the_number_still_reads(typed, number):
    got, reason = normalise(typed, "US")
    assert got == number
    assert reason == "" if number else reason.startswith("Has an extension")


@pytest.mark.parametrize(("written", "region", "letters_read"), [
    ("1-800-FLOWERS", "US", True),
    ("415 555 O1OO", "US", True),           # a letter O for each zero: another line
    ("+1 415 555 CALL", "", True),
    ("Tel: +1 415 555 0100", "", False),    # a label before the number, not read as digits
    ("+14155550100x", "", False),           # an extension's mark with nothing after it
    ("+1 415 555 0100 x5", "", False),      # an extension (allowed on do-not-call imports)
    ("020 7946 0958", "GB", False),         # a national number's trunk 0
])
def test_letters_read_as_keypad_digits_are_told_apart_from_labels(written, region,
                                                                  letters_read):
    phone, reason = normalise(written, region, extension_ok=True)
    assert reason == "" and phone
    assert keypad_letters_read(written, phone) is letters_read
