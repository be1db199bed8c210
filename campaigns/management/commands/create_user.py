"""Create (or update) a user with one of the dashboard's roles."""

import getpass
import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaigns.accounts import ensure_user
from campaigns.permissions import ROLES


class Command(BaseCommand):
    help = "Create or update a user with a role: staff, manager or admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="staff, manager or admin")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password",
            help="the password (default: $DASHBOARD_USER_PASSWORD, else asked for)",
        )

    def handle(self, *args, username, role, email, password, **options):
        if role not in ROLES:
            raise CommandError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}")
        password = password or os.environ.get("DASHBOARD_USER_PASSWORD")
        if not password:
            password = getpass.getpass(f"Password for {username}: ")
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError("Password refused: " + " ".join(error.messages)) from None
        ensure_user(username, role, password, email)
        self.stdout.write(self.style.SUCCESS(f"User {username!r} now has the {role} role."))
