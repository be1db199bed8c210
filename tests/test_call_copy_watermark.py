"""A call's end is copied however Atoms stamps it: the copy of the call logs reads only
what changed since its last copy (`Campaign.calls_synced_to`, the newest `updatedAt` read),
so an end stamped before that was skipped, the call stayed "in progress" for good and a
finished campaign's "Final numbers" were short of Atoms' own (seen: Connected 45 and $5.29
against Atoms' 46 and $5.487, after a pause whose cancelled calls the simulator stamped
with the ends they had been scheduled for, seconds after the talking call ended).

Each test drives the real simulator. The simulator now stamps a change when it makes it,
as Atoms does; `Unfaithful` shows some changes stamped otherwise (ahead of time, or written
late under an older stamp), so that the copy is shown to hold whatever Atoms' stamps do.
"""

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import outcomes, services
from campaigns.atoms import AtomsClient
from campaigns.live import poll
from campaigns.models import CallRecord, Campaign
from campaigns.outcomes import outcome_of
from tests.campaign_factory import wait_for_status

pytestmark = pytest.mark.django_db
CONVERSATION = "GET /conversation"


def simulator_logs(sim, campaign) -> list[dict]:
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    params = {"campaignIds": campaign.atoms_id, "callAttemptFilter": "all", "limit": 500}
    answer = httpx.get(sim.base_url + "/conversation", params=params, headers=headers)
    return answer.json()["data"]["logs"]


def refresh(sim, campaign, seconds: float = 0):
    if seconds:
        sim.advance(seconds)
    poll.refresh_one(campaign.pk)
    campaign.refresh_from_db()
    return campaign


def assert_copy_is_atoms_own(sim, campaign) -> None:
    logs = simulator_logs(sim, campaign)
    copied = dict(CallRecord.objects.filter(campaign=campaign)
                  .values_list("call_id", "status"))
    assert copied == {log["callId"]: log["status"] for log in logs}
    summary = campaign.call_summary
    assert Counter(summary["counts"]) == Counter(
        outcome_of(log["status"], log.get("callFailureReason", "")) for log in logs)
    assert summary["spend"] == pytest.approx(sum(log["callCost"] for log in logs))


def assert_final_numbers_are_atoms_own(sim, campaign, login_as) -> None:
    assert campaign.status == "completed"
    campaign = refresh(sim, campaign, 5)  # the one more read after the first sighting
    assert not campaign.is_active()
    assert_copy_is_atoms_own(sim, campaign)
    assert "in_progress" not in campaign.call_summary["counts"]
    html = login_as("manager").get(reverse("campaign_detail", args=[campaign.pk])).content
    html = html.decode()
    assert "Final numbers" in html
    assert 'data-testid="outcome-count-in_progress">0<' in html
    assert f'data-testid="spend">${campaign.call_summary["spend"]:.2f}<' in html
    assert 'data-testid="spend-label">Spent<' in html  # not "Spend so far": it is over


def talking_since_the_start(campaign) -> CallRecord:
    """The longest call in progress in the copy: one of the first calls, still talking."""
    record = (CallRecord.objects.filter(campaign=campaign, outcome="in_progress")
              .order_by("created_at", "call_id").first())
    assert record is not None
    return record


def sim_now(sim) -> datetime:
    return datetime.fromtimestamp(sim.now()["nowMs"] / 1000, UTC)


def status_in_atoms(sim, campaign, call_id: str) -> str:
    return next(log["status"] for log in simulator_logs(sim, campaign)
                if log["callId"] == call_id)


