from django.contrib.admin.apps import AdminConfig


class SuperuserAdminConfig(AdminConfig):
    """Installs dashboard.admin.SuperuserAdminSite as `admin.site`."""

    default_site = "dashboard.admin.SuperuserAdminSite"
