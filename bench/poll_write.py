"""poll_write: writing a poll's changed campaigns, Django's bulk_update against fast_update.

The poller writes the fields each changed campaign changed, many rows at once
(live/poll.py `_save`; the list sync does the same). Django's `bulk_update` sends one
`UPDATE ... SET f = CASE WHEN pk = 1 THEN ... WHEN pk = 2 THEN ... END` per batch and
builds an ORM expression for every row and field, in Python; `fast_update`
(django-fast-update, what `_save` uses now) sends `UPDATE ... FROM (VALUES ...)` with the
values bound as they are. This writes the same rows both ways, alternated round by round
so the machine's load falls on both alike, and reports each one's CPU per row written.

The fields are those a steady poll writes for a campaign whose dialing moved: its
numbers, events, call breakdown and bookkeeping (eight). Rows only, no simulator.
"""

import statistics
import time

from bench import harness
from bench.harness import Row

NAME = "poll_write"
FIELDS = ["contacts_called", "contacts_connected", "events", "call_summary",
          "calls_synced_to", "fetched_at", "next_poll_at", "modified_at"]


def run(ctx) -> list[Row]:
    from django.db import transaction
    from django.utils import timezone

    from campaigns.models import Campaign

    sizes = [50, 400, 1000] if not ctx.quick else [50, 400]
    rounds = ctx.size(5, 3)
    Campaign.objects.all().delete()
    Campaign.objects.bulk_create(
        Campaign(atoms_id=f"{index:024x}", name=f"Bench {index:04d}", status="running")
        for index in range(max(sizes)))
    campaigns = list(Campaign.objects.order_by("pk"))
    ways = {
        # What `_save` called before, with its batch size.
        "bulk_update": lambda rows: Campaign.objects.bulk_update(rows, FIELDS, batch_size=200),
        "fast_update": lambda rows: Campaign.objects.fast_update(rows, FIELDS, batch_size=1000),
    }
    rows: list[Row] = []
    for size in sizes:
        chosen = campaigns[:size]
        cpu: dict[str, list[float]] = {way: [] for way in ways}
        wall: dict[str, list[float]] = {way: [] for way in ways}
        for round_number in range(rounds):
            for way, write in ways.items():
                _change(chosen, round_number, timezone.now())
                cpu_started, started = time.process_time(), time.perf_counter()
                with transaction.atomic():
                    write(chosen)
                wall[way].append(time.perf_counter() - started)
                cpu[way].append(time.process_time() - cpu_started)
            _check_written(Campaign, chosen)
        per_row = {way: statistics.median(values) / size * 1000 for way, values in cpu.items()}
        harness.say(f"poll_write: {size} rows, CPU per row " + ", ".join(
            f"{way} {ms:.3f} ms" for way, ms in per_row.items()))
        rows.append(Row(NAME, f"{size} campaigns, {len(FIELDS)} fields each: CPU per row "
                              f"(bulk_update / fast_update), median of {rounds}",
                        f"{per_row['bulk_update']:.3f} / {per_row['fast_update']:.3f} ms, "
                        f"{per_row['bulk_update'] / per_row['fast_update']:.1f}x"))
        rows.append(Row(NAME, f"{size} campaigns: wall time of the write, one transaction "
                              f"(bulk_update / fast_update)",
                        f"{statistics.median(wall['bulk_update']) * 1000:.1f} / "
                        f"{statistics.median(wall['fast_update']) * 1000:.1f} ms"))
    Campaign.objects.all().delete()
    return rows


def _change(campaigns, round_number: int, now) -> None:
    """New values in every field written, as a moving campaign's poll brings."""
    for index, campaign in enumerate(campaigns):
        campaign.contacts_called = round_number * 10 + index % 7
        campaign.contacts_connected = round_number * 5 + index % 3
        campaign.events = [{"type": "started", "at": now.isoformat(), "n": round_number}]
        campaign.call_summary = {"connected": round_number, "spend": 0.5 * index}
        campaign.calls_synced_to = now
        campaign.fetched_at = now
        campaign.next_poll_at = now
        campaign.modified_at = now


def _check_written(model, campaigns) -> None:
    """Both ways must have written what they were given: a fast wrong write is no result."""
    stored = dict(model.objects.filter(pk__in=[c.pk for c in campaigns])
                  .values_list("pk", "contacts_called"))
    wrong = [c.pk for c in campaigns if stored.get(c.pk) != c.contacts_called]
    if wrong:
        raise RuntimeError(f"{len(wrong)} rows not written as given, e.g. {wrong[:3]}")
