"""Forms: every limit is enforced here, on the server, with the message beside its field."""

import functools
import re
import unicodedata
import uuid
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.functions import Lower, NullIf
from django.forms.renderers import TemplatesSetting
from django.utils import timezone

from campaigns import calling_hours, contacts_csv, webhooks
from campaigns.atoms import CampaignStatus
from campaigns.catalog import Pickers
from campaigns.models import Alert, AuditEntry, listed_q
from campaigns.permissions import ROLE_LABELS

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 1000


def _phone_label(number) -> str:
    provider = (number.provider or "unknown provider").capitalize()
    return f"{number.number} · {provider}"


def _by_name(items) -> list:
    return sorted(items, key=lambda item: (item.name.casefold(), item.name))


def _audience_label(audience) -> str:
    if audience.member_count is None:
        return audience.name
    noun = "contact" if audience.member_count == 1 else "contacts"
    return f"{audience.name} ({audience.member_count:,} {noun})"


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class FieldGroupRenderer(TemplatesSetting):
    """`{{ form.x.as_field_group }}` renders our field template: label, widget, help text
    and the field's own errors beside it."""

    field_template_name = "campaigns/_field.html"


# Characters that are invisible or reorder text: a name made only of them looks empty, and
# bidi overrides make a name display as something else than it is (Trojan Source).
# Characters that show as nothing: zero-width ones, and the Hangul fillers (blank glyphs).
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e",
              "\u3164", "\u115f", "\u1160", "\uffa0"}
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                   0x200E, 0x200F, 0x061C)}


def clean_display_name(value: str, empty_message: str) -> str:
    """A name people will see in lists: spaces squashed, and refused if it is invisible
    or carries direction-override characters."""
    if any(ch in _BIDI_CONTROLS for ch in value):
        raise forms.ValidationError(
            "Remove the text-direction control characters (often pasted by accident): they "
            "make a name show differently from what it is.")
    name = " ".join(value.split())
    if any(unicodedata.category(ch) == "Cc" for ch in name):  # escape codes, bells, NULs
        raise forms.ValidationError("Remove the control characters: they cannot be shown.")
    if not "".join(ch for ch in name if ch not in _INVISIBLE).strip():
        raise forms.ValidationError(empty_message)
    return name


# How far ahead a campaign may be scheduled: further is a typo (year 9999), not a plan.
MAX_SCHEDULE_AHEAD = timedelta(days=366)
# A time sent with its offset from UTC ("…Z", "…+05:30"): a script's, never a browser's.
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$", re.IGNORECASE)


