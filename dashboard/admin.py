"""Django's admin, for superusers only.

Roles are managed inside the product (/users/, campaigns.views.users); an admin *role*
holding auth permissions must not reach Django's admin, where it could tick
`is_superuser` or rewrite the role groups' permissions.
"""

from django.contrib.admin import AdminSite


class SuperuserAdminSite(AdminSite):
    site_header = "Atoms dashboard: superuser admin"

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser
