"""Time in words for pages: Django's timesince/timeuntil say "0 minutes" for anything under
a minute ("Next try in 0 minutes", "0 minutes ago"), which reads as a fault."""

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def ago(moment) -> str:
    """ "3 minutes ago", or "just now"."""
    if not moment:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def from_now(moment) -> str:
    """ "in 3 minutes", or "in under a minute"."""
    if not moment:
        return ""
    if (moment - timezone.now()).total_seconds() < 60:
        return "in under a minute"
    return f"in {timeuntil(moment)}"
