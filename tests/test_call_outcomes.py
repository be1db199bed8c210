"""The outcome breakdown and cost, counted from the call logs the poller copies: equal to
what the simulator dialled, live on the campaign page, and cheap in Atoms calls."""

import csv
import io
import re
import time
from collections import Counter

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import outcomes, services
from campaigns.atoms import AtomsClient, CallLog
from campaigns.connections import redis_client
from campaigns.live import poll, publish, sync
from campaigns.models import CallRecord, Campaign
from campaigns.outcomes import (
    ChangedCalls,
    apply_calls,
    fetch_changed,
    outcome_of,
    whole_percents,
)
from tests.campaign_factory import campaign_row, due_now, make_campaign, wait_for_status
from tests.published import Published, watch

pytestmark = pytest.mark.django_db
CONVERSATION = "GET /conversation"


def simulator_logs(sim, campaign):
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    params = {"campaignIds": campaign.atoms_id, "callAttemptFilter": "all", "limit": 500}
    answer = httpx.get(sim.base_url + "/conversation", params=params, headers=headers)
    return answer.json()["data"]["logs"]


def expected_counts(logs):
    return Counter(outcome_of(log["status"], log.get("callFailureReason", "")) for log in logs)


def tick(sim, campaign, seconds):
    sim.advance(seconds)
    due_now(campaign)
    poll.tick()
    campaign.refresh_from_db()
    return campaign


def test_the_breakdown_equals_what_the_simulator_dialled_as_it_moves(sim, running):
    for seconds in (45, 600, 1800, 3600):
        campaign = tick(sim, running, seconds)
        logs = simulator_logs(sim, campaign)
        summary = campaign.call_summary
        assert summary["calls"] == len(logs) == CallRecord.objects.filter(
            campaign=campaign).count()
        assert Counter(summary["counts"]) == expected_counts(logs)
        assert summary["spend"] == pytest.approx(sum(log["callCost"] for log in logs))
    assert {"connected", "no_answer", "voicemail", "busy"} <= set(summary["counts"])
    assert summary["connected_contacts"] == campaign.contacts_connected


def test_retries_pending_are_the_contacts_with_attempts_left(sim, running):
    campaign = tick(sim, running, 900)
    logs = simulator_logs(sim, campaign)
    last = {}
    for log in sorted(logs, key=lambda log: log["retryAttemptNumber"]):
        last[log["to"]] = log
    pending = [
        log for log in last.values()
        if outcome_of(log["status"], log.get("callFailureReason", "")) not in (
            "connected", "in_progress")
        and log["retryAttemptNumber"] < campaign.max_retries
    ]
    assert pending
    assert campaign.call_summary["retries_pending"] == len(pending)


def test_the_page_shows_counts_shares_and_spend_from_the_cache(sim, running, login_as):
    campaign = tick(sim, running, 1800)
    counts = campaign.call_summary["counts"]
    page = login_as("manager").get(reverse("campaign_detail", args=[campaign.pk]))
    html = page.content.decode()
    total = campaign.call_summary["calls"]
    shares = {}
    for key, count in counts.items():
        assert f'data-testid="outcome-count-{key}">{count}<' in html
        shares[key] = int(re.search(rf'data-testid="outcome-share-{key}">(\d+)%<', html)[1])
        assert abs(shares[key] - 100 * count / total) < 1
    assert sum(shares.values()) == 100
    spend = campaign.call_summary["spend"]
    assert f'data-testid="spend">${spend:.2f}<' in html
    assert re.search(r'data-testid="spend-label">\s*Spend so far<', html)  # still dialing
    per = spend / campaign.call_summary["connected_contacts"]
    assert f'data-testid="per-connected">${per:.3f}<' in html
    assert 'style="' not in re.search(r'data-testid="outcomes".*?</section>', html, re.S)[0]


