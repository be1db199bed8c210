from django.db import migrations, models
from django.db.models import F


def copy_campaign_ids(apps, schema_editor):
    """Entries of campaigns still here know their id already; those of deleted ones lost it."""
    AuditEntry = apps.get_model("campaigns", "AuditEntry")
    AuditEntry.objects.filter(campaign__isnull=False).update(campaign_pk=F("campaign_id"))


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0019_deleted_in_atoms_alert"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="campaign_pk",
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(copy_campaign_ids, migrations.RunPython.noop),
    ]
