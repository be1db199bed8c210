"""Soak: several users create, start, pause and delete through the real pages while Atoms
misbehaves (errors, timeouts, lost answers, 429s); then the faults clear and the dashboard
must agree with Atoms.

`python -m bench soak --minutes 3 --users 4 --redis-db 11`

Runs the product as shipped: uvicorn, a Celery worker with its beat, PostgreSQL (its own
database) and Redis (the database given, flushed at the start and the end), against the
simulator running in real time. Prints, after the faults clear: lost actions, duplicate
campaigns, actions still pending two poll intervals later, the dashboard's HTTP 5xx, and
mismatches between the dashboard's statuses and counts and Atoms' own. Exits 1 unless all
are zero.
"""

import argparse
import random
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import harness, measure

POLL_INTERVAL = 5
# Short enough that "not carried out" is decided within a soak, never shorter than a
# request to Atoms can take: bound = warn + connect + read = 8 s.
WORKER_ENV = {
    "POLL_INTERVAL_SECONDS": str(POLL_INTERVAL), "PENDING_ACTION_WARN_SECONDS": "5",
    "ATOMS_CONNECT_TIMEOUT": "1", "ATOMS_READ_TIMEOUT": "2", "SYNC_INTERVAL_SECONDS": "10",
    "ATOMS_MAX_RPS": "50", "LOG_LEVEL": "WARNING",
}
# 20 % of upstream requests go wrong, in four ways (429s come from the per-second budget).
FAULTS = {"error_rate": 0.07, "timeout_rate": 0.05, "drop_response_rate": 0.05,
          "timeout_seconds": 3, "rate_limit": 25}
TOKEN = re.compile(r'name="(csrfmiddlewaretoken|token)" value="([^"]+)"')
CAMPAIGN_URL = re.compile(r"/campaigns/(\d+)/$")