class CampaignForm(forms.Form):
    default_renderer = FieldGroupRenderer()
    # The idempotency token; a missing or broken one (an old page, a lost field) gets a
    # fresh one and a message, rather than a 422 with nothing shown.
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    # The browser's time zone (IANA name), filled in by app.js; "Start at" is read in it.
    # (No length limit here: an error on a hidden field would be a refusal nobody sees; a
    # name that is no zone falls back to the server's, which the help text then names.)
    time_zone = forms.CharField(widget=forms.HiddenInput, required=False)
    # Each required field says what to do, as the numbers do, not "This field is required."
    name = forms.CharField(label="Name", max_length=MAX_NAME_LENGTH,
                           error_messages={"required": "Give the campaign a name."})
    description = forms.CharField(
        label="Description", required=False, max_length=MAX_DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    agent = forms.ChoiceField(label="Agent", help_text="The AI agent that makes the calls.",
                              error_messages={"required": "Choose the agent that makes the calls."})
    audience = forms.ChoiceField(label="Audience", help_text="The contacts to call.",
                                 error_messages={"required": "Choose the contacts to call."})
    phone_numbers = forms.MultipleChoiceField(
        label="Phone numbers", widget=forms.CheckboxSelectMultiple,
        help_text="Calls go out from these numbers, in turn.",
        error_messages={"required": "Choose at least one number to call from."},
    )
    # In words, like the other fields' errors: Django's own were "Ensure this value is
    # less than or equal to 10." (a probe).
    max_retries = forms.IntegerField(
        label="Max retries", min_value=0, max_value=10, initial=3,
        help_text="How many times to call again a contact who did not answer (0–10).",
        error_messages={"required": "Say how many times to call again (0 for never).",
                        "invalid": "Type a whole number from 0 to 10.",
                        "min_value": "Type a whole number from 0 to 10.",
                        "max_value": "At most 10 retries: type a number from 0 to 10."},
    )
    retry_delay = forms.IntegerField(
        label="Retry delay (minutes)", min_value=1, max_value=1440, initial=15,
        help_text="Minutes to wait before calling again (1–1440).",
        error_messages={"required": "Say how many minutes to wait before calling again.",
                        "invalid": "Type a whole number of minutes, from 1 to 1440.",
                        "min_value": "Wait at least 1 minute: type a number from 1 to 1440.",
                        "max_value": "At most 1440 minutes (a day): type a number from 1 "
                                     "to 1440."},
    )
    # Set once the user has seen the "likely duplicate" warning and still wants another.
    confirm_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)
    scheduled_at = forms.DateTimeField(
        label="Start at", required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional: the campaign starts itself at this time.",
    )

    def __init__(self, *args, pickers: Pickers, starting: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.pickers = pickers
        self.starting = starting
        blank = [("", "Choose an agent…")]
        # A-to-Z: in Atoms' order (oldest first) a probe's 128 audiences put the one just
        # uploaded last, and none could be found by its name.
        self.fields["agent"].choices = blank + [(a.id, a.name) for a in _by_name(pickers.agents)]
        self.fields["audience"].choices = [("", "Choose an audience…")] + [
            (a.id, _audience_label(a)) for a in _by_name(pickers.audiences)
        ]
        self.fields["phone_numbers"].choices = [
            (p.id, _phone_label(p)) for p in pickers.phone_numbers if p.is_active
        ]
        self.fields["time_zone"].validators = []  # not even a NUL may refuse it unseen
        zone = self.browser_zone()
        # app.js rewrites this with the browser's zone, which it also sends along.
        self.fields["scheduled_at"].help_text += f" Times are in {zone.key}."
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())
        elif not _is_uuid(self.data.get("token")):
            self.data = self.data.copy()
            self.data["token"] = str(uuid.uuid4())
            self.token_was_missing = True

    token_was_missing = False

    def browser_zone(self) -> ZoneInfo:
        """The zone the person typed "Start at" in: their browser's, else the server's."""
        name = ((self.data.get("time_zone") if self.is_bound else "") or "")[:64]
        try:
            return ZoneInfo(name) if name else ZoneInfo(timezone.get_current_timezone_name())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return ZoneInfo(timezone.get_current_timezone_name())

    def clean_token(self):
        if self.token_was_missing:
            raise forms.ValidationError(
                "This form was missing its one-time token (an old page or a lost field), so "
                "nothing was created. Check the fields and press the button again.")
        return uuid.UUID(self.cleaned_data["token"])

    def clean_name(self):
        return clean_display_name(self.cleaned_data["name"], "Give the campaign a name.")

    def clean_phone_numbers(self):
        # A number sent twice would be sent to Atoms twice: keep each once, in order.
        return list(dict.fromkeys(self.cleaned_data["phone_numbers"]))

    def clean_scheduled_at(self):
        when = self.cleaned_data.get("scheduled_at")
        if when is None:
            return None
        now = timezone.now()
        too_far = "Choose a time within the next year."
        past = "Choose a time in the future, or leave it empty."
        typed, zone = when.replace(tzinfo=None), self.browser_zone()
        # Sent with its offset (a script's "…T09:00+05:30", never a browser's): that is the
        # instant. It was read as 09:00 in the person's zone.
        offset_sent = _OFFSET.search(str(self.data.get(self.add_prefix("scheduled_at"), "")))
        try:
            # Else Django read the value in the server's zone; the person meant their own.
            when = when if offset_sent else typed.replace(tzinfo=zone)
            ahead = when - now
            # A time the clocks skip (02:30 when they go forward at 02:00) comes back from
            # UTC as another time: it was silently moved an hour.
            skipped = when.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != typed
        except OverflowError:  # the year 9999 behind UTC, or the year 1 ahead of it
            raise forms.ValidationError(too_far if typed > now.replace(tzinfo=None)
                                        else past) from None
        if ahead > MAX_SCHEDULE_AHEAD:
            raise forms.ValidationError(too_far)
        if skipped and not offset_sent:
            raise forms.ValidationError(
                f"{typed:%H:%M} on {typed:%d %B %Y} does not exist in {zone.key}: the clocks go "
                "forward then. Choose another time.")
        if not offset_sent and when.utcoffset() != when.replace(fold=1).utcoffset():
            # 01:30 when the clocks go back at 02:00 happens twice, an hour apart: it was
            # taken as the first without a word, and shown back without saying which.
            raise forms.ValidationError(
                f"{typed:%H:%M} on {typed:%d %B %Y} happens twice in {zone.key}: the clocks "
                "go back then. Choose a time outside that hour.")
        if ahead <= timedelta(0):
            raise forms.ValidationError(past)
        if self.starting:
            raise forms.ValidationError(
                "Leave Start at empty to start now, or use “Create campaign” to schedule it."
            )
        return when

    def campaign_fields(self) -> dict:
        """The cleaned values as `services.CampaignInput` takes them."""
        data = self.cleaned_data
        agent = self.pickers.agent(data["agent"])
        audience = self.pickers.audience(data["audience"])
        return dict(
            name=data["name"],
            description=data["description"].strip(),
            agent_id=data["agent"],
            audience_id=data["audience"],
            phone_number_ids=tuple(data["phone_numbers"]),
            max_retries=data["max_retries"],
            retry_delay=data["retry_delay"],
            scheduled_at=data["scheduled_at"],
            agent_name=agent.name if agent else "",
            audience_name=audience.name if audience else "",
        )

    def add_errors(self, field_errors: dict[str, list[str]]) -> None:
        form_fields = {"agent": "agent", "audience": "audience", "phone_numbers": "phone_numbers"}
        for name, messages in field_errors.items():
            target = form_fields.get(name, name)
            for message in messages:
                self.add_error(target if target in self.fields else None, message)


