"""A posted field's name in the words of this site's forms: the refusal pages ("Send again")
list what was typed under the label the person saw ("Retry delay (minutes)"), not the
field's name ("Retry_delay")."""

from django import forms as django_forms
from django import template
from django.forms.utils import pretty_name

from campaigns import forms

register = template.Library()


def _labels_of_our_forms() -> dict[str, str]:
    """Each field name's label; a name two forms label differently is left to pretty_name."""
    labels: dict[str, set[str]] = {}
    for form in vars(forms).values():
        if isinstance(form, type) and issubclass(form, django_forms.BaseForm):
            for name, field in form.base_fields.items():
                labels.setdefault(name, set()).add(str(field.label or pretty_name(name)))
    return {name: found.pop() for name, found in labels.items() if len(found) == 1}


_LABELS = _labels_of_our_forms()


@register.filter
def form_label(name: str) -> str:
    return _LABELS.get(name, pretty_name(name))