@dataclass
class Tally:
    """What the users did and what the dashboard told them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    actions: Counter = field(default_factory=Counter)
    server_errors: int = 0
    requests: int = 0
    # name -> pk of every campaign a user was told was created
    created: dict = field(default_factory=dict)
    # pk -> (accepted starts, accepted pauses) the dashboard reported to a user
    accepted: dict = field(default_factory=dict)
    deleted: dict = field(default_factory=dict)  # pk -> atoms id the user was told deleted
    delete_tried: set = field(default_factory=set)

    def count(self, key: str) -> None:
        with self.lock:
            self.actions[key] += 1


class User:
    """One person at a browser: signed in, acting on the campaigns they made."""

    def __init__(self, index: int, web_url: str, cookies: dict, parts: dict, tally: Tally,
                 stop: threading.Event, seed: int):
        import httpx

        self.index, self.parts, self.tally, self.stop = index, parts, tally, stop
        self.http = httpx.Client(base_url=web_url, cookies=cookies, timeout=60,
                                 follow_redirects=False)
        self.random = random.Random(seed)
        self.made = 0
        self.mine: list[int] = []

    def request(self, method: str, url: str, **kwargs):
        response = self.http.request(method, url, **kwargs)
        with self.tally.lock:
            self.tally.requests += 1
            if response.status_code >= 500:
                self.tally.server_errors += 1
        return response

    def tokens(self, url: str) -> dict:
        page = self.request("GET", url).text
        return dict(TOKEN.findall(page))

    def run(self) -> None:
        while not self.stop.is_set():
            choice = self.random.random()
            if choice < 0.3 or not self.mine:
                self.create()
            elif choice < 0.55:
                self.act("start")
            elif choice < 0.75:
                self.act("pause")
            elif choice < 0.85:
                self.delete()
            else:
                self.look()
            time.sleep(self.random.uniform(0.2, 1.0))

    def create(self) -> None:
        self.made += 1
        name = f"Soak u{self.index} #{self.made}"
        form = self.tokens("/campaigns/new/")
        data = {"csrfmiddlewaretoken": form["csrfmiddlewaretoken"], "token": form["token"],
                "name": name, "description": "", "agent": self.parts["agent"],
                "audience": self.parts["audience"], "phone_numbers": [self.parts["phone"]],
                "max_retries": "1", "retry_delay": "1", "scheduled_at": "",
                "submit_action": "create"}
        # As a person would: the page says "submit again" after an uncertain outcome.
        for _attempt in range(4):
            response = self.request("POST", "/campaigns/new/", data=data)
            found = CAMPAIGN_URL.search(response.headers.get("location", ""))
            if response.status_code == 302 and found:
                pk = int(found.group(1))
                with self.tally.lock:
                    self.tally.created[name] = pk
                self.mine.append(pk)
                self.tally.count("create: done")
                return
            self.tally.count(f"create: {response.status_code}, submitted again")
            time.sleep(self.random.uniform(1, 3))
        self.tally.count("create: given up")

    def act(self, verb: str) -> None:
        from campaigns.models import Campaign

        wanted = ("draft", "paused", "scheduled") if verb == "start" else ("running",
                                                                           "processing")
        candidates = list(Campaign.objects.filter(pk__in=self.mine, status__in=wanted,
                                                  pending_action="").values_list("pk",
                                                                                 flat=True))
        if not candidates:
            return
        pk = self.random.choice(candidates)
        csrf = self.tokens(f"/campaigns/{pk}/")["csrfmiddlewaretoken"]
        response = self.request("POST", f"/campaigns/{pk}/{verb}/",
                                data={"csrfmiddlewaretoken": csrf})
        page = self.request("GET", response.headers.get("location", f"/campaigns/{pk}/")).text
        if "Atoms accepted it" in page:
            with self.tally.lock:
                starts, pauses = self.tally.accepted.get(pk, (0, 0))
                self.tally.accepted[pk] = ((starts + 1, pauses) if verb == "start"
                                           else (starts, pauses + 1))
            self.tally.count(f"{verb}: accepted")
        elif "No answer from Atoms, checking" in page:
            self.tally.count(f"{verb}: no answer, checking")
        else:
            self.tally.count(f"{verb}: refused or failed")

    def delete(self) -> None:
        from campaigns.models import Campaign

        candidates = list(Campaign.objects.filter(
            pk__in=self.mine, status__in=("draft", "paused", "completed", "failed"),
            pending_action="").values_list("pk", "name", "atoms_id"))
        if not candidates:
            return
        pk, name, atoms_id = self.random.choice(candidates)
        with self.tally.lock:
            self.tally.delete_tried.add(pk)
        csrf = self.tokens(f"/campaigns/{pk}/delete/")["csrfmiddlewaretoken"]
        response = self.request("POST", f"/campaigns/{pk}/delete/",
                                data={"csrfmiddlewaretoken": csrf, "confirm_name": name})
        if response.status_code == 302:
            with self.tally.lock:
                self.tally.deleted[pk] = atoms_id
            self.mine.remove(pk)
            self.tally.count("delete: done")
        else:
            self.tally.count(f"delete: {response.status_code}")

    def look(self) -> None:
        for url in ("/campaigns/", "/board/", "/activity/"):
            self.request("GET", url)
        self.tally.count("pages looked at")


def atoms_world(client) -> dict:
    """Every campaign in Atoms, with its detail: id -> CampaignDetail."""
    return {c.id: client.get_campaign(c.id) for c in client.iter_campaigns()}


def compare(tally: Tally) -> dict:
    """The dashboard against Atoms, with the faults cleared."""
    from campaigns.connections import atoms_client
    from campaigns.models import Campaign

    client = atoms_client()
    remote = atoms_world(client)
    by_name = Counter(detail.campaign.name for detail in remote.values())
    mirror = {c.atoms_id: c for c in Campaign.objects.filter(deleted_remotely_at__isnull=True)}
    lost = []
    for name, pk in tally.created.items():
        row = Campaign.objects.filter(pk=pk).first()
        if pk in tally.delete_tried:
            continue  # a delete whose answer was lost may have been carried out
        if row is None or row.atoms_id not in remote:
            lost.append(f"create {name!r}")
    for pk, atoms_id in tally.deleted.items():
        if atoms_id in remote or Campaign.objects.filter(pk=pk).exists():
            lost.append(f"delete of campaign {pk}")
    for pk, (starts, pauses) in tally.accepted.items():
        row = Campaign.objects.filter(pk=pk).first()
        if row is None or row.atoms_id not in remote:
            continue
        # A start superseded by a pause while "processing" leaves no "started" event, so
        # a start is lost only if Atoms never left draft, a pause only if it never paused.
        detail = remote[row.atoms_id]
        events = Counter(event.action for event in detail.events)
        if starts and detail.campaign.status == "draft":
            lost.append(f"start of campaign {pk}")
        if pauses and not events["paused"] and detail.campaign.status != "completed":
            lost.append(f"pause of campaign {pk}")
    orphans = [atoms_id for atoms_id in remote if atoms_id not in mirror]
    lost += [f"campaign {atoms_id} in Atoms, not on the dashboard" for atoms_id in orphans]
    mismatches = []
    for atoms_id, detail in remote.items():
        row = mirror.get(atoms_id)
        if row is None:
            continue
        theirs = (detail.campaign.status, detail.metrics.contacts_called if detail.metrics
                  else 0, detail.metrics.contacts_connected if detail.metrics else 0)
        ours = (row.status, row.contacts_called, row.contacts_connected)
        if theirs != ours:
            mismatches.append(f"{row.name}: dashboard {ours}, Atoms {theirs}")
    mismatches += [f"{row.name}: on the dashboard, gone from Atoms"
                   for atoms_id, row in mirror.items() if atoms_id not in remote]
    return {
        "lost": lost,
        "duplicates": [name for name, count in by_name.items() if count > 1],
        "mismatches": mismatches,
        "campaigns": len(remote),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3, help="time under faults")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--redis-db", type=int, default=11,
                        help="the Redis database to use (flushed at start and end)")
    parser.add_argument("--db-name", default="soak_dashboard",
                        help="the PostgreSQL database to create and drop")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    harness.DB_NAME = args.db_name
    harness.DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{args.db_name}"
    harness.REDIS_URL = harness.BROKER_URL = f"redis://127.0.0.1:6379/{args.redis_db}"
    harness.configure_environment()
    try:
        harness.check_services()
    except harness.ServiceDown as error:
        print(f"soak: {error}", file=sys.stderr)
        return 2

    import django

    django.setup()
    started = time.monotonic()
    load_before = measure.load_average()
    try:
        report = _soak(args)
    finally:
        harness.stop_all()
        harness.drop_database()
        harness.flush_redis()
    report["load"] = f"{load_before} at start, {measure.load_average()} at the end"
    report["took"] = f"{time.monotonic() - started:.0f} s"
    _print(report, args)
    failed = any(report[key] for key in ("lost", "duplicates", "mismatches", "server_errors",
                                         "pending_after"))
    return 1 if failed else 0


def _soak(args) -> dict:
    from django.conf import settings

    from campaigns.accounts import ensure_user
    from campaigns.connections import atoms_client
    from campaigns.models import Campaign
    from dashboard.processes import session_cookie, start_worker
    from simulator.process import SimulatorProcess

    harness.say("creating the soak database, the simulator (real time), web and worker")
    harness.create_database()
    harness.flush_redis()
    sim = harness.track(SimulatorProcess().start(seed=args.seed, speed=1.0))
    settings.SMALLEST_BASE_URL, settings.SMALLEST_API_KEY = sim.base_url, sim.api_key
    for key, value in WORKER_ENV.items():
        setattr(settings, key, int(value) if value.isdigit() else value)
    web = harness.start_web(sim, **WORKER_ENV)
    # With its beat: ticks and syncs come as in production.
    harness.track(start_worker(sim, beat=True, concurrency=4, **WORKER_ENV))
    client = atoms_client()
    parts = {
        "agent": next(a for a in client.all_agents() if not a.archived).id,
        "audience": next(a for a in client.list_audiences() if a.member_count == 50).id,
        "phone": next(p for p in client.list_phone_numbers() if p.is_active).id,
    }
    tally = Tally()
    stop = threading.Event()
    users = [User(i, web.url, session_cookie(ensure_user(f"soak-{i}", "admin",
                                                         "soak-password-1234")),
                  parts, tally, stop, seed=args.seed * 100 + i)
             for i in range(args.users)]
    sim.faults(**FAULTS)
    harness.say(f"{args.users} users for {args.minutes:g} min under faults {FAULTS}")
    threads = [threading.Thread(target=user.run, name=f"soak-user-{user.index}")
               for user in users]
    for thread in threads:
        thread.start()
    time.sleep(args.minutes * 60)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    upstream = sim.stats()
    sim.clear_faults()
    cleared = time.monotonic()
    harness.say("faults cleared; waiting two poll intervals")
    time.sleep(2 * POLL_INTERVAL)
    pending_after = list(Campaign.objects.exclude(pending_action="")
                         .values_list("name", "pending_action", "pending_outcome"))
    # Freeze Atoms' clock so that numbers stop moving, then give the poller two intervals.
    sim.set_speed(0)
    time.sleep(2 * POLL_INTERVAL + 1)
    comparison = compare(tally)
    harness.say(f"compared {time.monotonic() - cleared:.0f} s after the faults cleared")
    for user in users:
        user.http.close()
    by_outcome = Counter()
    for route in upstream["by_route"].values():
        for outcome, count in route.items():
            by_outcome[outcome] += count
    return {
        **comparison, "pending_after": pending_after, "server_errors": tally.server_errors,
        "requests": tally.requests, "actions": dict(sorted(tally.actions.items())),
        "upstream": dict(sorted(by_outcome.items())), "upstream_total": upstream["requests"],
    }


def _print(report: dict, args) -> None:
    print(f"\nsoak: {args.users} users, {args.minutes:g} min under faults, took "
          f"{report['took']}; load {report['load']}")
    print(f"dashboard requests: {report['requests']}, HTTP 5xx: {report['server_errors']}")
    print(f"Atoms requests under faults: {report['upstream_total']} by outcome "
          f"{report['upstream']}")
    for action, count in report["actions"].items():
        print(f"  {action}: {count}")
    print(f"campaigns in Atoms at the end: {report['campaigns']}")
    for key, label in (("lost", "lost actions"), ("duplicates", "duplicate campaigns"),
                       ("pending_after", "actions still pending two intervals after"),
                       ("mismatches", "status/count mismatches with Atoms")):
        items = report[key]
        print(f"{label}: {len(items)}")
        for item in items[:10]:
            print(f"    {item}")