def _ratio(part: str, whole: str):
    """part/whole as a float, NULL when whole is 0 (sorted last: nothing to compare yet)."""
    return ExpressionWrapper(F(part) * 1.0 / NullIf(F(whole), 0), output_field=FloatField())


# "Status" sorts as a person reads the board, the most active first, not alphabetically
# (Completed, Draft, Paused…); a status Atoms adds later comes last.
_STATUS_RANK = Case(*(When(status=status, then=Value(rank)) for rank, status in enumerate((
    CampaignStatus.RUNNING, CampaignStatus.PROCESSING, CampaignStatus.SCHEDULED,
    CampaignStatus.PAUSED, CampaignStatus.DRAFT, CampaignStatus.COMPLETED,
    CampaignStatus.FAILED))), default=Value(99), output_field=IntegerField())

# Each sort: the ordering expressions (ties broken by newest) and the label people pick.
SORTS = {
    "created": ((F("created_at").desc(),), "Newest first"),
    "created_asc": ((F("created_at").asc(),), "Oldest first"),
    # When Atoms last changed it (its `updatedAt`), not when our copy was last saved.
    "modified": ((F("remote_updated_at").desc(nulls_last=True), F("modified_at").desc()),
                 "Recently modified"),
    "name": ((Lower("name").asc(), F("created_at").desc()), "Name (A to Z)"),
    "status": ((_STATUS_RANK, F("created_at").desc()), "Status"),
    "progress": ((_ratio("contacts_called", "total_participants").desc(nulls_last=True),
                  F("created_at").desc()), "Most progress"),
    "connect_rate": ((_ratio("contacts_connected", "contacts_called").desc(nulls_last=True),
                      F("created_at").desc()), "Best connect rate"),
}


