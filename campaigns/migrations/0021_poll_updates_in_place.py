"""Let a poll's writes update a campaign's row in place (PostgreSQL's heap-only tuples).

Every read of a campaign rewrites its row three times (claimed, taken, due again). With
`next_poll_at` indexed, each of those writes added an entry to every index of the table
(nine); without it, and with room left on each page for the new version, PostgreSQL
updates the row in place and prunes the old versions itself, even with autovacuum off.
Measured by `python -m bench poll_cycle` (docs/BENCHMARKS.md, issue 15's eighth part).
"""

from django.db import migrations, models

# Percent of each table page filled by inserts: the rest is room for updated versions.
CAMPAIGN_FILLFACTOR = 70


def _set_fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (the demo) has no such setting and no such cost
        table = schema_editor.quote_name(apps.get_model("campaigns", "Campaign")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0020_audit_campaign_pk'),
    ]

    operations = [
        migrations.AlterField(
            model_name='campaign',
            name='next_poll_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_set_fillfactor(CAMPAIGN_FILLFACTOR), _set_fillfactor(100)),
    ]
