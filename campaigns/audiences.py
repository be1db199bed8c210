"""Audience operations: the two-step upload, members, delete, and starting a campaign
without its do-not-call numbers.

Views call these; each joins the Atoms client, the database and the audit log like
`campaigns.services` does for campaigns. Every phone number is checked here, with
`contacts_csv`, before Atoms sees it, and the numbers of `suppression`'s do-not-call list
are left out wherever contacts are sent.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from campaigns import atoms, audit, catalog, contacts_csv, services, suppression, wording
from campaigns.connections import atoms_client
from campaigns.contacts_csv import BadFile
from campaigns.models import (
    TERMINAL_STATUSES,
    UPLOAD_STALLED_AFTER,
    AudienceUpload,
    Campaign,
    CreateRequest,
)
from campaigns.services import ActionRefused

log = logging.getLogger(__name__)

Action = audit.Action
Outcome = audit.Outcome

# A preview nobody confirmed is dropped after this long (it holds a whole file).
STALE_UPLOAD = timedelta(days=1)
SEND_TASK = "campaigns.tasks.send_audience_upload"


# --- the two-step upload -------------------------------------------------------------------


@dataclass
class Preview:
    table: contacts_csv.Table
    # None while the phone column is not known: the page asks for it.
    check: contacts_csv.Check | None
    dnc_error: str = ""


def start_upload(user, *, name: str, description: str, filename: str, raw: bytes,
                 phone_column: str, region: str) -> AudienceUpload:
    """Keep the file for the preview; BadFile when it cannot be read as contacts."""
    table = contacts_csv.read_table(raw)
    if phone_column.strip():
        phone_column = contacts_csv.find_column(table.header, phone_column)
    else:
        # Kept once found, so the confirm sends what the preview showed; blank means ask.
        phone_column = contacts_csv.guess_phone_column(table) or ""
    AudienceUpload.objects.filter(created_at__lt=timezone.now() - STALE_UPLOAD).delete()
    return AudienceUpload.objects.create(
        created_by=user, name=name, description=description, filename=filename[:255],
        content=raw, phone_column=phone_column, region=region,
    )


def preview(upload: AudienceUpload) -> Preview:
    table = contacts_csv.read_table(bytes(upload.content))
    column = upload.phone_column
    if not column:
        return Preview(table=table, check=None)
    try:
        suppressed, error = suppression.suppressed_numbers(), ""
    except ActionRefused as refused:
        suppressed = suppression.local_numbers()
        error = refused.message
    return Preview(table=table, check=contacts_csv.check_rows(table, column, upload.region,
                                                              suppressed), dnc_error=error)


def choose_column(upload: AudienceUpload, column: str, region: str) -> None:
    table = contacts_csv.read_table(bytes(upload.content))
    upload.phone_column = contacts_csv.find_column(table.header, column) if column else ""
    upload.region = region
    upload.save(update_fields=["phone_column", "region", "updated_at"])


def confirm_upload(user, upload: AudienceUpload) -> bool:
    """Send the valid rows. Returns True when done now, False when sent in the background
    (large files; the page shows progress). A double click sends once."""
    if upload.state == AudienceUpload.State.PREVIEW and catalog.audience_named(upload.name):
        # Made since this file was checked (the same file checked twice, say). Never for an
        # upload sent before: the audience may be its own, found again by `_create_or_find`.
        raise ActionRefused(f"An audience called “{upload.name}” was made since this file was "
                            "checked: choose the file again with a name of its own.")
    now = timezone.now()
    claimable = (Q(state__in=[AudienceUpload.State.PREVIEW, AudienceUpload.State.FAILED])
                 | Q(state=AudienceUpload.State.SENDING,
                     updated_at__lt=now - UPLOAD_STALLED_AFTER))
    was = AudienceUpload.objects.filter(pk=upload.pk).values_list("audience_id", flat=True)
    partial = was.first() or ""
    claimed = AudienceUpload.objects.filter(claimable, pk=upload.pk).update(
        state=AudienceUpload.State.SENDING, sent_rows=0, error="", updated_at=now)
    if not claimed:
        raise ActionRefused("This file is already being uploaded.")
    if partial:
        # An earlier send got part-way (its worker stalled, or the clean-up after a failure
        # failed too): that audience is deleted and the file sent again whole, so no
        # contact is added twice or left out.
        if not _discard(atoms_client(), partial):
            message = ("The part of this file already sent could not be deleted from Atoms; "
                       "try again in a moment.")
            _fail_upload(upload, user, message, left_in_atoms=partial)
            raise ActionRefused(message)
        AudienceUpload.objects.filter(pk=upload.pk).update(audience_id="")
    upload.refresh_from_db()
    try:
        check = _final_check(upload)
    except (ActionRefused, BadFile) as refused:
        AudienceUpload.objects.filter(pk=upload.pk).update(state=AudienceUpload.State.PREVIEW)
        raise ActionRefused(getattr(refused, "message", str(refused))) from refused
    if len(check.valid) <= settings.AUDIENCE_UPLOAD_BATCH:
        send_upload(upload.pk, check=check)
        upload.refresh_from_db()
        if upload.state == AudienceUpload.State.FAILED:
            raise ActionRefused(upload.error)
        return True
    AudienceUpload.objects.filter(pk=upload.pk).update(total_rows=len(check.valid))
    pk = upload.pk
    # By the task's registered name: the task module imports this one to run the upload.
    transaction.on_commit(lambda: current_app.send_task(SEND_TASK, args=(pk,)))
    return False


def _final_check(upload: AudienceUpload) -> contacts_csv.Check:
    """The preview again, with a fresh do-not-call list: what is sent is decided now."""
    if not upload.phone_column:
        raise ActionRefused("Choose the column that holds the phone numbers first.")
    table = contacts_csv.read_table(bytes(upload.content))
    check = contacts_csv.check_rows(table, upload.phone_column, upload.region,
                                    suppression.suppressed_numbers())
    if not check.valid:
        raise ActionRefused("No row has a phone number that can be called, so there is "
                            "nothing to upload.")
    return check


def send_upload(upload_id: int, *, check: contacts_csv.Check | None = None) -> None:
    """Create the audience with the first batch, add the rest batch by batch, and record
    progress. If Atoms fails part-way the new audience is deleted: nothing half-uploaded."""
    upload = AudienceUpload.objects.filter(pk=upload_id).first()
    # A redelivered task, or one for an upload already sent, must not make a second audience.
    if upload is None or upload.state != AudienceUpload.State.SENDING or upload.audience_id:
        return
    user = upload.created_by
    try:
        check = check or _final_check(upload)
    except (ActionRefused, BadFile) as refused:
        _fail_upload(upload, user, getattr(refused, "message", str(refused)))
        return
    members = check.valid_members()
    batch = settings.AUDIENCE_UPLOAD_BATCH
    _progress(upload, total_rows=len(members), sent_rows=0)
    client = atoms_client()
    audience = None
    try:
        audience = _create_once(client, upload, check, members[:batch])
        _progress(upload, sent_rows=min(batch, len(members)), audience_id=audience.id)
        for start in range(batch, len(members), batch):
            client.add_audience_members(audience.id, members[start:start + batch])
            _progress(upload, sent_rows=min(start + batch, len(members)))
    except atoms.AtomsError as error:
        # Nothing half-made may stay behind; what cannot be deleted now stays on record,
        # for the next Upload to delete first.
        left = "" if audience is None or _discard(client, audience.id) else audience.id
        _fail_upload(upload, user, _failure_message(error, audience, left),
                     refused=isinstance(error, atoms.AtomsRejected), left_in_atoms=left)
        return
    counts = check.counts
    left_out = len(check.rows) - counts[contacts_csv.VALID]
    AudienceUpload.objects.filter(pk=upload.pk).update(
        state=AudienceUpload.State.DONE, content=b"")  # the file is not needed any more
    audit.record(user, Action.UPLOAD_AUDIENCE, Outcome.OK,
                 campaign_name=f"Audience: {audience.name}", atoms_id=audience.id,
                 message=f"{len(members)} contact{pluralize(len(members))} uploaded, "
                         f"{left_out} row{pluralize(left_out)} left out")
    catalog.forget_audiences()


def _progress(upload: AudienceUpload, **fields) -> None:
    """Record how far the sending got; its time tells a live upload from a stalled one."""
    AudienceUpload.objects.filter(pk=upload.pk).update(updated_at=timezone.now(), **fields)


def _create_once(client, upload: AudienceUpload, check: contacts_csv.Check,
                 first_batch: list) -> atoms.Audience:
    """The audience of this upload, made with its first batch, and never made twice: a
    create whose answer was lost (or whose process died) may have made it, so before
    creating again, and right after an unanswered create, look for it in Atoms.
    Raises AtomsError; an uncertain outcome that could not be checked says so."""
    def look():
        taken = (AudienceUpload.objects.exclude(pk=upload.pk).exclude(audience_id="")
                 .values_list("audience_id", flat=True))
        return _new_audience(client, upload.name, check.phone_column,
                             upload.known_audience_ids, taken)

    if upload.known_audience_ids is None:
        upload.known_audience_ids = _audience_ids_named(client, upload.name)
        AudienceUpload.objects.filter(pk=upload.pk).update(
            known_audience_ids=upload.known_audience_ids)
    else:
        found = look()
        if found is not None:
            return found
        if upload.may_land_until and upload.may_land_until > timezone.now():
            raise NotShownYet(upload.may_land_until)
    try:
        return _create_or_find(client, upload.name, check.phone_column,
                               contacts_csv.members_csv(check.header, first_batch), look,
                               filename=upload.filename or "contacts.csv",
                               description=upload.description)
    except NotShownYet as late:
        AudienceUpload.objects.filter(pk=upload.pk).update(may_land_until=late.may_land_until)
        raise


class NotShownYet(atoms.AtomsUnavailable):
    """A create whose answer never came, of which Atoms shows nothing yet: it may still
    land until `may_land_until` (a probe saw one land seconds after the look, and a
    retry then made a second audience)."""

    def __init__(self, may_land_until, **kwargs):
        super().__init__("The audience may still be made", outcome_unknown=True, **kwargs)
        self.may_land_until = may_land_until


def _filtered_audience_record(user, campaign: Campaign, name: str) -> AudienceUpload:
    """The record of a campaign's filtered audience (no file: made from its audience),
    written before anything is sent, so that a later attempt finds what an earlier one
    left in Atoms when its process died or its delete failed (`_left_by_earlier_attempts`)."""
    token = uuid.uuid5(uuid.NAMESPACE_URL, f"filtered-audience:{campaign.atoms_id}")
    record, _ = AudienceUpload.objects.get_or_create(token=token, defaults={
        "created_by": user, "name": name, "content": b"", "state": AudienceUpload.State.SENDING,
        "region": settings.AUDIENCE_DEFAULT_REGION})
    return record


def _left_by_earlier_attempts(client, record: AudienceUpload) -> list[str]:
    """Audiences an earlier attempt made: the one it recorded, and any of its name made
    after its look at Atoms (its answer or its record lost) that nothing of ours uses."""
    if record.known_audience_ids is None:
        return []  # no attempt got as far as asking Atoms
    used = (set(AudienceUpload.objects.exclude(pk=record.pk).values_list("audience_id",
                                                                         flat=True))
            | set(Campaign.objects.values_list("audience_id", flat=True)))
    return [a.id for a in client.list_audiences()
            if a.name == record.name and a.id not in record.known_audience_ids
            and (a.id == record.audience_id or a.id not in used)]


def _audience_ids_named(client, name: str) -> list[str]:
    """The ids of the Atoms audiences called `name` now: taken before a create, so that
    an audience of that name not among them afterwards is the one the create made."""
    return [a.id for a in client.list_audiences() if a.name == name]


def _create_or_find(client, name: str, phone_column: str, csv_bytes: bytes, look,
                   **options) -> atoms.Audience:
    """POST /audience; when its answer is lost, `look()` for what it made instead of
    guessing. Raises AtomsError: uncertain only when Atoms could not be asked either."""
    try:
        return client.create_audience(name, phone_column, csv_bytes, **options)
    except atoms.AtomsUnavailable as error:
        if not error.outcome_unknown:
            raise
        try:
            found = look()
        except atoms.AtomsError:
            raise atoms.AtomsUnavailable(outcome_unknown=True, timed_out=error.timed_out,
                                         status=error.status) from error
        if found is None and error.may_still_land:
            raise NotShownYet(timezone.now() + services.LATE_LANDING,
                              timed_out=error.timed_out, status=error.status) from error
        if found is None:  # Atoms answered, and says it made nothing: trying again is safe
            raise atoms.AtomsUnavailable("No audience was made", timed_out=error.timed_out,
                                         status=error.status) from error
        return found


def _new_audience(client, name: str, phone_column: str, known_ids,
                  taken=()) -> atoms.Audience | None:
    """An audience called `name` that was not there before (`known_ids`) and that nothing
    else of ours made (`taken`): the one an unanswered create made."""
    candidates = [a for a in client.list_audiences()
                  if a.name == name and a.id not in known_ids
                  and a.phone_column in ("", phone_column)]
    taken = set(taken)
    return next((a for a in candidates if a.id not in taken), None)


def _failure_message(error: atoms.AtomsError, audience, left_in_atoms: str) -> str:
    """What the upload page says after Atoms failed; `left_in_atoms`: the half-made
    audience that could not be deleted, if so."""
    if audience is not None:
        why = (error.what_happened if isinstance(error, atoms.AtomsUnavailable)
               else error.user_message.rstrip("."))
        if not left_in_atoms:
            return (f"Atoms stopped part-way: {why}. The part already sent was deleted, so "
                    "nothing is left half-made: press Upload to try again.")
        return (f"Atoms stopped part-way: {why}. The part already sent could not be "
                "deleted yet: press Upload to try again, and the dashboard deletes it first.")
    if isinstance(error, NotShownYet):
        return ("Atoms did not answer in time and no new audience shows up there yet, but it "
                "may still be making it, so nothing more was sent. Press Upload again in "
                f"{wording.seconds_until(error.may_land_until)}: the dashboard looks for it "
                "first, so you will not get two.")
    if isinstance(error, atoms.AtomsUnavailable) and error.outcome_unknown:
        return ("Atoms did not answer, and could not be asked whether it made the audience. "
                "Press Upload again in a moment: the dashboard looks for it first, so you "
                "will not get two.")
    if isinstance(error, atoms.AtomsUnavailable):  # a silence or a 5xx is no refusal
        return f"The upload did not go through: {error.user_message}"
    return f"Atoms did not accept the upload: {error.user_message}"


def _discard(client, audience_id: str) -> bool:
    """Delete a half-made audience; True once Atoms no longer has it."""
    try:
        client.delete_audience(audience_id)
        return True
    except atoms.AtomsNotFound:
        # Gone already (a delete whose answer was lost landed): what was wanted. Counted
        # as a failure, a 3,000-row upload could never be sent again.
        return True
    except atoms.AtomsError:
        log.warning("Could not delete the half-uploaded audience %s", audience_id)
        return False


def _fail_upload(upload, user, message: str, *, refused: bool = False,
                 left_in_atoms: str = "") -> None:
    AudienceUpload.objects.filter(pk=upload.pk).update(
        state=AudienceUpload.State.FAILED, error=message, audience_id=left_in_atoms)
    audit.record(user, Action.UPLOAD_AUDIENCE, Outcome.REFUSED if refused else Outcome.FAILED,
                 campaign_name=f"Audience: {upload.name}", message=message)


# --- members and deletion ------------------------------------------------------------------


def add_member(user, audience, values: dict[str, str], region: str) -> str:
    """Add one contact (column -> value) after the same checks as an upload; returns the
    E.164 number. Raises BadFile (field "phone_number") or ActionRefused."""
    phone, reason = contacts_csv.normalise(values.get(audience.phone_column, ""), region)
    if reason:
        raise BadFile(reason, field="phone_number")
    if phone in suppression.suppressed_numbers():
        raise BadFile("This number is on the do-not-call list.", field="phone_number")
    member = {key: value.strip() for key, value in values.items() if value.strip()}
    member[audience.phone_column] = phone
    try:
        added, _ = atoms_client().add_audience_members(audience.id, [member])
    except atoms.AtomsError as error:
        unknown = isinstance(error, atoms.AtomsUnavailable) and error.outcome_unknown
        there = _in_audience(audience, phone) if unknown else False
        if there:  # the add landed and its answer was lost: Atoms shows the number now
            _audit_members(user, audience, Outcome.OK,
                           f"Added {phone} (Atoms' answer was lost; it shows the number)")
            catalog.forget_audiences()
            return phone
        _audit_members(user, audience, Outcome.FAILED, error.user_message)
        if there is None:
            raise ActionRefused(
                f"{error.what_happened}, and the audience could not be checked, so the "
                "contact may have been added: search for the number before adding it "
                "again.") from error
        if unknown and error.may_still_land:
            # Not there yet is not "not added": Atoms may still be at work on it (a probe
            # saw the contact appear 5 s after the page said "did not add").
            raise ActionRefused(f"{error.what_happened} and the audience does not show the "
                                "contact yet, but Atoms may still add it: search for the "
                                "number in a minute before adding it again.") from error
        if unknown:  # answered, checked: not there, so not added (not "we cannot tell")
            raise ActionRefused(f"Atoms did not add the contact ({error.what_happened}, and "
                                "the audience does not show it). Try again.") from error
        raise ActionRefused(f"Atoms did not add the contact: {error.user_message}") from error
    if not added:
        raise BadFile("This number is already in the audience.", field="phone_number")
    _audit_members(user, audience, Outcome.OK, f"Added {phone}")
    catalog.forget_audiences()
    return phone


def _in_audience(audience, phone: str) -> bool | None:
    """Whether Atoms shows `phone` in the audience (None: it could not be asked)."""
    try:
        found = atoms_client().search_audience_members(audience.id, phone)
    except atoms.AtomsError:
        return None
    return any(suppression.member_phone(m, audience.phone_column) == phone for m in found)


def member_numbers(audience, member_ids: list[str]) -> list[str] | None:
    """The phone numbers of these members, in the order given, to say which contacts a
    removal takes (ids no longer in the audience are left out); None when Atoms cannot
    be asked, so the confirmation can still count them."""
    try:
        members = atoms_client().all_audience_members(audience.id)
    except (atoms.AtomsError, ValueError):
        return None
    phones = {m.id: suppression.member_phone(m, audience.phone_column) for m in members}
    return [phones[i] for i in member_ids if i in phones]


def remove_members(user, audience, member_ids: list[str]) -> int:
    try:
        removed = atoms_client().remove_audience_members(audience.id, member_ids)
    except (atoms.AtomsError, ValueError) as error:
        message = getattr(error, "user_message", str(error))
        if isinstance(error, atoms.AtomsUnavailable) and error.outcome_unknown:
            # The answer was lost: Atoms says whether they are gone, never a guess.
            left = _members_left(audience, member_ids)
            if left == set():
                count = len(member_ids)
                _audit_members(user, audience, Outcome.OK,
                               f"Removed {count} contact{pluralize(count)} (Atoms' answer was "
                               "lost; it no longer has them)")
                catalog.forget_audiences()
                return count
            if left is None:
                _audit_members(user, audience, Outcome.FAILED, message)
                raise ActionRefused(f"{error.what_happened}, and the audience could not be "
                                    "checked, so the contacts may have been removed: look at "
                                    "the audience before removing them again.") from error
            _audit_members(user, audience, Outcome.FAILED, message)
            if error.may_still_land:
                raise ActionRefused(f"{error.what_happened} and the audience still has the "
                                    "contacts, but Atoms may still remove them: look at the "
                                    "audience in a minute before removing them again.") from error
            raise ActionRefused(f"Atoms did not remove the contacts ({error.what_happened}, "
                                "and the audience still has them). Try again.") from error
        _audit_members(user, audience, Outcome.FAILED, message)
        raise ActionRefused(f"Atoms did not remove the contacts: {message}") from error
    _audit_members(user, audience, Outcome.OK,
                   f"Removed {removed} contact{pluralize(removed)}" if removed
                   else "Nothing removed: the contacts had already gone")
    catalog.forget_audiences()
    return removed


def _members_left(audience, member_ids: list[str]) -> set[str] | None:
    """Which of these members Atoms still has; None when it cannot be asked."""
    try:
        members = atoms_client().all_audience_members(audience.id)
    except (atoms.AtomsError, ValueError):
        return None
    return {m.id for m in members} & set(member_ids)


def _audit_members(user, audience, outcome, message):
    audit.record(user, Action.EDIT_AUDIENCE, outcome, campaign_name=f"Audience: {audience.name}",
                 atoms_id=audience.id, message=message)


def campaigns_using(audience_id: str):
    """Campaigns in our mirror that still need this audience (not finished, not deleted)."""
    return (Campaign.objects.filter(audience_id=audience_id, deleted_remotely_at__isnull=True)
            .exclude(status__in=TERMINAL_STATUSES))


def delete_audience(user, audience) -> None:
    using = list(campaigns_using(audience.id).values_list("name", flat=True))
    if using:
        names = ", ".join(f"“{name}”" for name in using[:5])
        message = (f"This audience is used by {names}, which "
                   f"{'is' if len(using) == 1 else 'are'} not finished: wait until "
                   f"{'it finishes' if len(using) == 1 else 'they finish'} or delete "
                   f"{'it' if len(using) == 1 else 'them'} first.")
        audit.record(user, Action.DELETE_AUDIENCE, Outcome.REFUSED,
                     campaign_name=f"Audience: {audience.name}", atoms_id=audience.id,
                     message=message)
        raise ActionRefused(message)
    try:
        atoms_client().delete_audience(audience.id)
    except atoms.AtomsNotFound:
        pass  # already gone: the outcome the user wanted
    except atoms.AtomsError as error:
        catalog.forget_audiences()  # whatever happened, the lists read Atoms again
        gone = (services.gone_from_atoms(lambda: atoms_client().get_audience(audience.id))
                if isinstance(error, atoms.AtomsUnavailable) and error.outcome_unknown
                else None)
        if gone:
            # The answer was lost, and Atoms no longer has it: deleted.
            audit.record(user, Action.DELETE_AUDIENCE, Outcome.OK,
                         campaign_name=f"Audience: {audience.name}", atoms_id=audience.id,
                         message="Deleted (Atoms' answer was lost; it no longer has it)")
            return
        message = services.not_deleted_message(error, gone)
        if isinstance(error, atoms.AtomsRejected) and audience.campaign_names:
            # Atoms keeps an audience while any campaign, finished or not, refers to it.
            message = ("Atoms keeps this audience while these campaigns refer to it: "
                       f"{', '.join(audience.campaign_names)}. Delete them first.")
        audit.record(user, Action.DELETE_AUDIENCE,
                     Outcome.REFUSED if isinstance(error, atoms.AtomsRejected)
                     else Outcome.FAILED,
                     campaign_name=f"Audience: {audience.name}", atoms_id=audience.id,
                     message=message)
        raise ActionRefused(message) from error
    audit.record(user, Action.DELETE_AUDIENCE, Outcome.OK,
                 campaign_name=f"Audience: {audience.name}", atoms_id=audience.id)
    catalog.forget_audiences()


# --- starting without the do-not-call numbers ---------------------------------------------


def _copy_token(campaign) -> uuid.UUID:
    """The one create request of a campaign's copy without the do-not-call numbers."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"start-without-dnc:{campaign.atoms_id}")