def validate_name_search(value: str) -> None:
    """A search among names takes what names may hold: no direction-override or control
    characters (a search for them can find nothing, and the page says what was looked
    for: they made its sentence show reversed; attacker probe)."""
    if any(ch in _BIDI_CONTROLS or unicodedata.category(ch) == "Cc" for ch in value):
        raise forms.ValidationError(
            "Remove the control or text-direction characters (often pasted by accident): no "
            "campaign name holds them.")


class FilterForm(forms.Form):
    """A page's filters, read from its address: what cannot be used is said above the
    results (`_filter_errors.html`) and left out of them, the rest applied."""

    # The multiple choices sent with some values not offered, whose offered ones apply.
    partly_kept: tuple[str, ...] = ()

    def clean(self):
        """A multiple choice sent with values it does not offer (an edited address) keeps
        the offered ones, and says which were left out: `status=completed&status=bogus`
        listed every call, not the completed ones (a probe)."""
        cleaned = super().clean()
        kept = []
        for name, field in self.fields.items():
            if not isinstance(field, forms.MultipleChoiceField) or name not in self.errors:
                continue
            sent = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            offered = [value for value in sent if field.valid_value(value)]
            if offered:
                cleaned[name] = offered
                refused = ", ".join(f"“{value[:40]}”" for value in sent
                                    if not field.valid_value(value))
                self.errors[name] = self.error_class(
                    [f"{refused} is not one of the choices, and was left out; the others apply."])
                kept.append(name)
        self.partly_kept = tuple(kept)
        return cleaned

    def wholly_left_out(self) -> list[str]:
        """The filters refused whole: the results are as if they had not been sent."""
        return [name for name in self.errors if name not in self.partly_kept]


class BoardSearchForm(FilterForm):
    q = forms.CharField(label="Find a campaign", required=False, max_length=MAX_NAME_LENGTH,
                        validators=[validate_name_search],
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))

    @property
    def search_for(self) -> str:
        """The search to apply: none when what was typed cannot be one (said beside it)."""
        self.is_valid()
        return self.cleaned_data.get("q") or ""


class CampaignFilterForm(FilterForm):
    q = forms.CharField(label="Search by name", required=False, max_length=MAX_NAME_LENGTH,
                        validators=[validate_name_search])
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *CampaignStatus.choices]
    )
    sort = forms.ChoiceField(
        label="Sort", required=False, choices=[(k, label) for k, (_, label) in SORTS.items()]
    )

    def filter(self, queryset):
        """Apply each valid filter; an invalid one (an edited URL) is ignored on its own,
        rather than failing the page or dropping the valid ones with it (a bad status
        listed every campaign while the search box still showed the search)."""
        self.is_valid()
        data = self.cleaned_data
        queryset = queryset.filter(listed_q(data.get("q") or "", data.get("status") or ""))
        order = SORTS[data.get("sort") or "created"][0]
        return queryset.order_by(*order, "-pk")


class DeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the campaign's name to confirm", max_length=400)


