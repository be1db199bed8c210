"""Django's admin, for superusers only.

Roles are managed inside the product (/users/, campaigns.views.users); an admin *role*
holding auth permissions must not reach Django's admin, where it could tick
`is_superuser` or rewrite the role groups' permissions.
"""

from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse


class SuperuserAdminSite(AdminSite):
    site_header = "Atoms dashboard: superuser admin"

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    @login_not_required  # as Django's: it says where to sign in, rather than the middleware
    def login(self, request, extra_context=None):
        """The site has one sign-in page, the product's: it remembers the browser, which
        then passes a lockout a guesser caused (campaigns/known_devices.py); Django's
        admin had a second one that did not. Someone signed in without superuser rights
        is told so here, not asked to sign in again (the sign-in page would send them
        straight back)."""
        index = reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return redirect(index)
        if request.user.is_authenticated:
            raise PermissionDenied("Django's admin is for superusers only: people and what they "
                                   "may do are managed on the Users page.")
        return redirect_to_login(request.GET.get(REDIRECT_FIELD_NAME) or index,
                                 reverse("login"))