def test_the_call_attempts_file_carries_the_outcome_and_attempt_the_page_counts(
        sim, running, login_as):
    """A probe: the file's own `status` (Atoms') files a busy line under "failed" and a
    voicemail under "no_answer": the page's breakdown could not be rebuilt from it."""
    campaign = tick(sim, running, 1800)
    sim.advance(60)  # a call made since the last poll: not copied yet, left blank
    download = login_as("manager").get(reverse("campaign_export", args=[campaign.pk, "logs"]))
    header, *rows = csv.reader(io.StringIO(
        b"".join(download.streaming_content).decode("utf-8-sig")))
    assert header[-2:] == ["outcome", "attempt"]
    at = header.index("callId")
    copied = {record.call_id: record for record in CallRecord.objects.filter(campaign=campaign)}
    labels = {value: label for value, label in outcomes.OUTCOMES}
    for row in rows:
        record = copied.get(row[at])
        if record is None:
            assert row[-2:] == ["", ""]
        else:
            assert row[-2] == labels[record.outcome]
            assert row[-1] == (f"Retry {record.attempt}" if record.attempt else "First call")
    shown = Counter(row[-2] for row in rows if row[at] in copied)
    assert shown == {labels[key]: n for key, n in campaign.call_summary["counts"].items() if n}
    assert {"Busy", "Voicemail"} & set(shown), "the seeded dialling shows neither"
    assert len(rows) > len(copied), "no call was made since the poll: the blank is untested"


def test_a_change_in_outcomes_alone_is_published(sim, running):
    campaign = tick(sim, running, 600)
    summary = campaign.call_summary
    # As if the last poll had not seen the calls yet: only the breakdown differs now.
    Campaign.objects.filter(pk=campaign.pk).update(call_summary={}, calls_synced_to=None)
    CallRecord.objects.filter(campaign=campaign).delete()
    watch(campaign.pk)  # an open page
    published = Published()
    campaign = tick(sim, running, 0)
    assert campaign.call_summary == summary
    assert [m["campaign"] for m in published.changes()] == [campaign.pk]
    cached = redis_client().get(publish.fragment_key(campaign.pk, "detail")).decode()
    assert f'data-testid="outcome-calls">{summary["calls"]}<' in cached
    assert f'data-testid="retries-pending">{summary["retries_pending"]} ' in cached


def test_a_running_campaign_costs_one_call_log_request_per_poll(sim, running):
    tick(sim, running, 600)  # the first copy
    before = sim.calls_to(CONVERSATION)
    for _ in range(3):
        tick(sim, running, 300)
    assert sim.calls_to(CONVERSATION) - before == 3
    assert sim.calls_to("GET /campaign/{id}") > 0


def test_a_quiet_paused_campaign_costs_no_call_log_request(sim, running, users):
    services.pause_campaign(users["staff"], running)
    campaign = wait_for_status(sim, running, "paused", step=1)
    sim.advance(300)  # the calls in flight end
    Campaign.objects.filter(pk=campaign.pk).update(needs_final_poll=True)
    tick(sim, campaign, 0)
    before = sim.calls_to(CONVERSATION)
    Campaign.objects.filter(pk=campaign.pk).update(needs_final_poll=True)
    campaign = tick(sim, campaign, 0)
    assert sim.calls_to(CONVERSATION) == before
    assert campaign.call_summary["counts"].get("in_progress", 0) == 0
    # The pause landed while the first three calls were still ringing.
    assert campaign.call_summary["counts"]["cancelled"] == 3


def test_call_logs_failing_keeps_the_numbers_fresh_and_catches_up_later(sim, running):
    campaign = tick(sim, running, 600)
    calls_before = campaign.call_summary["calls"]
    sim.faults(fail_routes=[CONVERSATION])
    campaign = tick(sim, running, 600)
    assert campaign.poll_error == ""
    assert campaign.call_summary["calls"] == calls_before  # not guessed, kept
    sim.clear_faults()
    campaign = tick(sim, running, 0)
    assert campaign.call_summary["calls"] == len(simulator_logs(sim, campaign)) > calls_before


def test_a_failed_campaign_shows_why(sim, atoms_settings, users, login_as):
    campaign = make_campaign(sim, users["staff"], "draft", audience_size=50)

    phone = httpx.get(sim.base_url + "/product/phone-numbers",
                      headers={"Authorization": f"Bearer {sim.api_key}"}).json()["data"]
    number = next(p for p in phone if p["_id"] in campaign.phone_number_ids)
    sim.set_number_active(number["attributes"]["phoneNumber"], False)
    services.start_campaign(users["staff"], campaign)
    campaign = wait_for_status(sim, campaign, "failed", step=1, limit=30)
    page = login_as("manager").get(reverse("campaign_detail", args=[campaign.pk]))
    assert "Atoms reports a failure: All phone numbers of this campaign are inactive" in (
        page.content.decode())
    assert campaign.failed_at is not None


