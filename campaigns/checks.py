"""`manage.py check --deploy` refuses what must never reach a deployment."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from dashboard.settings import DEV_SECRET_KEY


@register(Tags.security, deploy=True)
def development_secret_key(app_configs, **kwargs):
    """The development key is published in settings.py: whoever reads it can sign a
    session as anyone. Django's own check (W009) passes it, as it is long and random."""
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        return [Error(
            "SECRET_KEY is the development key published in dashboard/settings.py "
            "(DEBUG=1 or DEMO_MODE=1 without SECRET_KEY); set SECRET_KEY to a secret value.",
            id="dashboard.E001")]
    return []
