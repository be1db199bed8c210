"""Forms: every limit is enforced here, on the server, with the message beside its field."""

import uuid

import phonenumbers
from django import forms
from django.conf import settings
from django.forms.renderers import TemplatesSetting
from django.utils import timezone

from campaigns import contacts_csv
from campaigns.atoms import CampaignStatus
from campaigns.catalog import Pickers
from campaigns.models import AuditEntry

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 1000


def _phone_label(number) -> str:
    provider = (number.provider or "unknown provider").capitalize()
    return f"{number.number} · {provider}"


def _audience_label(audience) -> str:
    if audience.member_count is None:
        return audience.name
    noun = "contact" if audience.member_count == 1 else "contacts"
    return f"{audience.name} ({audience.member_count:,} {noun})"


class FieldGroupRenderer(TemplatesSetting):
    """`{{ form.x.as_field_group }}` renders our field template: label, widget, help text
    and the field's own errors beside it."""

    field_template_name = "campaigns/_field.html"


class CampaignForm(forms.Form):
    default_renderer = FieldGroupRenderer()
    token = forms.UUIDField(widget=forms.HiddenInput)
    name = forms.CharField(label="Name", max_length=MAX_NAME_LENGTH)
    description = forms.CharField(
        label="Description", required=False, max_length=MAX_DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    agent = forms.ChoiceField(label="Agent", help_text="The AI agent that makes the calls.")
    audience = forms.ChoiceField(label="Audience", help_text="The contacts to call.")
    phone_numbers = forms.MultipleChoiceField(
        label="Phone numbers", widget=forms.CheckboxSelectMultiple,
        help_text="Calls go out from these numbers, in turn.",
        error_messages={"required": "Choose at least one number to call from."},
    )
    max_retries = forms.IntegerField(
        label="Max retries", min_value=0, max_value=10, initial=3,
        help_text="How many times to call again a contact who did not answer (0–10).",
    )
    retry_delay = forms.IntegerField(
        label="Retry delay (minutes)", min_value=1, max_value=1440, initial=15,
        help_text="Minutes to wait before calling again (1–1440).",
    )
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
        self.fields["agent"].choices = blank + [(a.id, a.name) for a in pickers.agents]
        self.fields["audience"].choices = [("", "Choose an audience…")] + [
            (a.id, _audience_label(a)) for a in pickers.audiences
        ]
        self.fields["phone_numbers"].choices = [
            (p.id, _phone_label(p)) for p in pickers.phone_numbers if p.is_active
        ]
        zone = timezone.get_current_timezone_name()
        self.fields["scheduled_at"].help_text += f" Times are {zone}."
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the campaign a name.")
        return name

    def clean_scheduled_at(self):
        when = self.cleaned_data.get("scheduled_at")
        if when is None:
            return None
        if when <= timezone.now():
            raise forms.ValidationError("Choose a time in the future, or leave it empty.")
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


SORTS = {
    "created": ("-created_at", "Newest first"),
    "created_asc": ("created_at", "Oldest first"),
    "modified": ("-modified_at", "Recently modified"),
}


class CampaignFilterForm(forms.Form):
    q = forms.CharField(label="Search by name", required=False, max_length=MAX_NAME_LENGTH)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *CampaignStatus.choices]
    )
    sort = forms.ChoiceField(
        label="Sort", required=False, choices=[(k, label) for k, (_, label) in SORTS.items()]
    )

    def filter(self, queryset):
        """Apply what is valid; an invalid value is ignored rather than failing the page."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("q"):
            queryset = queryset.filter(name__icontains=data["q"].strip())
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        order = SORTS.get(data.get("sort") or "created")[0]
        return queryset.order_by(order, "-pk")


class DeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the campaign's name to confirm", max_length=400)


class ActivityFilterForm(forms.Form):
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEntry.Action.choices]
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEntry.Outcome.choices]
    )

    def filter(self, queryset):
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("outcome"):
            queryset = queryset.filter(outcome=data["outcome"])
        return queryset


# --- audiences and the do-not-call list ------------------------------------------------


def region_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} (+{phonenumbers.country_code_for_region(code)})")
            for code in sorted(phonenumbers.SUPPORTED_REGIONS)]


def region_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Country of national numbers", choices=region_choices,
        initial=lambda: settings.AUDIENCE_DEFAULT_REGION,
        help_text="Numbers written without +country code, like (415) 555-0100, are read as "
                  "numbers of this country.",
    )


class ContactsFileMixin:
    """Reads the chosen file with `contacts_csv`; its one-sentence problem goes beside it."""

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > contacts_csv.MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is 5 MB, so split "
                "it into smaller files.")
        raw = upload.read()
        try:
            self.table = contacts_csv.read_table(raw)
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
    name = forms.CharField(label="Name", max_length=MAX_NAME_LENGTH)
    description = forms.CharField(label="Description", required=False,
                                  max_length=MAX_DESCRIPTION_LENGTH)
    file = forms.FileField(
        label="Contacts (CSV file)",
        help_text="A header row, then one contact per row; up to 10,000 contacts and 5 MB.",
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
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the audience a name.")
        return name


class ColumnForm(forms.Form):
    """On the preview: which column holds the numbers, and their country."""

    phone_column = forms.ChoiceField(label="Phone number column")

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone_column"].choices = [("", "Choose the column…")] + [
            (name, name) for name in header]
        self.fields["region"] = region_field()


class MemberAddForm(forms.Form):
    phone_number = forms.CharField(label="Phone number", max_length=40)

    def __init__(self, *args, columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for column in columns:
            self.fields[f"col_{column}"] = forms.CharField(label=column, max_length=500,
                                                           required=False)
        self.fields["region"] = region_field()

    def member_values(self, phone_column: str) -> dict[str, str]:
        values = {c: self.cleaned_data.get(f"col_{c}", "") for c in self.columns}
        values[phone_column] = self.cleaned_data["phone_number"]
        return values


class SuppressionAddForm(forms.Form):
    phone_number = forms.CharField(label="Phone number", max_length=40)
    note = forms.CharField(label="Note", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = region_field()


class SuppressionImportForm(ContactsFileMixin, forms.Form):
    file = forms.FileField(label="CSV file of numbers",
                           help_text="A header row, then one number per row.")
    phone_column = forms.CharField(label="Phone number column", max_length=100,
                                   required=False,
                                   help_text="Leave empty to have it found for you.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = region_field()


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


class CallLogFilterForm(forms.Form):
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
                                  empty_value=50)
    page = forms.IntegerField(label="Page", required=False, min_value=1,
                              max_value=MAX_LOG_PAGE)
