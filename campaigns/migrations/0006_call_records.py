import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0005_audit_user_actions'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='call_summary',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='campaign',
            name='calls_synced_to',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='CallRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('call_id', models.CharField(max_length=64, unique=True)),
                ('to_number', models.CharField(blank=True, max_length=32)),
                ('status', models.CharField(max_length=32)),
                ('outcome', models.CharField(max_length=16)),
                ('attempt', models.PositiveSmallIntegerField(default=0)),
                ('duration', models.FloatField(default=0)),
                ('cost', models.FloatField(default=0)),
                ('created_at', models.DateTimeField(blank=True, null=True)),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='calls', to='campaigns.campaign')),
            ],
            options={
                'indexes': [models.Index(fields=['campaign', 'outcome'], name='campaigns_c_campaig_a55d65_idx'), models.Index(fields=['campaign', 'to_number', 'attempt'], name='campaigns_c_campaig_57a216_idx')],
            },
        ),
    ]
