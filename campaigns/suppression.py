"""The do-not-call list: numbers that must never be called.

Ours (added by hand, by CSV, or from a call) merged with Atoms' own `GET /dnc`, which is
read-only. Checked wherever contacts are sent (`audiences`) and before every start.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db.models import Q
from django.template.defaultfilters import pluralize

from campaigns import atoms, audit, catalog, contacts_csv, outcomes
from campaigns.connections import atoms_client
from campaigns.contacts_csv import BadFile
from campaigns.models import TERMINAL_STATUSES, Campaign, SuppressedNumber
from campaigns.services import ActionRefused
from campaigns.wording import some_of

Action = audit.Action
Outcome = audit.Outcome


def atoms_dnc_numbers() -> set[str]:
    """Atoms' own do-not-call numbers in E.164. Agent-specific entries count for every
    campaign: a number someone asked not to be called by one agent is left out everywhere."""
    numbers = set()
    for entry in atoms_client().all_dnc():
        phone, _ = contacts_csv.normalise(entry.phone_number, settings.AUDIENCE_DEFAULT_REGION,
                                          extension_ok=True)
        numbers.add(phone or entry.phone_number)
    return numbers


def atoms_dnc_entries() -> tuple[tuple, str]:
    """(Atoms' entries, "") for the list page, or ((), why they could not be read)."""
    try:
        return atoms_client().all_dnc(), ""
    except atoms.AtomsError as error:
        return (), error.user_message


class ListedNumbers:
    """Do-not-call numbers (E.164), and how a contact's number is found among them.

    A contact's number is read as the list's are (the default region). One that cannot be
    read so (an audience made in Atoms itself may hold "020 7946 0001") is found by its
    digits among the listed numbers as their own country writes them, or without their +:
    compared as raw text, it never matched, and a start called a listed UK number (probe)."""

    def __init__(self, numbers: Iterable[str]):
        self.numbers = frozenset(numbers)
        self._digits: dict[str, str] | None = None

    def __contains__(self, phone: str) -> bool:
        """Is this E.164 number listed?"""
        return phone in self.numbers

    def find(self, value: str) -> str:
        """The listed number a contact's `value` is, or ""."""
        phone = comparable_number(value)
        if phone != value.strip() or phone.startswith("+"):
            return phone if phone in self.numbers else ""
        return self._by_digits().get(digits_of(value), "")

    def _by_digits(self) -> dict[str, str]:
        """Digits of each listed number written as at home ("020 7946 0001") or without
        its + ("44 20 7946 0001") -> E.164."""
        if self._digits is None:
            self._digits = {}
            for number in self.numbers:
                try:
                    parsed = phonenumbers.parse(number)
                except phonenumbers.NumberParseException:
                    continue
                national = phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
                self._digits.setdefault(digits_of(national), number)
                self._digits.setdefault(digits_of(number), number)
        return self._digits


def suppressed_numbers() -> ListedNumbers:
    """Ours and Atoms': raises ActionRefused when Atoms' part cannot be read, because
    sending or starting without it could call someone who asked not to be called."""
    try:
        remote = atoms_dnc_numbers()
    except atoms.AtomsError as error:
        # True wherever it is said: "so nothing was sent" read as a lie after "Campaign
        # created, not started: ".
        raise ActionRefused("Atoms' do-not-call list could not be read, and nothing is sent "
                            f"or started without it: {error.user_message}") from error
    return ListedNumbers(remote | local_numbers())


def is_listed_here(phone_number: str) -> bool:
    """On the dashboard's own do-not-call list (no Atoms read: for a page's wording)."""
    return SuppressedNumber.objects.filter(phone_number=comparable_number(phone_number)).exists()


def local_numbers() -> set[str]:
    """The numbers added in this dashboard only."""
    return set(SuppressedNumber.objects.values_list("phone_number", flat=True))


# --- searching the list page ---------------------------------------------------------------
# One rule for both lists, so a number found in ours is found in Atoms' the same way.


# What a typed number may hold besides digits: "+1 (415) 555-0132", "415.555.0132".
NUMBER_TEXT = re.compile(r"[\d\s+()./-]+")


def digits_of(text: str) -> str:
    """0-9 only, from digits of any kind (a full-width "３" is a 3, as the add form reads it)."""
    return "".join(str(digit) for ch in text
                   if (digit := unicodedata.digit(ch, None)) is not None)


def search_digits(query: str) -> str:
    """The digits of a number typed, however spaced or punctuated ("415 555-0132"); none
    for a query that is not a number: "ticket 12" is a note's words, and its digits
    alone found every number holding a 1 and a 2."""
    query = unicodedata.normalize("NFKC", query)  # full-width brackets and digits
    return digits_of(query) if NUMBER_TEXT.fullmatch(query) else ""


# A number typed as dialled at home keeps its trunk "0" ("020 7946 0958"), or is dialled
# abroad with "00" ("0044 20 …"); the list holds "+44 20 7946 0958": those were not found
# (probe). Without its leading zeros the query is tried too, once long enough to be more
# than a fragment (a "0102" is still only searched as typed).
BARE_SEARCH_DIGITS = 6


def search_forms(query: str) -> list[str]:
    """The digit strings a typed number is searched by: as typed, and without its leading
    zeros; none for a query that is not a number."""
    digits = search_digits(query)
    bare = digits.lstrip("0")
    return [digits, bare] if bare != digits and len(bare) >= BARE_SEARCH_DIGITS else (
        [digits] if digits else [])


def find_local(query: str):
    """Our entries whose number holds the digits typed, or whose note holds the text."""
    listed = SuppressedNumber.objects.all()
    if not query:
        return listed
    # Ours are stored in E.164 ("+" then digits), so the database can compare the digits.
    found = Q(note__icontains=query)
    for digits in search_forms(query):
        found |= Q(phone_number__contains=digits)
    return listed.filter(found)


def find_atoms(entries, query: str) -> list:
    """Atoms' entries whose number holds the digits typed (they have no note). Their
    numbers are compared by digits too, in case Atoms writes one with spaces or dashes."""
    if not query:
        return list(entries)
    forms = search_forms(query)
    return [e for e in entries if any(d in digits_of(e.phone_number) for d in forms)]


def add_suppressed(user, raw_number: str, region: str, *, note: str = "",
                   source: str = SuppressedNumber.Source.MANUAL, call_id: str = ""
                   ) -> tuple[SuppressedNumber, bool]:
    """(entry, created). Raises BadFile (field "phone_number") for a number we cannot read."""
    phone, reason = contacts_csv.normalise(raw_number, region)
    if reason:
        raise BadFile(reason, field="phone_number")
    entry, created = SuppressedNumber.objects.get_or_create(
        phone_number=phone,
        defaults={"source": source, "note": note[:200], "added_by": _user(user),
                  "call_id": call_id},
    )
    if created:
        audit.record(user, Action.SUPPRESS, Outcome.OK, campaign_name="Do-not-call list",
                     message=f"Added {phone}" + (f" from call {call_id}" if call_id else ""))
    return entry, created


def remove_suppressed(user, entry: SuppressedNumber, reason: str) -> None:
    """Take a number off the list (a mistyped one would block every upload and start for
    good); who did it and why stay in the activity log."""
    audit.record(user, Action.SUPPRESS, Outcome.OK, campaign_name="Do-not-call list",
                 message=f"Removed {entry.phone_number} from the list: {reason}")
    entry.delete()
    # A start or resume calling hours held back over it need not wait for it any more (its
    # page went on naming the number as still listed).
    for campaign in Campaign.objects.exclude(resume_withheld_for=[]):
        if entry.phone_number in campaign.resume_withheld_for:
            Campaign.objects.filter(pk=campaign.pk).update(resume_withheld_for=[
                n for n in campaign.resume_withheld_for if n != entry.phone_number])


# Unfinished campaigns whose own contacts one listing reads from Atoms (one export each):
# listing is rare, and past this many the rest are counted as unchecked.
MAY_CALL_CHECKED = 10


def unfinished_campaigns_that_may_call(number: str) -> tuple[list, int]:
    """Campaigns made before a number was listed keep their contacts as they were: (the
    unfinished ones that would still call it, by their own contacts read from Atoms: not
    reached yet, or awaiting a retry; and how many could not be checked). Said when it is
    listed: "will not be called" was false for them, and "may call it" was said of
    campaigns whose contacts never held it."""
    # Those that may still dial: started, or to be started by Atoms itself at their time.
    unfinished = list(Campaign.objects.filter(deleted_remotely_at__isnull=True)
                      .exclude(status__in=[*TERMINAL_STATUSES, atoms.CampaignStatus.DRAFT])
                      .order_by("name"))
    blocked = ListedNumbers([comparable_number(number)])
    calling, unchecked = [], max(0, len(unfinished) - MAY_CALL_CHECKED)
    for campaign in unfinished[:MAY_CALL_CHECKED]:
        # Every contact dialled once already: only a retry can call it, and our copy of
        # its calls knows those; Atoms is read (one export) only for the others.
        everyone_called = 0 < campaign.total_participants <= campaign.contacts_called
        try:
            if listed_to_call(campaign, blocked, () if everyone_called else None):
                calling.append(campaign)
        except ActionRefused:
            unchecked += 1
    return calling, unchecked


NOTE_COLUMNS = ("note", "notes", "comment", "comments", "reason")
NOTE_LENGTH = SuppressedNumber._meta.get_field("note").max_length
# The activity log names this many of the numbers a file added (a hand-added one is named).
IMPORT_NUMBERS_LOGGED = 10


@dataclass
class ImportResult:
    added: int
    already: int
    invalid: list[tuple[int, str, str]]  # (line, value, reason)
    repeated: int = 0  # rows whose number an earlier row of the file had


def import_suppressed(user, raw: bytes, phone_column: str, region: str) -> ImportResult:
    """Add every number of a CSV file; BadFile when the file itself cannot be used."""
    table = contacts_csv.read_table(raw, audience=False)
    column = (contacts_csv.find_column(table.header, phone_column) if phone_column.strip()
              else contacts_csv.guess_phone_column(table))
    if column is None:
        raise BadFile("Could not tell which column holds the phone numbers: type its name.",
                      field="phone_column")
    check = contacts_csv.check_rows(table, column, region, max_value=None)
    index = table.header.index(column)
    invalid = [(row.line, row.cells[index], row.reason) for row in check.rows
               if row.kind == contacts_csv.INVALID]
    phones = [row.phone for row in check.valid]
    # A column called "note" (or notes, comment, reason) gives each number its note, as
    # the form's note field does: a file's notes were dropped (probe).
    note_at = next((i for i, name in enumerate(table.header)
                    if name.strip().lower() in NOTE_COLUMNS), None)
    notes = {row.phone: row.cells[note_at].strip()[:NOTE_LENGTH]
             for row in check.valid if note_at is not None and note_at < len(row.cells)}
    existing = set(SuppressedNumber.objects.filter(phone_number__in=phones)
                   .values_list("phone_number", flat=True))
    new = [SuppressedNumber(phone_number=p, source=SuppressedNumber.Source.CSV,
                            note=notes.get(p, ""), added_by=_user(user))
           for p in phones if p not in existing]
    SuppressedNumber.objects.bulk_create(new, ignore_conflicts=True)
    named = some_of([entry.phone_number for entry in new], IMPORT_NUMBERS_LOGGED)
    audit.record(user, Action.SUPPRESS, Outcome.OK, campaign_name="Do-not-call list",
                 message=f"Added {len(new)} number{pluralize(len(new))} from a CSV file"
                         + (f": {named}" if new else ""))
    return ImportResult(added=len(new), already=len(phones) - len(new), invalid=invalid,
                        repeated=check.count(contacts_csv.DUPLICATE))


def suppress_from_call(user, phone_number: str, *, call_id: str = "",
                       audience_id: str = "") -> int:
    """"Remove this contact and never call again", from a call: the number joins the
    do-not-call list and leaves the call's audience. Returns how many members were removed.

    The number is listed first, so even if Atoms fails to remove the member, the check
    before every start keeps the number from being called.
    """
    entry, _ = add_suppressed(user, phone_number, settings.AUDIENCE_DEFAULT_REGION,
                              source=SuppressedNumber.Source.CALL, call_id=call_id,
                              note="Asked not to be called again")
    if not audience_id:
        return 0
    client = atoms_client()
    try:
        audience = client.get_audience(audience_id)
        listed = ListedNumbers([entry.phone_number])
        doomed = [m.id for m in client.all_audience_members(audience_id)
                  if listed.find(m.data.get(audience.phone_column, ""))]
        removed = client.remove_audience_members(audience_id, doomed) if doomed else 0
    except (atoms.AtomsError, ValueError) as error:
        message = getattr(error, "user_message", str(error))
        audit.record(user, Action.EDIT_AUDIENCE, Outcome.FAILED, atoms_id=audience_id[:64],
                     campaign_name="Audience", message=message)
        raise ActionRefused(f"The number is on the do-not-call list, but Atoms did not remove "
                            f"it from the audience: {message}") from error
    audit.record(user, Action.EDIT_AUDIENCE, Outcome.OK, atoms_id=audience_id,
                 campaign_name=f"Audience: {audience.name}",
                 message=f"Removed {entry.phone_number} (do not call again)")
    catalog.forget_audiences()
    return removed


def member_phone(member, phone_column: str) -> str:
    return comparable_number(member.data.get(phone_column, ""))


def comparable_number(value: str) -> str:
    """A number as the list keeps it (+ and digits), to compare with the list; the text
    itself when it cannot be read as a number."""
    phone, _ = contacts_csv.normalise(value, settings.AUDIENCE_DEFAULT_REGION,
                                      extension_ok=True)
    return phone or value.strip()


def _user(user):
    return user if getattr(user, "pk", None) else None


# --- the check before a start --------------------------------------------------------------


def suppressed_members(audience_id: str, blocked: ListedNumbers | None = None
                       ) -> tuple[list, list]:
    """(members to keep, members on the do-not-call list) of an audience, from Atoms;
    `blocked`: the list, when the caller read it already. Raises ActionRefused when Atoms
    cannot be asked: a start is not made blind."""
    blocked = suppressed_numbers() if blocked is None else blocked
    audience, members = _audience_and_members(audience_id)
    keep, drop = [], []
    for member in members:
        (drop if blocked.find(member.data.get(audience.phone_column, "")) else keep).append(
            member)
    return keep, drop


def campaign_contacts(campaign) -> tuple:
    """The contacts Atoms calls for this campaign: its audience as it was when the campaign
    was made (a contact removed from the audience since is still called), with the calls
    made to each. Raises ActionRefused when Atoms cannot be asked: nothing starts blind."""
    try:
        return atoms_client().campaign_contacts(campaign.atoms_id)
    except (atoms.AtomsError, ValueError) as error:
        message = getattr(error, "user_message", str(error))
        raise ActionRefused(f"The campaign's contacts could not be checked against the "
                            f"do-not-call list, so it was not started: {message}") from error


def listed_to_call(campaign, blocked: ListedNumbers, contacts: tuple | None = None
                   ) -> list[str]:
    """The do-not-call numbers a start or resume would call: the campaign's own contacts
    not called yet (all of them before a first start), and those awaiting a retry. Read
    from the campaign, not its audience: seen, a number listed and then removed from the
    audience was called by the draft made before. Raises ActionRefused when Atoms cannot
    be asked."""
    contacts = campaign_contacts(campaign) if contacts is None else contacts
    uncalled = [c.phone_number for c in contacts if not c.attempts]
    retries = outcomes.awaiting_retry([campaign.pk]).values_list("to_number", flat=True)
    return sorted({blocked.find(number) for number in [*uncalled, *retries]} - {""})


def _audience_and_members(audience_id: str):
    try:
        return (atoms_client().get_audience(audience_id),
                atoms_client().all_audience_members(audience_id))
    except (atoms.AtomsError, ValueError) as error:
        message = getattr(error, "user_message", str(error))
        raise ActionRefused(f"The audience could not be checked against the do-not-call "
                            f"list, so the campaign was not started: {message}") from error