@pytest.mark.parametrize("batch_size, requests", [(50, 1), (2, 2)])
def test_several_running_campaigns_share_call_log_requests_per_poll(
        sim, atoms_settings, users, monkeypatch, batch_size, requests):
    """Three campaigns in one request; in batches of two, a full batch (read while the
    details still arrive) and the rest: every campaign's calls copied either way."""
    monkeypatch.setattr(outcomes, "BATCH_SIZE", batch_size)
    campaigns = [make_campaign(sim, users["staff"], "running", name=f"Batch {n}",
                               audience_size=50) for n in range(3)]

    def tick_all(seconds):
        sim.advance(seconds)
        Campaign.objects.filter(pk__in=[c.pk for c in campaigns]).update(
            next_poll_at=timezone.now())
        poll.tick()

    tick_all(300)  # copies whatever the factory's polls had not seen
    before = sim.calls_to(CONVERSATION)
    tick_all(300)
    assert sim.calls_to(CONVERSATION) - before == requests
    for campaign in campaigns:
        campaign.refresh_from_db()
        logs = simulator_logs(sim, campaign)
        assert campaign.call_summary["calls"] == len(logs)
        assert Counter(campaign.call_summary["counts"]) == expected_counts(logs)


def test_without_campaign_ids_on_the_logs_each_campaign_is_read_alone(db):
    """`campaignId` is not a typed key of a call log: a shared page that lacks it cannot
    be split, so the calls are read campaign by campaign (Atoms faked at the network)."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["campaignIds"]
        seen.append(ids)
        logs = [{"callId": f"CALL-1737000000000-{ids[:6]}", "status": "completed",
                 "updatedAt": "2026-01-01T00:00:10.000Z"}]
        return httpx.Response(200, json={"status": True, "data": {
            "logs": logs, "pagination": {"page": 1, "limit": 500, "hasMore": False}}})

    mark = timezone.now().replace(year=2025)
    job = [Campaign(pk=n, atoms_id=f"{n:024x}", calls_synced_to=mark) for n in (1, 2)]
    with AtomsClient("http://atoms.test", "key", transport=httpx.MockTransport(answer)) as client:
        found = fetch_changed(client, job, lambda: None)
    assert seen == [f"{1:024x},{2:024x}", f"{1:024x}", f"{2:024x}"]
    assert {pk: len(changed.logs) for pk, changed in found.items()} == {1: 1, 2: 1}


def test_a_call_id_in_two_campaigns_logs_is_stored_once_and_costs_no_refresh(
        transactional_db):
    """Atoms' call ids carry 24 random bits per millisecond; ten thousand campaigns
    dialling at once can share one. One INSERT naming a row twice is refused whole by
    PostgreSQL, which failed every campaign of the poller's chunk at every tick."""
    first, second = Campaign.objects.bulk_create([
        Campaign(atoms_id=f"{n:024x}", name=f"Shared {n}", status="running") for n in (1, 2)])
    at = timezone.now()

    def logs_of(campaign, *call_ids):
        return ChangedCalls([CallLog(
            call_id=call_id, campaign_id=campaign.atoms_id, status="completed",
            duration_seconds=30.0, from_number="+15550000000", to_number="+15551234567",
            attempt_number=0, disconnection_reason="", failure_reason="", cost=0.1,
            created_at=at, updated_at=at) for call_id in call_ids], complete=True)

    fields = apply_calls([(first, logs_of(first, "CALL-1-aaaaaa", "CALL-1-shared"), False),
                          (second, logs_of(second, "CALL-1-shared", "CALL-1-bbbbbb"), False)])
    assert dict(CallRecord.objects.values_list("call_id", "campaign_id")) == {
        "CALL-1-aaaaaa": first.pk, "CALL-1-shared": first.pk, "CALL-1-bbbbbb": second.pk}
    assert "call_summary" in fields[first.pk] and "call_summary" in fields[second.pk]

    # A campaign deleted while its calls were read cannot keep them; the other still does.
    Campaign.objects.filter(pk=first.pk).delete()
    fields = poll.copy_calls([(first, logs_of(first, "CALL-2-gone"), False),
                              (second, logs_of(second, "CALL-2-kept"), False)])
    assert set(fields) == {second.pk}
    assert set(CallRecord.objects.values_list("call_id", flat=True)) == {
        "CALL-1-bbbbbb", "CALL-2-kept"}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)  # the worker must see the rows
