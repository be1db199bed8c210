""""Why isn't it dialing?", the ETA and the stall: each sentence on the simulator over HTTP
(or on a mirror row where nothing may reach Atoms), each a case that fails if the words or
the cause are wrong."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from campaigns import audit, explain, progress, services
from campaigns.connections import atoms_client, redis_client
from campaigns.live import poll, publish, sync
from campaigns.models import AuditEntry, CallRecord, Campaign, MetricSnapshot
from tests.campaign_factory import campaign_row, due_now, make_campaign, wait_for_status
from tests.published import Published, watch

pytestmark = pytest.mark.django_db


def why(campaign, *, may: tuple[str, ...] = ("start", "pause")) -> str:
    """The sentence as a person reads it (the page's script only re-counts the times), in
    the wording shown to someone who `may` start and pause campaigns, or not."""
    campaign.refresh_from_db()
    snapshots = list(MetricSnapshot.objects.filter(campaign=campaign).order_by("taken_at"))
    sentence = explain.why_not_dialing(campaign, moved_at=progress.last_moved_at(snapshots),
                                       now=timezone.now())
    if not sentence:
        return ""
    shown = str(sentence)
    for action in ("start", "pause"):
        hidden = f"if-may-not-{action}" if action in may else f"if-may-{action}"
        shown = re.sub(rf'<span class="{hidden}">.*?</span>', "", shown)
    return strip_tags(shown).replace("\xa0", " ")


def test_a_draft_says_to_press_start_to_those_who_can_and_who_can_to_others(users):
    draft = campaign_row(users["staff"])
    assert why(draft) == "Not started yet: press Start when it is ready."
    assert why(draft, may=()) == ("Not started yet: someone with the staff or admin "
                                           "role starts it when it is ready.")


def test_a_scheduled_campaign_says_when_it_starts(users):
    row = campaign_row(users["staff"], "scheduled",
                       scheduled_at=timezone.now() + timedelta(hours=2, seconds=30))
    assert why(row) == "Scheduled: Atoms starts it in 2 hours."


def test_a_scheduled_start_outside_its_calling_hours_says_what_will_happen(users):
    """Atoms starts a scheduled campaign by itself, whatever its calling hours: the page
    said only when, and nothing of the pause that would follow at once."""
    at = datetime(2030, 1, 15, 20, 30, tzinfo=UTC)  # 02:00 in Kolkata, a Tuesday
    row = campaign_row(users["staff"], "scheduled", scheduled_at=at, calling_hours={
        "zone": "Asia/Kolkata",
        "windows": [{"days": [0, 1, 2, 3, 4], "from": "09:00", "to": "17:00"}]})
    said = why(row)
    assert said.startswith("Scheduled: Atoms starts it in ")
    assert said.endswith(", at 02:00 on Wednesday 16 January (Asia/Kolkata), outside its "
                         "calling hours: the dashboard pauses it as soon as it starts, and "
                         "resumes it when they begin.")


def test_a_paused_campaign_says_who_paused_it(sim, atoms_settings, users):
    paused = make_campaign(sim, users["staff"], "paused", audience_size=50)
    assert why(paused) == ("Paused by sam-staff less than a minute ago. Resume it to carry "
                           "on where it stopped.")
    assert why(paused, may=()).endswith(
        "ago. Someone with the staff or admin role can resume it where it stopped.")


def test_a_finished_campaign_counts_who_connected_and_who_was_not_reached(users):
    """"Finished: all 50 contacts were reached or have no retries left" beside "39
    connected" read as everyone reached (probe)."""
    row = campaign_row(users["staff"], "completed", total_participants=50, contacts_called=50,
                       contacts_connected=39)
    assert why(row) == ("Finished: 39 of 50 contacts connected; the other 11 were not "
                        "reached, with no retries left.")
    one = campaign_row(users["staff"], "completed", total_participants=1000,
                       contacts_called=1000, contacts_connected=999)
    assert why(one) == ("Finished: 999 of 1,000 contacts connected; the other 1 was not "
                        "reached, with no retries left.")
    everyone = campaign_row(users["staff"], "completed", total_participants=2,
                            contacts_called=2, contacts_connected=2)
    assert why(everyone) == "Finished: all 2 contacts connected."


def test_a_failed_campaign_gives_atoms_reason_and_what_to_do(users):
    row = campaign_row(users["staff"], "failed", error="Every phone number is inactive.")
    assert why(row) == ("Atoms stopped this campaign: Every phone number is inactive. Check its "
                        "phone numbers and agent in Atoms, then make a new campaign.")


def test_a_start_atoms_accepted_but_not_confirmed_says_so(users):
    row = campaign_row(users["staff"], "draft", pending_action="start",
                       pending_outcome="accepted",
                       pending_since=timezone.now() - timedelta(seconds=90))
    assert why(row) == ("Starting: Atoms accepted it 1 minute ago and has not confirmed it "
                        "yet. The status changes when it does.")


def test_atoms_not_answering_says_since_when_once_polls_keep_failing(sim, running):
    sim.faults(error_rate=1, fail_routes=["GET /campaign/{id}"])
    for _ in range(2):
        due_now(running)
        poll.tick()
    assert why(running).startswith("Atoms is not answering since less than a minute ago:")


def test_a_running_campaign_that_dials_has_no_sentence(sim, running):
    sim.advance(60)
    due_now(running)
    poll.tick()
    assert why(running) == ""


def test_a_running_campaign_that_stopped_moving_is_called_stalled(sim, running, settings):
    settings.STALL_AFTER_SECONDS = 300
    MetricSnapshot.objects.filter(campaign=running).update(
        taken_at=timezone.now() - timedelta(minutes=10))
    assert why(running).startswith(
        "Running, but stalled: the last call was made or connected 10 minutes ago.")
    assert why(running).endswith("pausing and resuming it restarts the dialling.")
    assert why(running, may=("start",)).endswith(
        "an admin can pause and resume it to restart the dialling.")


def test_waiting_for_retries_says_how_many_and_when(users):
    """Every contact had its call; two did not answer and wait out the 30-minute delay."""
    row = campaign_row(users["staff"], "running", max_retries=2, retry_delay=30,
                       total_participants=2, contacts_called=2,
                       call_summary={"calls": 2, "counts": {"no_answer": 2},
                                     "retries_pending": 2})
    five_minutes_ago = timezone.now() - timedelta(minutes=5, seconds=5)
    for n in range(2):
        CallRecord.objects.create(campaign=row, call_id=f"CALL-{n}", to_number=f"+9100{n}",
                                  status="no_answer", outcome="no_answer", attempt=0,
                                  created_at=five_minutes_ago)
    assert why(row) == ("Waiting for retries: 2 contacts will be called again, the next in "
                        "24 minutes.")
    row.call_summary = {**row.call_summary, "counts": {"no_answer": 1, "in_progress": 1}}
    row.save()
    assert why(row) == ""  # a call is under way: it is dialing


def test_a_stall_reaches_open_pages_once_though_nothing_else_changed(sim, running, settings):
    settings.STALL_AFTER_SECONDS = 60
    now = timezone.now()
    MetricSnapshot.objects.filter(campaign=running).update(taken_at=now - timedelta(seconds=61))
    Campaign.objects.filter(pk=running.pk).update(fetched_at=now - timedelta(seconds=2),
                                                  next_poll_at=None)
    watch(running.pk)  # an open page
    published = Published()
    poll.tick()
    assert [m["campaign"] for m in published.changes()] == [running.pk]
    cached = redis_client().get(publish.fragment_key(running.pk, "detail")).decode()
    assert "Running, but stalled" in cached
    due_now(running)
    poll.tick()  # still stalled: told already
    assert published.changes() == []


def test_the_board_card_and_the_page_show_the_sentence(sim, running, login_as, settings):
    settings.STALL_AFTER_SECONDS = 300
    MetricSnapshot.objects.filter(campaign=running).update(
        taken_at=timezone.now() - timedelta(minutes=10))
    publish.publish_campaign(running.pk)  # as the poller does when the stall begins
    client = login_as("manager")
    page = client.get(reverse("campaign_detail", args=[running.pk])).content.decode()
    board = client.get(reverse("board")).content.decode()
    for html in (page, board):
        assert 'data-testid="why"' in html and "Running, but stalled" in html


# --- ETA ---------------------------------------------------------------------------------


def test_the_eta_is_a_dash_until_there_is_history():
    now = timezone.now()
    assert progress.eta([(now, 5)], remaining_calls=10, now=now) is None
    assert progress.eta([(now - timedelta(seconds=10), 0), (now - timedelta(seconds=5), 3),
                         (now, 5)], remaining_calls=10, now=now) is None  # under a minute
    flat = [(now - timedelta(minutes=m), 5) for m in (3, 2, 1, 0)]
    assert progress.eta(flat, remaining_calls=10, now=now) is None  # no rate: no guess


def test_the_eta_converges_on_the_real_finish_as_the_simulator_dials(sim, atoms_settings,
                                                                      users):
    """Points as the poller sees them (Atoms' clock, contacts called), fed to the ETA after
    each step; the finish is when the last first call was made (no retries here)."""
    campaign = make_campaign(sim, users["staff"], "running", audience_size=50,
                             max_retries=0)
    points, estimates = [], []
    for _ in range(200):
        sim.advance(30)
        due_now(campaign)
        poll.tick()
        campaign.refresh_from_db()
        at = datetime.fromtimestamp(sim.now()["nowMs"] / 1000, tz=UTC)
        points.append((at, campaign.contacts_called))
        remaining = campaign.total_participants - campaign.contacts_called
        if remaining == 0:
            finished = at
            break
        estimate = progress.eta(points, remaining_calls=remaining, now=at)
        if estimate is not None:
            estimates.append((at, estimate))
    else:
        pytest.fail("the simulator never called every contact")
    assert len(estimates) >= 8
    # Most of the later estimates contain the real finish (within one step), and the
    # ranges narrow as the campaign runs: the last quarter's are narrower than the first's.
    step = timedelta(seconds=30)
    later = estimates[len(estimates) // 2:]
    hits = [at + e.soonest - step <= finished <= at + e.latest + step for at, e in later]
    assert sum(hits) >= 0.75 * len(later), [(at.time(), str(e)) for at, e in later]
    quarter = len(estimates) // 4
    width = [e.latest - e.soonest for _, e in estimates]
    assert max(width[-quarter:]) < min(width[:quarter])


def test_the_eta_is_never_sooner_than_the_last_waiting_retry_is_due():
    now = timezone.now()
    fast = [(now - timedelta(minutes=m), 100 - 20 * m) for m in (3, 2, 1, 0)]
    quick = progress.eta(fast, remaining_calls=2, now=now)
    assert quick.latest < timedelta(minutes=1)
    held = progress.eta(fast, remaining_calls=2, now=now,
                        not_before=now + timedelta(minutes=14))
    assert str(held) == "about 14 min"


def test_a_card_waiting_for_retries_says_it_finishes_after_them(users):
    row = campaign_row(users["staff"], "running", max_retries=2, retry_delay=15,
                       total_participants=50, contacts_called=50,
                       call_summary={"calls": 50, "counts": {"no_answer": 1, "completed": 49},
                                     "retries_pending": 1})
    now = timezone.now()
    CallRecord.objects.create(campaign=row, call_id="CALL-1", to_number="+9100",
                              status="no_answer", outcome="no_answer", attempt=0,
                              created_at=now - timedelta(minutes=1))
    for minutes, called in ((4, 2), (3, 18), (2, 34), (1, 50)):
        MetricSnapshot.objects.create(campaign=row, taken_at=now - timedelta(minutes=minutes),
                                      status="running", contacts_called=called,
                                      total_participants=50, contacts_connected=0)
    snapshots = list(MetricSnapshot.objects.filter(campaign=row).order_by("taken_at"))
    estimate = publish.fragment_context(row, snapshots)["eta"]
    assert str(estimate) == "about 14 min"


def test_after_a_resume_the_eta_reads_the_dialing_since_not_the_paused_stretch(users):
    """After a resume it said "1 min to 1 h 47 min": the paused stretch counted as slow
    dialing."""
    row = campaign_row(users["staff"], "running", total_participants=100, contacts_called=40)
    now = timezone.now()
    history = [(20, "running", 10), (18, "running", 20), (16, "running", 30),
               (15, "paused", 30), (10, "paused", 30), (5, "paused", 30),
               (3, "running", 30), (2, "running", 35), (1, "running", 40)]
    snapshots = [MetricSnapshot(campaign=row, taken_at=now - timedelta(minutes=minutes),
                                status=status, contacts_called=called,
                                total_participants=100, contacts_connected=0)
                 for minutes, status, called in history]
    estimate = publish.fragment_context(row, snapshots)["eta"]
    # 60 to go at 5 a minute since the resume, or 3.3 over its whole stretch to now.
    assert str(estimate) == "12 min to 18 min"


def test_the_eta_reads_as_a_range_of_minutes():
    assert str(progress.Eta(timedelta(minutes=12), timedelta(minutes=18))) == "12 min to 18 min"
    assert str(progress.Eta(timedelta(minutes=95), timedelta(minutes=95))) == "about 1 h 35 min"
    assert str(progress.Eta(timedelta(seconds=20), timedelta(seconds=40))) == "under a minute"


def test_a_finished_campaigns_executions_say_not_reached_not_failed(sim, atoms_settings):
    """"Failed 336" in its executions beside "Failed 144" in its outcomes, on one page:
    the first counts contacts never connected after every retry, the second failed calls."""
    sync.sync_campaign_list()
    finished = Campaign.objects.get(name="Mumbai leads - first touch")
    poll.refresh_one(finished.pk)
    finished.refresh_from_db()
    html = publish.render_fragment(finished, "detail", [])
    header = re.search(r"<thead><tr><th>#</th>.*?</tr></thead>", html, re.S).group(0)
    assert "Not reached" in header and "Failed" not in strip_tags(header)
    assert "not reached</span>" in html


def test_atoms_events_say_who_in_words_and_keep_a_source_they_do_not_know(users):
    """The Events table showed Atoms' raw "Trigger source" values ("user", "scheduler")
    under a header that meant nothing to the people reading it."""
    campaign = campaign_row(users["staff"], "running", events=[
        {"created_at": "2026-03-12T09:31:00+00:00", "trigger_source": source, "action": action}
        for source, action in (("user", "created"), ("scheduler", "started"),
                               ("system", "completed"), ("webhook-v2", "paused"), ("", ""))])
    html = publish.render_fragment(campaign, "detail", [])
    table = re.search(r'aria-label="Events">.*?</table>', html, re.S).group(0)
    assert "<th>By</th><th>What happened</th>" in table and "Trigger source" not in table
    assert events_table(campaign) == [["A person", "Created"], ["Its schedule", "Started"],
                    ["Atoms", "Completed"], ["webhook-v2", "Paused"], ["—", "—"]]


def events_table(campaign) -> list[list[str]]:
    """The Events table's rows as read: [by, what happened]."""
    html = publish.render_fragment(campaign, "detail", [])
    table = re.search(r'aria-label="Events">.*?</table>', html, re.S).group(0)
    return [[strip_tags(cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)][1:]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]


def test_each_event_is_named_by_the_last_ask_before_it_not_a_later_one(users):
    """A start, a pause and a resume within half a minute: the resume's ask, within a
    clock's slack of the first start's event, must not name that first start."""
    t0 = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    events = [{"created_at": (t0 + timedelta(seconds=at)).isoformat(), "trigger_source": "user",
               "action": action} for at, action in ((3, "started"), (15, "paused"),
                                                     (28, "resumed"))]
    campaign = campaign_row(users["staff"], "running", events=events)
    for at, who, action in ((0, "staff", "start"), (10, "admin", "pause"),
                            (25, "manager", "start")):
        entry = audit.record(users[who], action, "ok", campaign=campaign)
        AuditEntry.objects.filter(pk=entry.pk).update(created_at=t0 + timedelta(seconds=at))
    assert events_table(campaign) == [[users["staff"].username, "Started"],
                                      [users["admin"].username, "Paused"],
                                      [users["manager"].username, "Resumed"]]


def test_atoms_events_name_who_asked_through_the_dashboard(sim, atoms_settings, users):
    """Atoms says "user" for every ask made through its API: the Events table said "A
    person" beside the Activity table that named them. The person (or the calling hours)
    who asked here is named; an ask made elsewhere stays "A person"."""
    # Atoms' clock and ours agree (the simulator's stands where the test session began).
    sim.advance(max(0.0, time.time() - sim.now()["nowMs"] / 1000))
    campaign = make_campaign(sim, users["staff"], "draft")
    services.start_campaign(users["manager"], campaign)
    campaign = wait_for_status(sim, campaign, "running", step=1)
    services.pause_campaign(services.CALLING_HOURS, campaign)
    campaign = wait_for_status(sim, campaign, "paused", step=1)
    atoms_client().start_campaign(campaign.atoms_id)  # from Atoms' console, say
    campaign = wait_for_status(sim, campaign, "running", step=1)

    assert events_table(campaign) == [
        ["sam-staff", "Created"], ["mia-manager", "Started"], ["Its calling hours", "Paused"],
        ["A person", "Resumed"]]
