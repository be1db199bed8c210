"""Create the demo's three users (staff, manager, admin). Only in demo mode."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.accounts import ensure_user
from campaigns.permissions import ROLES

# Written in README.md; never valid outside demo mode, which refuses to start without it.
DEMO_PASSWORD = "atoms-demo"  # noqa: S105 - published on purpose, demo mode only


class Command(BaseCommand):
    help = "Create the demo users staff, manager and admin (password in README). Demo mode only."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Demo users are only created in demo mode (DEMO_MODE=1).")
        for role in ROLES:
            ensure_user(role, role, DEMO_PASSWORD)
        self.stdout.write(f"Demo users: {', '.join(ROLES)} (password {DEMO_PASSWORD!r}).")