class CallingHoursForm(forms.Form):
    default_renderer = FieldGroupRenderer()
    zone = forms.CharField(
        label="Time zone", max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off",
                                      "data-browser-zone": ""}),
        help_text="The clock the windows follow, e.g. Europe/London or America/New_York: a "
                  "city's zone, which moves to summer time as the city does.",
        error_messages={"required": calling_hours.zone_problem("")},
    )
    windows = forms.CharField(
        label="Calling windows", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=f"One per line: days, then from–to in 24-hour time, e.g. "
                  f"“{calling_hours.EXAMPLE}” or “Sat 18:00-24:00” (24:00 is midnight). Leave "
                  "empty to call at any time.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Needed with windows (it was labelled "optional", then refused when left empty);
        # with none, the hours are removed and a zone is not asked for.
        if self.is_bound and not self.data.get("windows", "").strip():
            self.fields["zone"].required = False

    def clean(self):
        data = super().clean()
        windows, zone = data.get("windows", ""), data.get("zone", "")
        if self.has_error("zone"):  # left empty: said by the field
            return data
        data["zone"] = zone = calling_hours.listed_zone(zone)
        problem = calling_hours.zone_problem(zone) if windows.strip() else None
        if problem:
            self.add_error("zone", problem)
            return data
        try:
            data["hours"] = calling_hours.parse(windows, zone)
        except ValueError as error:
            self.add_error("windows", str(error))
        return data


class ActivityFilterForm(FilterForm):
    # By campaign and by person too: with action and outcome alone, finding what happened
    # to one campaign meant paging through 50 entries a page (a probe).
    campaign = forms.CharField(label="Campaign", required=False, max_length=MAX_NAME_LENGTH,
                               widget=forms.TextInput(attrs={
                                   "type": "search", "placeholder": "Name or Atoms id"}))
    who = forms.CharField(label="Who", required=False, max_length=150,
                          widget=forms.TextInput(attrs={"type": "search"}))
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEntry.Action.choices]
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEntry.Outcome.choices]
    )

    @property
    def filtering(self) -> bool:
        self.is_valid()
        return any(self.cleaned_data.values())

    def filter(self, queryset):
        """Each valid filter; an invalid one (an edited address) is left out on its own and
        said on the page, as CampaignFilterForm does."""
        self.is_valid()
        data = self.cleaned_data
        if campaign := (data.get("campaign") or "").strip():
            queryset = queryset.filter(Q(campaign_name__icontains=campaign)
                                       | Q(atoms_id=campaign))
        if who := (data.get("who") or "").strip():
            queryset = queryset.filter(actor_name__icontains=who)
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("outcome"):
            queryset = queryset.filter(outcome=data["outcome"])
        return queryset


# --- audiences and the do-not-call list ------------------------------------------------


# Regions phonenumbers' English names leave blank.
_UNNAMED_REGIONS = {"AC": "Ascension Island", "BL": "Saint Barthélemy", "EH": "Western Sahara",
                    "MF": "Saint Martin", "TA": "Tristan da Cunha", "XK": "Kosovo"}


@functools.cache
def region_choices() -> list[tuple[str, str]]:
    """Countries by name, as a person looks for them ("United Kingdom (+44)"), not by code."""
    # Imported here, when a form first lists the countries: the geocoder loads every
    # prefix's place names (0.7 s of CPU), which every web server, worker and test process
    # paid at start-up for one list that reads 245 of them.
    from phonenumbers import geocoder

    def name(code: str) -> str:
        example = phonenumbers.example_number(code)
        return (geocoder.country_name_for_number(example, "en") if example else ""
                ) or _UNNAMED_REGIONS.get(code, code)
    return sorted(((code, f"{name(code)} (+{phonenumbers.country_code_for_region(code)})")
                   for code in phonenumbers.SUPPORTED_REGIONS),
                  key=lambda choice: _alphabetical(choice[1]))


