"""`manage.py healthcheck [--only part ...]`: /readyz's checks from a shell, for container
health checks of processes that serve no HTTP (the worker, the beat). Exit 1 when any
asked-for part fails; prints only ok or failing per part."""

from django.core.management.base import BaseCommand, CommandError

from campaigns.health import readiness


class Command(BaseCommand):
    help = "Check the database, Redis, the broker and the poller like /readyz does."

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="*", choices=["database", "redis", "broker",
                                                          "poller"], default=None)

    def handle(self, *args, only, **options):
        checks = readiness()
        wanted = {name: ok for name, ok in checks.items() if not only or name in only}
        for name, ok in wanted.items():
            self.stdout.write(f"{name}: {'ok' if ok else 'failing'}")
        if not all(wanted.values()):
            raise CommandError("not ready")
