"""What a person sees when django-axes pauses their sign-in (AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.shortcuts import render


def locked_out(request, original_response=None, credentials=None):
    """The sign-in page's answer during a lockout: one sentence, with how long it lasts."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    return render(request, "registration/locked_out.html", {"wait": wait}, status=429)
