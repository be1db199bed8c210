"""Every page requires sign-in (Django's LoginRequiredMiddleware), and a request made by
htmx in the background is sent to sign-in as a whole page.

A session can end while a page is open (signed out in another tab, a password changed, an
admin's deactivation, expiry). The page's next background request (the alerts badge, a
fragment's refresh) would follow the redirect inside the fetch and swap the sign-in page
into a corner of the page. Instead htmx is told to load the sign-in page in place of the
page, returning to that page (never to the fragment's URL) after signing in.
"""

from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        page = request.headers.get("HX-Current-URL", "")
        if not url_has_allowed_host_and_scheme(page, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            page = "/"
        parts = urlsplit(page)
        back = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = HttpResponse()
        response["HX-Redirect"] = redirect_to_login(
            back, resolve_url(self.get_login_url(view_func)))["Location"]
        return response
