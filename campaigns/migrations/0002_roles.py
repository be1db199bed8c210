"""Create the three role groups with the permissions they had when this was written.

The table is frozen here, as a migration must be: today's table in
`campaigns.permissions` reaches every database, old or new, through the post_migrate
handler in `campaigns.apps`.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

_VIEW = ["campaigns.view_campaign", "campaigns.view_metricsnapshot"]
_STAFF = [*_VIEW, "campaigns.add_campaign", "campaigns.start_campaign",
          "campaigns.manage_audiences"]
ROLE_PERMISSIONS = {
    "manager": _VIEW,
    "staff": _STAFF,
    "admin": [
        *_STAFF, "campaigns.pause_campaign", "campaigns.delete_campaign",
        "campaigns.view_auditentry", "auth.view_user", "auth.add_user", "auth.change_user",
        "auth.delete_user", "auth.view_group",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set([
            permission_model.objects.get(content_type__app_label=perm.split(".")[0],
                                         codename=perm.split(".")[1])
            for perm in perms
        ])


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
