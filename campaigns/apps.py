from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from dashboard.sqlite import fold_case_in_like


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        # Imported once the app registry is ready, as Django asks of signal handlers.
        from django.contrib.auth.signals import user_logged_in

        from campaigns import checks  # noqa: F401 - registers the deploy checks
        from campaigns.accounts import forget_own_failed_sign_ins
        from campaigns.permissions import sync_role_groups

        user_logged_in.connect(forget_own_failed_sign_ins, dispatch_uid="forget-own-failures")
        # The demo's SQLite searches names as PostgreSQL does (dashboard/sqlite.py).
        connection_created.connect(fold_case_in_like, dispatch_uid="sqlite-fold-case")

        def sync_roles(sender, apps=global_apps, **kwargs) -> None:
            # `apps` is migrate's registry; flush (transactional tests) sends none.
            sync_role_groups(apps.get_model("auth", "Group"),
                             apps.get_model("auth", "Permission"))

        # After every migrate (not only the first): an edit to the role table in
        # campaigns.permissions reaches databases created before it.
        post_migrate.connect(sync_roles, sender=self, weak=False)