def test_a_campaign_finished_before_anyone_watched_gets_its_breakdown_once(
        celery_worker, sim, atoms_settings, login_as):
    """The seeded campaign completed before the dashboard existed, and the one poll it
    got could not read its calls: opening it asks a worker to count them, once however
    many people open it."""
    sync.sync_campaign_list()
    finished = Campaign.objects.get(name="Mumbai leads - first touch")
    # Only this one: the worker's beat would otherwise read the other seeded campaigns'
    # calls (their first sighting) at some tick while this test counts the reads.
    Campaign.objects.exclude(pk=finished.pk).delete()
    sim.faults(fail_routes=[CONVERSATION])
    poll.refresh_one(finished.pk)  # its final poll: the detail reads, the calls do not
    sim.clear_faults()
    finished.refresh_from_db()
    assert finished.call_summary == {} and not finished.is_active()
    before = sim.calls_to(CONVERSATION)
    manager = login_as("manager")
    html = manager.get(reverse("campaign_detail", args=[finished.pk])).content.decode()
    # The page says the calls are being read, or, if the worker counted them between
    # this request's ask and its render (the render re-reads a row that moved: seen once
    # in a loaded full run), already shows the breakdown; never "no calls".
    shown = html[html.find('data-testid="outcomes"'):][:1500]
    assert ("Reading this campaign's calls from Atoms" in html
            or 'data-testid="outcome-calls"' in html), shown
    # Finished before it was watched: no chart, and it does not promise one.
    assert "saw too little of this campaign's dialling" in html
    for _ in range(3):
        manager.get(reverse("campaign_detail", args=[finished.pk]))
    deadline = time.monotonic() + 20
    while not finished.call_summary and time.monotonic() < deadline:
        time.sleep(0.2)
        finished.refresh_from_db()
    logs = simulator_logs(sim, finished)
    assert finished.call_summary["calls"] == len(logs)
    assert finished.call_summary["retries_pending"] == 0  # completed: nothing left to retry
    assert sim.calls_to(CONVERSATION) - before == 2  # the worker's one read + ours above


def test_retries_pending_on_a_paused_campaign_wait_for_its_resume(users):
    """"Retries pending 26 contacts" on a paused campaign read as retries under way."""
    def pending(status: str) -> list[str]:
        row = campaign_row(users["staff"], status, call_summary={"calls": 9, "retries_pending": 3})
        html = publish.render_fragment(row, "detail", [])
        return re.findall(r'data-testid="retries-(?:pending|wait)">([^<]*)<', html)

    assert pending("paused") == ["3 contacts", "called again once it is resumed"]
    assert pending("running") == ["3 contacts"]


def test_a_campaign_that_dialled_without_a_chart_does_not_say_it_will_dial_for_a_while(users):
    """A paused campaign that had called 49 contacts said "The chart appears once the
    campaign has been dialling for a little while" (probe)."""
    def empty_chart(**fields) -> str:
        html = publish.render_fragment(campaign_row(users["staff"], **fields), "detail", [])
        return " ".join(re.search(r'data-testid="chart-empty">(.*?)</p>', html, re.S)[1].split())

    assert empty_chart(status="paused", contacts_called=49) == (
        "No chart yet: the dashboard has seen too little of its dialling in the last 6 hours "
        "to draw one.")
    assert empty_chart(status="draft") == (
        "The chart appears once the campaign has been dialling for a little while.")


def test_shares_of_the_whole_add_up_to_a_hundred_percent():
    """Rounded one by one, a probe's campaign read 47 + 22 + 14 + 6 + 12 = 101 %."""
    counts = [41, 19, 12, 5, 11]
    assert [round(100 * count / 88) for count in counts] == [47, 22, 14, 6, 12]  # 101
    assert whole_percents(counts, 88) == [47, 21, 14, 6, 12]
    assert sum(whole_percents([1, 1, 1], 3)) == 100 and whole_percents([2, 1], 3) == [67, 33]
    assert whole_percents([1, 2], 0) == [0, 0]
    assert sum(whole_percents([1, 1], 3)) == 67  # a part of the whole stays a part