class Unfaithful:
    """Atoms' call-log list with some changes stamped otherwise than when they became
    visible, sorted by those stamps as Atoms sorts (newest first). `change(log, now)`
    returns the log as this Atoms shows it at simulated `now`."""

    def __init__(self, sim, monkeypatch, change):
        self.sim, self.change = sim, change
        original = AtomsClient.list_call_logs

        def list_call_logs(client, *args, **kwargs):
            page = original(client, *args, **kwargs)
            assert not page.has_more  # one page: re-sorting it is what Atoms would show
            now = sim_now(self.sim)
            items = [self.change(log, now) for log in page.items]
            items.sort(key=lambda log: log.updated_at, reverse=True)
            return dataclasses.replace(page, items=tuple(items))

        monkeypatch.setattr(AtomsClient, "list_call_logs", list_call_logs)


def cancelled_stamped_ahead(sim, monkeypatch):
    """A cancelled call stamped four minutes after it was made, though seen at once: the
    simulator's own stamp was once the end the call had been scheduled for."""
    def change(log, _now):
        if log.status != "cancelled":
            return log
        return dataclasses.replace(log, updated_at=log.created_at + timedelta(minutes=4))
    return Unfaithful(sim, monkeypatch, change)


@pytest.mark.parametrize("atoms", [None, cancelled_stamped_ahead],
                         ids=["as-simulated", "cancelled-stamped-ahead"])
def test_a_call_talking_through_a_pause_is_copied_when_it_ends(
        sim, running, users, login_as, monkeypatch, atoms):
    """The demo's "pw-keyboard run": paused while a call talked and two rang. The two were
    cancelled, seen at once, and stamped (by the simulator then; by the Atoms of the second
    run still) with the ends they had been scheduled for, after the talking call's end: the
    copy, having read up to that stamp, never saw that end, nor calls made after the resume
    and ended before it."""
    if atoms is not None:
        atoms(sim, monkeypatch)
    campaign = refresh(sim, running, 30)
    talking = talking_since_the_start(campaign)
    services.pause_campaign(users["staff"], campaign)
    campaign = refresh(sim, campaign)  # the calls still ringing are cancelled at once
    assert campaign.call_summary["counts"].get("cancelled")
    assert status_in_atoms(sim, campaign, talking.call_id) == "in_progress"
    campaign = wait_for_status(sim, campaign, "paused", step=1)

    for _ in range(60):  # paused, polled while the talking call goes on, then ends
        campaign = refresh(sim, campaign, 5)
        if status_in_atoms(sim, campaign, talking.call_id) != "in_progress":
            break
    campaign = refresh(sim, campaign, 5)
    talking.refresh_from_db()
    assert talking.status == status_in_atoms(sim, campaign, talking.call_id) != "in_progress"
    assert_copy_is_atoms_own(sim, campaign)

    services.start_campaign(users["staff"], campaign)
    campaign = wait_for_status(sim, campaign, "completed", step=60)
    assert_final_numbers_are_atoms_own(sim, campaign, login_as)


def test_a_call_end_written_late_under_an_older_stamp_is_copied(
        sim, running, login_as, monkeypatch):
    """One call's end becomes visible a minute after its stamp, while the others' ends
    are seen at once (a write that lands late, a lagging replica): by then the copy has
    read past that stamp. It reads back to the oldest call it shows in progress, in the
    same one request per poll."""
    campaign = refresh(sim, running, 30)
    late = talking_since_the_start(campaign)

    def change(log, now):
        if log.call_id != late.call_id or log.is_live or now >= log.updated_at + timedelta(
                minutes=1):
            return log
        return dataclasses.replace(  # as it was before it ended
            log, status="in_progress", duration_seconds=0.0, cost=0.0, failure_reason="",
            disconnection_reason="", recording_url="", updated_at=log.created_at)

    Unfaithful(sim, monkeypatch, change)
    overtaken = False
    for _ in range(40):
        before = sim.calls_to(CONVERSATION)
        campaign = refresh(sim, campaign, 10)
        assert sim.calls_to(CONVERSATION) - before == 1
        logs = {log["callId"]: log for log in simulator_logs(sim, campaign)}
        if logs[late.call_id]["status"] != "in_progress":
            ended = datetime.fromisoformat(logs[late.call_id]["updatedAt"])
            hidden = sim_now(sim) < ended + timedelta(minutes=1)
            # What makes it hard: the copy read past its end while that was not shown.
            overtaken = overtaken or (hidden and campaign.calls_synced_to > ended)
        late.refresh_from_db()
        if late.status != "in_progress":
            break
    assert overtaken
    assert late.status == logs[late.call_id]["status"] != "in_progress"
    assert_copy_is_atoms_own(sim, campaign)

    campaign = wait_for_status(sim, campaign, "completed", step=60)
    assert_final_numbers_are_atoms_own(sim, campaign, login_as)