def _alphabetical(text: str) -> str:
    """A name's place in a list, accents aside: "Åland Islands" sorted after "Zimbabwe"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c)).casefold()


def region_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Country of national numbers", choices=region_choices,
        initial=lambda: settings.AUDIENCE_DEFAULT_REGION,
        help_text="Numbers written without +country code, like (415) 555-0100, are read as "
                  "numbers of this country.",
    )


CHOOSE_THE_FILE_AGAIN = ("Choose the file again: a browser does not keep a chosen file when "
                         "the form comes back.")


class ContactsFileMixin:
    """Reads the chosen file with `contacts_csv`; its one-sentence problem goes beside it."""

    # An audience's file; a plain list of numbers says False.
    audience = True

    def ask_for_the_file_again(self) -> None:
        """For a form refused for another field (or by the view, after it was valid): the
        page comes back with the file field empty, so say so beside it rather than leave
        the person to find out from a second refusal."""
        if self.files.get(self.add_prefix("file")) and "file" not in self.errors:
            self.add_error("file", CHOOSE_THE_FILE_AGAIN)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > contacts_csv.MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is 5 MB, so split "
                "it into smaller files.")
        raw = upload.read()
        try:
            self.table = contacts_csv.read_table(raw, audience=self.audience)
        except contacts_csv.BadFile as bad:
            raise forms.ValidationError(bad.message) from None
        self.raw = raw
        return upload

    def clean(self):
        cleaned = super().clean()
        column = (cleaned.get("phone_column") or "").strip()
        if column and getattr(self, "table", None) is not None:
            try:
                cleaned["phone_column"] = contacts_csv.find_column(self.table.header, column)
            except contacts_csv.BadFile as bad:
                self.add_error("phone_column", bad.message)
        return cleaned


class AudienceUploadForm(ContactsFileMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=MAX_NAME_LENGTH,
                           error_messages={"required": "Give the audience a name."})
    description = forms.CharField(label="Description", required=False,
                                  max_length=MAX_DESCRIPTION_LENGTH)
    file = forms.FileField(
        label="Contacts (CSV file)",
        help_text="A header row, then one contact per row; up to 10,000 contacts and 5 MB.",
        error_messages={"required": "Choose the CSV file of contacts to upload.",
                        "empty": contacts_csv.EMPTY_FILE},
    )
    phone_column = forms.CharField(
        label="Phone number column", max_length=100, required=False,
        help_text="The header of the column that holds the phone numbers; leave it empty "
                  "to have it found for you.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = region_field()

    def clean_name(self):
        return clean_display_name(self.cleaned_data["name"], "Give the audience a name.")


class ColumnForm(forms.Form):
    """On the preview: which column holds the numbers, and their country."""

    phone_column = forms.ChoiceField(label="Phone number column")

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone_column"].choices = [("", "Choose the column…")] + [
            (name, name) for name in header]
        self.fields["region"] = region_field()


class MemberAddForm(forms.Form):
    phone_number = forms.CharField(label="Phone number", max_length=40, error_messages={
        "required": "Type the contact's phone number."})

    def __init__(self, *args, columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for column in columns:
            self.fields[f"col_{column}"] = forms.CharField(label=column,
                                                           max_length=contacts_csv.MAX_VALUE,
                                                           required=False)
        self.fields["region"] = region_field()

    def member_values(self, phone_column: str) -> dict[str, str]:
        values = {c: self.cleaned_data.get(f"col_{c}", "") for c in self.columns}
        values[phone_column] = self.cleaned_data["phone_number"]
        return values


class SuppressionAddForm(forms.Form):
    phone_number = forms.CharField(label="Phone number", max_length=40, error_messages={
        "required": "Type the number that must not be called."})
    note = forms.CharField(label="Note", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = region_field()


class SuppressionRemoveForm(forms.Form):
    default_renderer = FieldGroupRenderer()
    reason = forms.CharField(
        label="Why may it be called again?", max_length=200,
        error_messages={"required": "Say why: it is kept in the activity log."},
        help_text="For example “mistyped: the customer's number ends in 42”.")

    def clean_reason(self):
        return clean_display_name(self.cleaned_data["reason"], "Say why: it is kept in the "
                                                               "activity log.")


class SuppressionImportForm(ContactsFileMixin, forms.Form):
    audience = False
    file = forms.FileField(label="CSV file of numbers",
                           help_text="One number per row, with or without a header row; a "
                                     "column called “note” (or the second column) gives each "
                                     "number its note.",
                           error_messages={"empty": contacts_csv.EMPTY_FILE})
    phone_column = forms.CharField(label="Phone number column", max_length=100,
                                   required=False,
                                   help_text="Leave empty to have it found for you.")

    def __init__(self, *args, **kwargs):
        # It shares its page with SuppressionAddForm, which has a "region" too: ids of its
        # own, so each label names its own field (the POSTed names stay the same).
        kwargs.setdefault("auto_id", "id_import_%s")
        super().__init__(*args, **kwargs)
        self.fields["region"] = region_field()


# --- people and roles (/users/) ----------------------------------------------------------

# Only the three roles: nothing here can make a superuser or change what a role may do.
ROLE_CHOICES = [(role, label) for role, label in ROLE_LABELS.items()]


class OwnPasswordChangeForm(PasswordChangeForm):
    """The old password is checked as a sign-in is (`authenticate`): wrong guesses count
    towards the sign-in lockout (django-axes), so a borrowed session cannot try
    passwords at the rate limit's pace, and a locked-out name cannot change it."""

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        if authenticate(self.request, username=self.user.get_username(), password=old) is None:
            raise forms.ValidationError(self.error_messages["password_incorrect"],
                                        code="password_incorrect")
        return old

    def clean(self):
        cleaned = super().clean()
        # Only once the old one is known right: a change to the same password was said
        # done ("Your password is changed.") and logged as one.
        new = cleaned.get("new_password1")
        if new and new == cleaned.get("old_password"):
            self.add_error("new_password1", "Choose a password different from your current one.")
        return cleaned


