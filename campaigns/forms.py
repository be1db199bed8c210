"""Forms: every limit is enforced here, on the server, with the message beside its field."""

import csv
import io
import uuid

from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils import timezone

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


# --- audience upload ---------------------------------------------------------------------

MAX_CSV_BYTES = 5 * 1024 * 1024  # Atoms' own limit
MAX_AUDIENCE_MEMBERS = 10_000


class AudienceUploadForm(forms.Form):
    name = forms.CharField(label="Name", max_length=MAX_NAME_LENGTH)
    description = forms.CharField(label="Description", required=False, max_length=1000)
    file = forms.FileField(
        label="Contacts (CSV file)",
        help_text="A header row, then one contact per row; up to 10,000 contacts and 5 MB.",
    )
    phone_column = forms.CharField(
        label="Phone number column", max_length=100, initial="phoneNumber",
        help_text="The header of the column that holds the phone numbers.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError("The file is over 5 MB; split it into smaller files.")
        raw = upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "This does not look like a CSV text file (save it as CSV UTF-8)."
            ) from None
        if "\x00" in text:
            raise forms.ValidationError("This does not look like a CSV text file.")
        self.csv_text = text
        return upload

    def clean(self):
        cleaned = super().clean()
        text = getattr(self, "csv_text", None)
        column = (cleaned.get("phone_column") or "").strip()
        if text is None or not column:
            return cleaned
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as error:
            self.add_error("file", f"The CSV could not be read: {error}.")
            return cleaned
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        if not rows:
            self.add_error("file", "The file is empty.")
            return cleaned
        header = [cell.strip() for cell in rows[0]]
        if column not in header:
            self.add_error(
                "phone_column",
                f"No column named “{column}” in the file; its columns are: {', '.join(header)}.",
            )
            return cleaned
        index = header.index(column)
        contacts = rows[1:]
        if not contacts:
            self.add_error("file", "The file has a header row but no contacts.")
        elif len(contacts) > MAX_AUDIENCE_MEMBERS:
            self.add_error("file", f"An audience holds at most {MAX_AUDIENCE_MEMBERS:,} contacts;"
                                   f" this file has {len(contacts):,}.")
        else:
            missing = [n for n, row in enumerate(contacts, start=2)
                       if index >= len(row) or not row[index].strip()]
            if missing:
                lines = ", ".join(str(n) for n in missing[:5])
                more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                self.add_error("file", f"Rows without a phone number: line {lines}{more}.")
        cleaned["phone_column"] = column
        cleaned["contact_count"] = len(contacts)
        return cleaned