def test_the_reading_reaches_back_for_calls_in_progress_within_a_bound(db):
    """To the oldest call the copy shows in progress, made before the last copy and less
    than READ_BACK_LIMIT before it (one in progress longer is not waited for); nothing,
    and no query, for a copy without calls in progress."""
    mark = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    talking = {"calls": 2, "counts": {"in_progress": 2}}
    recent, stale, quiet, undated = Campaign.objects.bulk_create([
        Campaign(atoms_id=f"{n:024x}", name=f"Reach {n}", status="running",
                 calls_synced_to=mark, call_summary=summary)
        for n, summary in enumerate([talking, talking, {"calls": 1, "counts": {
            "connected": 1}}, {"calls": 1, "counts": {"in_progress": 1}}])])

    def call(campaign, n, made, outcome="in_progress"):
        return CallRecord(campaign=campaign, call_id=f"CALL-{campaign.pk}-{n}",
                          status=outcome, outcome=outcome, created_at=made)

    CallRecord.objects.bulk_create([
        call(recent, 1, mark - timedelta(minutes=3)), call(recent, 2, mark),
        call(stale, 1, mark - outcomes.READ_BACK_LIMIT - timedelta(seconds=1)),
        call(stale, 2, mark - timedelta(minutes=1)),
        call(quiet, 1, mark - timedelta(hours=1), "connected"), call(undated, 1, None)])
    assert outcomes.reach_back([recent, stale, quiet, undated]) == {
        recent.pk: mark - timedelta(minutes=3), stale.pk: mark - timedelta(minutes=1)}
    with CaptureQueriesContext(connection) as queries:
        assert outcomes.reach_back([quiet]) == {}
    assert not queries.captured_queries


def test_reading_back_cut_short_by_the_page_cap_still_moves_the_last_copy(
        db, monkeypatch):
    """The page cap reached while reading back (past the last copy already) leaves the
    reading complete, so the watermark moves on; reached before the last copy, not."""
    monkeypatch.setattr(outcomes, "MAX_PAGES_PER_POLL", 2)
    mark = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    campaign = Campaign(pk=1, atoms_id=f"{1:024x}", calls_synced_to=mark)

    def read(stamps_by_page):
        def answer(request: httpx.Request) -> httpx.Response:
            number = int(request.url.params["page"])
            logs = [{"callId": f"CALL-1737000000000-{number}{n:05d}", "status": "completed",
                     "campaignId": campaign.atoms_id,
                     "updatedAt": (mark + timedelta(seconds=s)).isoformat()}
                    for n, s in enumerate(stamps_by_page[number - 1])]
            return httpx.Response(200, json={"status": True, "data": {
                "logs": logs, "pagination": {"page": number, "limit": 500, "hasMore": True}}})

        transport = httpx.MockTransport(answer)
        with AtomsClient("http://atoms.test", "key", transport=transport) as client:
            return outcomes.fetch_changed(client, [campaign], lambda: None,
                                          {campaign.pk: mark - timedelta(minutes=10)})[1]

    back = read([[30, 20, -5], [-60, -120]])  # past the last copy on page 1
    assert back.complete and len(back.logs) == 5
    short = read([[30, 20], [10, 5]])  # the cap before the last copy
    assert not short.complete and len(short.logs) == 4
