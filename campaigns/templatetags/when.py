"""Times on pages: in words (Django's timesince/timeuntil say "0 minutes" for anything
under a minute, "Next try in 0 minutes", which reads as a fault), and as times of day in
the person's own zone (`local`)."""

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
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


# Each style of `local`: Django's date format, for the page as the server writes it; app.js
# writes the same parts with the browser's Intl.DateTimeFormat (its `data-local` styles).
LOCAL_STYLES = {
    "date": "M j, Y",
    "minute": "M j, Y H:i",
    "zoned": "M j, Y H:i",  # the browser's version also names its zone
    "second": "M j, Y H:i:s",
    "day-minute": "M j, H:i",
    "day-second": "M j, H:i:s",
    "time": "H:i:s",
}


@register.filter
def local(moment, style: str = "minute") -> str:
    """A time as `<time>`, in the person's own zone: written in the server's zone and
    labelled so ("13:22 UTC") for a page read without JavaScript, then written again by
    app.js in the browser's zone, the one "Start at" is typed in, so that every time on
    every page reads in one zone (a page once showed "Starts at 8:52 PM (Asia/Kolkata)"
    above "Created 13:22", unlabelled UTC)."""
    if not moment:
        return ""
    written = timezone.localtime(moment)
    return format_html('<time data-local="{}" datetime="{}" title="{}">{}</time>', style,
                       moment.isoformat(), dateformat.format(written, "M j, Y H:i:s T"),
                       dateformat.format(written, f"{LOCAL_STYLES[style]} T"))


@register.filter
def call_length(seconds) -> str:
    """A call's length in whole seconds, cut rather than rounded, so that it reads in the
    duration filter's bucket (Atoms' buckets are [low, high): a 29.5 s call shown as "30 s"
    was listed under "Under 30 s"); in minutes and seconds from a minute on, as the filter
    speaks of minutes. The call page and the call log say it the same way."""
    if seconds is None or seconds == "":
        return "—"
    whole = int(float(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"