def copy_without_listed(campaign):
    """The copy "Start without them" made of this campaign, if it made one: its page names
    it (the original, still a draft, went on offering Start as if nothing was done)."""
    made = (CreateRequest.objects.filter(token=_copy_token(campaign),
                                         state=CreateRequest.State.CREATED)
            .select_related("campaign").first())
    return made.campaign if made is not None else None


def _numbers(count: int) -> str:
    return f"{count} do-not-call number{pluralize(count)}"


# The statuses "Start without them" offers a copy from: a draft. (A scheduled campaign is
# started by Atoms itself at its time, copy or not: a copy would call everyone twice.)
FIRST_START_STATUSES = frozenset({atoms.CampaignStatus.DRAFT})


def start_without_suppressed(user, campaign: Campaign) -> services.CreateOutcome:
    """A new audience without the do-not-call numbers, and a copy of the campaign using it,
    started. The original stays as it was (Atoms cannot change a campaign's audience).
    The copy can be made and yet not start: `start_error` then says why."""
    # One filtered copy per campaign: a second click or a resubmit finds the first one
    # instead of making another audience and another campaign.
    token = _copy_token(campaign)
    made = copy_without_listed(campaign)
    if made is not None:
        return services.CreateOutcome(campaign=made, duplicate=True)
    if services.create_under_way(token):
        raise ActionRefused("This campaign is already being started without them.")
    if campaign.status not in FIRST_START_STATUSES:
        # A copy would call again everyone this campaign has reached: a resume asks about
        # the listed numbers instead (services.start_campaign).
        raise ActionRefused("Starting a copy without the do-not-call numbers is only for a "
                            "draft campaign.")
    client = atoms_client()
    blocked = suppression.suppressed_numbers()
    keep, drop = suppression.suppressed_members(campaign.audience_id, blocked)
    # The campaign's own contacts count too: one listed and removed from the audience since
    # is still called by the campaign itself, and the copy (made from the audience as it is
    # now) is the way to start without it.
    listed_own = suppression.listed_to_call(campaign, blocked)
    if not drop and not listed_own:
        raise ActionRefused("No contact of this campaign is on the do-not-call list any more: "
                            "start the campaign itself.")
    if not keep:
        raise ActionRefused("Every contact of this audience is on the do-not-call list: "
                            "there is no one left to call.")
    try:
        source = client.get_audience(campaign.audience_id)
    except atoms.AtomsError as error:
        raise ActionRefused(error.user_message) from error
    left_out = {blocked.find(m.data.get(source.phone_column, "")) for m in drop} | set(listed_own)
    header = list(dict.fromkeys(key for m in keep for key in m.data))
    members = [dict(m.data) for m in keep]
    batch = settings.AUDIENCE_UPLOAD_BATCH
    # Named for its campaign too: copies of two campaigns on one audience are two
    # audiences, which the create form's picker must tell apart.
    name = f"{source.name} (without do-not-call, for “{campaign.name}”)"[:200]
    record = _filtered_audience_record(user, campaign, name)
    audience = None
    try:
        leftovers = _left_by_earlier_attempts(client, record)
        known = [i for i in _audience_ids_named(client, name) if i not in leftovers]
        AudienceUpload.objects.filter(pk=record.pk).update(known_audience_ids=known)
        audience = _create_or_find(
            client, name, source.phone_column, contacts_csv.members_csv(header, members[:batch]),
            lambda: _new_audience(client, name, source.phone_column, known + leftovers),
            description=f"{source.name} without {_numbers(len(left_out))}")
        AudienceUpload.objects.filter(pk=record.pk).update(audience_id=audience.id)
        for start in range(batch, len(members), batch):
            client.add_audience_members(audience.id, members[start:start + batch])
    except atoms.AtomsError as error:
        if audience is not None:
            _discard(client, audience.id)
        if audience is None and isinstance(error, NotShownYet):
            said = (f"{error.what_happened} and no filtered audience shows up there yet, but "
                    "it may still be making it. Press “Start without them” again in a "
                    "minute: the dashboard looks for it first, so you will not be left with "
                    "two.")
        elif (audience is None and isinstance(error, atoms.AtomsUnavailable)
                and error.outcome_unknown):
            # Not "could not be made": Atoms may well have made it (a probe found it there
            # with 997 members). Pressing again finds it (`_left_by_earlier_attempts`) and
            # deletes it once the copy is made.
            said = (f"{error.what_happened}, and could not be asked whether it made the "
                    "filtered audience. Press “Start without them” again in a moment: the "
                    "dashboard looks for it first, so you will not be left with two.")
        else:
            said = f"The filtered audience could not be made: {error.user_message}"
        audit.record(user, Action.START, Outcome.FAILED, campaign=campaign, message=said)
        raise ActionRefused(said) from error
    audit.record(user, Action.UPLOAD_AUDIENCE, Outcome.OK, campaign_name=f"Audience: {name}",
                 atoms_id=audience.id,
                 message=f"{len(members)} contact{pluralize(len(members))}; "
                         f"{_numbers(len(left_out))} left out")
    catalog.forget_audiences()
    data = services.CampaignInput(
        name=f"{campaign.name} (without do-not-call)"[:200], description=campaign.description,
        agent_id=campaign.agent_id, audience_id=audience.id,
        phone_number_ids=tuple(campaign.phone_number_ids), max_retries=campaign.max_retries,
        retry_delay=campaign.retry_delay, agent_name=campaign.agent_name, audience_name=name,
        calling_hours=campaign.calling_hours or None,
    )
    try:
        outcome = services.create_campaign(user, token, data, start=True)
    except (ActionRefused, IntegrityError):
        _discard(client, audience.id)
        raise
    # An earlier attempt's audience is not needed unless its campaign was made after all
    # (found by the create's reconciliation): delete the ones the copy does not use. Only
    # once the copy is known: while another press is making it (no campaign here), the
    # "leftover" may be the audience that press is about to use.
    used = outcome.campaign.audience_id if outcome.campaign else None
    for leftover in leftovers if outcome.campaign is not None else ():
        if leftover != used:
            _discard(client, leftover)
    if outcome.campaign is None or used != audience.id:
        # A concurrent click made the copy first: this audience is not needed.
        _discard(client, audience.id)
        if outcome.campaign is None:
            raise ActionRefused("This campaign is already being started without them.")
        return outcome
    AudienceUpload.objects.filter(pk=record.pk).update(state=AudienceUpload.State.DONE)
    if outcome.start_error:
        audit.record(user, Action.START, Outcome.FAILED, campaign=campaign,
                     message=f"Copied as “{data.name}” without {_numbers(len(left_out))}, "
                             f"but the copy did not start: {outcome.start_error}")
    elif outcome.start_unknown:
        audit.record(user, Action.START, Outcome.OK, campaign=campaign,
                     message=f"Copied as “{data.name}” without {_numbers(len(left_out))}; "
                             "Atoms did not answer its start: the copy's activity "
                             "says whether it was carried out")
    else:
        audit.record(user, Action.START, Outcome.OK, campaign=campaign,
                     message=f"Started as “{data.name}” without {_numbers(len(left_out))}")
    return outcome
