from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0003_audiences"),
    ]

    operations = [
        migrations.AddField(
            model_name="createrequest",
            name="atoms_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="campaign",
            name="pending_outcome",
            field=models.CharField(
                blank=True,
                choices=[("", "None"), ("accepted", "Accepted by Atoms"),
                         ("unanswered", "No answer from Atoms")],
                default="", max_length=10),
        ),
        migrations.AddField(
            model_name="campaign",
            name="lapsed_action",
            field=models.CharField(
                blank=True, choices=[("", "None"), ("start", "Starting"), ("pause", "Pausing")],
                default="", max_length=8),
        ),
    ]
