"""The sign-in page, and what a person sees when django-axes pauses their sign-in
(AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.shortcuts import render

from campaigns import known_devices


class SignInView(LoginView):
    """Django's, remembering the browser as one the person signed in from
    (campaigns/known_devices.py)."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        known_devices.remember(response, form.get_user())
        return response


def locked_out(request, original_response=None, credentials=None):
    """The sign-in page's answer during a lockout: one sentence, with how long it lasts."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    return render(request, "registration/locked_out.html", {"wait": wait}, status=429)