class PersonPasswordForm(SetPasswordForm):
    """An admin's new password for someone else: Django's form, in words about them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Their new password"
        self.fields["new_password1"].help_text = (
            "At least 8 characters, not only digits, not a common password, and not like "
            "their username.")
        self.fields["new_password2"].label = "The same again"
        self.fields["new_password2"].help_text = ""


USERNAME_TAKEN = "Someone already has this username."


class UserCreateForm(forms.Form):
    default_renderer = FieldGroupRenderer()
    username = forms.RegexField(
        label="Username", max_length=150, regex=r"^[\w.@+-]+$",
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
        # Someone else's: a password manager took the form for the admin's own sign-in and
        # offered to fill in their name and password.
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.EmailField(label="Email", required=False)
    role = forms.ChoiceField(
        label="Role", choices=ROLE_CHOICES,
        help_text="An admin's password is never one another admin chose: add a future "
                  "admin as Staff or Manager, have their password reset on the server, "
                  "then make them an admin.")
    password = forms.CharField(
        label="First password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Tell it to them in person; they can change it by clicking their name "
                  "at the top of any page.")

    def clean_username(self):
        # As it will be stored (NFKC: a full-width "ｐ" is a "p"), so a look-alike of an
        # existing name is caught here, not by the database.
        username = get_user_model().normalize_username(self.cleaned_data["username"])
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(USERNAME_TAKEN)
        if not username.isascii():
            # A Cyrillic "а" or a dotless "ı" made "p6_аdmin", which the activity log shows
            # exactly as "p6_admin": an admin could act under a name read as another's.
            raise forms.ValidationError(
                "Use letters without accents (a to z), digits and @ . + - _ only: a name in "
                "other letters can look exactly like someone else's.")
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = get_user_model()(username=cleaned.get("username", ""),
                                     email=cleaned.get("email", ""))
            try:
                validate_password(password, probe)
            except ValidationError as error:
                self.add_error("password", error)
        if password and self.errors and not self.has_error("password"):
            # The box comes back empty (a password is never written into a page): said
            # beside it, or the next Add failed on it with nothing said before (a probe).
            self.add_error("password", "Type it again: a password is never shown back on "
                                       "the page.")
        return cleaned


class UserChangeForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, required=False)
    active = forms.TypedChoiceField(
        label="Account", required=False, coerce=lambda v: v == "1",
        choices=[("1", "Active"), ("0", "Deactivated")], empty_value=None)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("role") and cleaned.get("active") is None:
            raise forms.ValidationError("Nothing to change was chosen.")
        return cleaned


# --- alert routing ----------------------------------------------------------------------

class AlertChoiceForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Told of", choices=Alert.Kind.choices, required=False,
        widget=forms.CheckboxSelectMultiple)
    # "Back to their role's default" instead of a choice of kinds.
    by_role = forms.BooleanField(required=False)


class AlertWebhookForm(forms.Form):
    default_renderer = FieldGroupRenderer()
    name = forms.CharField(label="Name", max_length=100,
                           error_messages={"required": "Give the webhook a name."},
                           help_text="Whose channel it is, e.g. “Sales team on Slack”.")
    url = forms.URLField(
        label="Webhook URL", max_length=500, assume_scheme="https",
        help_text="Slack's incoming-webhook address, or any receiver of the same JSON.")
    kinds = forms.MultipleChoiceField(
        label="Alerts it gets", choices=Alert.Kind.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text="None ticked: every kind.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No maxlength in the page: a browser cuts a longer pasted address without a word,
        # and alerts would go to another URL. Too long is said beside the field instead.
        self.fields["url"].widget.attrs.pop("maxlength", None)

    def clean_name(self):
        return clean_display_name(self.cleaned_data["name"], "Give the webhook a name.")

    def clean_url(self):
        url = self.cleaned_data["url"]
        refusal = webhooks.refused_address(url)
        if refusal:
            raise ValidationError(refusal)
        holder = webhooks.holder_of(url)
        if holder:
            raise ValidationError(f"“{holder.name}” already has this URL, so each alert "
                                  "would be posted to it twice.")
        return url


# --- call log ---------------------------------------------------------------------------

# Atoms' call statuses a person filters by, in words (atoms-api.md §7.1).
CALL_STATUS_CHOICES = [
    ("completed", "Connected"), ("no_answer", "No answer or voicemail"),
    ("failed", "Failed or busy"), ("cancelled", "Cancelled"), ("in_progress", "In progress"),
]
REASON_CHOICES = [
    ("user_hangup", "Contact hung up"), ("agent_hangup", "Agent hung up"),
    ("timeout", "No answer (timed out)"), ("connection_error", "Connection error"),
    ("system_error", "System error"), ("transfer_complete", "Transferred"),
]
ATTEMPT_CHOICES = [("all", "First calls and retries"), ("initial", "First calls only"),
                   ("retry", "Retries only")]
DURATION_CHOICES = [("0-30", "Under 30 s"), ("30-60", "30–60 s"), ("1-5", "1–5 min"),
                    ("5+", "Over 5 min")]
MAX_LOG_PAGE = 10_000


class CallLogFilterForm(FilterForm):
    # Atoms matches its `search` against each call's id and numbers as it keeps them
    # (+14155550100): a number is sent as its digits, so "(415) 555-0100" finds it too.
    q = forms.CharField(label="Number or call id", required=False, max_length=40,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
                        error_messages={"max_length": "A number or a call id is at most 40 "
                                                      "characters."})
    status = forms.MultipleChoiceField(label="Status", required=False,
                                       choices=CALL_STATUS_CHOICES,
                                       widget=forms.CheckboxSelectMultiple)
    reason = forms.MultipleChoiceField(label="Disconnection reason", required=False,
                                       choices=REASON_CHOICES,
                                       widget=forms.CheckboxSelectMultiple)
    attempt = forms.ChoiceField(label="Attempt", required=False, choices=ATTEMPT_CHOICES)
    duration = forms.MultipleChoiceField(label="Duration", required=False,
                                         choices=DURATION_CHOICES,
                                         widget=forms.CheckboxSelectMultiple)
    size = forms.TypedChoiceField(label="Calls per page", required=False, coerce=int,
                                  choices=[(n, str(n)) for n in (25, 50, 100, 500)],
                                  empty_value=50, initial=50)
    page = forms.IntegerField(label="Page", required=False, min_value=1,
                              max_value=MAX_LOG_PAGE)

    def clean_q(self) -> str:
        typed = self.cleaned_data["q"].strip()
        if typed and not re.search(r"\w", typed):
            raise forms.ValidationError("Type a phone number or a call id.")
        return typed
