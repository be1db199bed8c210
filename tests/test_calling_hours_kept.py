"""Calling hours kept on the simulator over HTTP, the clock driven by the test: paused at a
window's end and resumed at the next start through Atoms (across a daylight-saving change),
logged as done by "calling hours", never twice, and never over a person's own pause."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from campaigns import alerts, calling_hours, explain, keep_hours, services
from campaigns.connections import atoms_client
from campaigns.live import publish
from campaigns.models import Alert, AuditEntry, Campaign, SuppressedNumber
from tests.campaign_factory import (
    campaign_row,
    field_errors,
    list_a_number_awaiting_retry,
    make_campaign,
    wait_for_status,
)

pytestmark = pytest.mark.django_db

PAUSE = "POST /campaign/{id}/pause"
START = "POST /campaign/{id}/start"
NOTHING = {"paused": 0, "started": 0, "withheld": 0, "refused": 0}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def with_hours(campaign, text: str, zone: str, user) -> Campaign:
    services.set_calling_hours(user, campaign, calling_hours.parse(text, zone))
    campaign.refresh_from_db()
    return campaign


def keep(now: datetime) -> dict:
    return keep_hours.keep_calling_hours(now)


def by_calling_hours(campaign, action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(campaign=campaign, action=action,
                                          actor_name="calling hours"))


def test_paused_at_the_window_end_and_resumed_at_the_next_start_across_dst(sim, running,
                                                                          users):
    campaign = with_hours(running, "Mon-Fri 09:00-17:00", "America/New_York", users["admin"])
    # Friday 6 March 2026 16:59 New York (EST): inside the window, nothing asked of Atoms.
    assert keep(utc(2026, 3, 6, 21, 59)) == NOTHING
    assert sim.calls_to(PAUSE) == 0

    # 17:00: paused through Atoms.
    assert keep(utc(2026, 3, 6, 22, 0)) == {**NOTHING, "paused": 1}
    campaign = wait_for_status(sim, campaign, "paused", step=1)
    assert campaign.held_for_calling_hours
    (pause,) = by_calling_hours(campaign, AuditEntry.Action.PAUSE)
    assert pause.outcome == AuditEntry.Outcome.OK and pause.actor is None

    # The weekend, and Monday 08:59 on the new daylight time (12:59 UTC): nothing.
    for now in (utc(2026, 3, 7, 15), utc(2026, 3, 8, 15), utc(2026, 3, 9, 12, 59)):
        assert keep(now) == NOTHING
    assert (sim.calls_to(PAUSE), sim.calls_to(START)) == (1, 1)  # the start is make_campaign's

    # Monday 09:00 EDT is 13:00 UTC (an hour earlier than Friday's clock would say).
    assert keep(utc(2026, 3, 9, 13, 0)) == {**NOTHING, "started": 1}
    campaign = wait_for_status(sim, campaign, "running", step=1)
    (start,) = by_calling_hours(campaign, AuditEntry.Action.START)
    assert start.outcome == AuditEntry.Outcome.OK
    assert len(campaign.executions) == 2  # Atoms resumed it: a second execution

    # Its start took effect: the hold ends without asking Atoms anything.
    assert keep(utc(2026, 3, 9, 13, 1)) == NOTHING
    campaign.refresh_from_db()
    assert not campaign.held_for_calling_hours
    assert (sim.calls_to(PAUSE), sim.calls_to(START)) == (1, 2)


def test_a_second_keeper_at_the_same_instant_sends_nothing_more(sim, running, users):
    with_hours(running, "Mon-Fri 09:00-17:00", "America/New_York", users["admin"])
    friday_evening = utc(2026, 3, 6, 23)
    assert keep(friday_evening)["paused"] == 1
    assert keep(friday_evening) == NOTHING  # the pause is pending: its claim stands
    assert sim.calls_to(PAUSE) == 1


def test_a_persons_pause_is_never_undone_by_calling_hours(sim, running, users):
    campaign = with_hours(running, "Mon-Fri 09:00-17:00", "America/New_York", users["admin"])
    services.pause_campaign(users["admin"], campaign)  # Tuesday, inside the window
    campaign = wait_for_status(sim, campaign, "paused", step=1)
    assert not campaign.held_for_calling_hours
    # Later that day, the evening, and the next morning's opening: it stays paused.
    for now in (utc(2026, 3, 10, 15), utc(2026, 3, 10, 23), utc(2026, 3, 11, 13, 0),
                utc(2026, 3, 11, 13, 5)):
        assert keep(now) == NOTHING
    assert sim.calls_to(START) == 1  # make_campaign's only


def test_a_start_outside_calling_hours_waits_for_the_window(sim, atoms_settings, users,
                                                              login_as):
    draft = make_campaign(sim, users["staff"])
    # A one-hour window three days from now, in UTC: closed whatever today is.
    day = (timezone.now() + timedelta(days=3))
    window = f"{calling_hours.DAY_NAMES[day.weekday()]} 10:00-11:00"
    draft = with_hours(draft, window, "UTC", users["staff"])

    page = login_as("staff").post(reverse("campaign_start", args=[draft.pk]), follow=True)
    text = page.content.decode()
    opens = day.replace(hour=10, minute=0, second=0, microsecond=0)
    assert f"it will start at 10:00 on {opens:%A %d %B} (UTC)" in text
    assert sim.calls_to(START) == 0  # nothing asked of Atoms
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.held_for_calling_hours
    words = explain.why_not_dialing(draft, moved_at=None, now=timezone.now())
    assert f'it starts <time data-relative datetime="{opens.isoformat()}">' in words

    assert keep(opens - timedelta(minutes=1)) == NOTHING
    assert keep(opens) == {**NOTHING, "started": 1}
    wait_for_status(sim, draft, "running", step=1)


def test_a_first_start_held_for_the_window_is_not_sent_over_a_number_listed_since(
        sim, atoms_settings, users, login_as):
    """Held at 09:00 with nothing listed; a contact listed at 09:30; the window opens at
    10:00. The start was sent unchecked ("Atoms was sent only what the list allowed")."""
    draft = make_campaign(sim, users["staff"])
    day = timezone.now() + timedelta(days=3)
    draft = with_hours(draft, f"{calling_hours.DAY_NAMES[day.weekday()]} 10:00-11:00", "UTC",
                       users["staff"])
    login_as("staff").post(reverse("campaign_start", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.held_for_calling_hours
    pilot = next(a for a in atoms_client().list_audiences() if a.name == "Pilot testers")
    number = atoms_client().all_audience_members(pilot.id)[0].data["phoneNumber"]
    SuppressedNumber.objects.create(phone_number=number)
    opens = day.replace(hour=10, minute=0, second=0, microsecond=0)
    assert keep(opens) == {**NOTHING, "withheld": 1}
    assert sim.calls_to(START) == 0
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.resume_withheld_for == [number]
    (alert,) = alerts.evaluate()
    assert alert.message.startswith(f"Calling hours did not start “{draft.name}”: 1 number")
    assert "It stays a draft until a person starts it." in alert.message
    # Its title on the alerts page, webhooks and mail is not "Not resumed" for a start.
    assert str(alert).startswith("Not started or resumed: do-not-call numbers: ")
    words = explain.why_not_dialing(draft, moved_at=None, now=timezone.now())
    assert "Calling hours did not start it: 1 number on the do-not-call list" in words


def test_a_held_start_offers_dont_start_instead_of_start_and_can_be_dropped(
        sim, atoms_settings, users, login_as):
    """A held start left Start on the page (pressing it again changed nothing) and no way
    to change one's mind: calling hours would start it. Now the page says it waits and
    offers "Don't start", which leaves it a draft that calling hours never start."""
    draft = make_campaign(sim, users["staff"])
    day = timezone.now() + timedelta(days=3)
    draft = with_hours(draft, f"{calling_hours.DAY_NAMES[day.weekday()]} 10:00-11:00", "UTC",
                       users["staff"])
    staff = login_as("staff")
    staff.post(reverse("campaign_start", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.start_waits_for_hours and draft.button_state.endswith(":held")
    actions = staff.get(reverse("campaign_actions", args=[draft.pk])).content.decode()
    assert 'data-testid="held-start"' in actions and "Don't start</button>" in actions
    assert reverse("campaign_start", args=[draft.pk]) not in actions
    # Its status says so wherever it shows, the campaigns list included.
    assert 'data-testid="held"' in publish.render_fragment(draft, "row", [])

    page = staff.post(reverse("campaign_cancel_held_start", args=[draft.pk]), follow=True)
    assert "The start waiting for calling hours is cancelled: it stays draft." in (
        page.content.decode())
    draft.refresh_from_db()
    assert not draft.held_for_calling_hours and draft.can_start
    assert 'data-testid="held"' not in publish.render_fragment(draft, "row", [])
    assert reverse("campaign_start", args=[draft.pk]) in staff.get(
        reverse("campaign_actions", args=[draft.pk])).content.decode()
    opens = day.replace(hour=10, minute=0, second=0, microsecond=0)
    assert keep(opens) == NOTHING and sim.calls_to(START) == 0
    # Twice (a second tab): said in words, nothing else changes.
    again = staff.post(reverse("campaign_cancel_held_start", args=[draft.pk]), follow=True)
    assert "No start is waiting for calling hours any more" in again.content.decode()
    # Once the beat has claimed the start (its hours began), that start is not called off.
    Campaign.objects.filter(pk=draft.pk).update(held_for_calling_hours=True,
                                                pending_action="start")
    late = staff.post(reverse("campaign_cancel_held_start", args=[draft.pk]), follow=True)
    assert "it may be under way" in late.content.decode()
    draft.refresh_from_db()
    assert draft.held_for_calling_hours
    # Only those who may start may drop a start.
    refused = login_as("manager").post(reverse("campaign_cancel_held_start", args=[draft.pk]))
    assert refused.status_code == 403


def test_staying_paused_past_the_hours_is_a_pause_and_the_page_says_who_chose_it(
        sim, running, users, login_as):
    """Staff (who may not pause) kept a campaign that calling hours had paused from
    resuming at its next window: "Stay paused", a pause by another name. Its page then said
    only "Paused by calling hours", and an admin expected it back at 9:00 (probe)."""
    campaign = with_hours(running, "Mon-Fri 09:00-17:00", "America/New_York", users["admin"])
    assert keep(utc(2026, 3, 6, 22, 0))["paused"] == 1
    campaign = wait_for_status(sim, campaign, "paused", step=1)
    assert campaign.start_waits_for_hours

    staff = login_as("staff")
    actions = staff.get(reverse("campaign_actions", args=[campaign.pk])).content.decode()
    assert 'data-testid="held-start"' in actions and "Stay paused" not in actions
    refused = staff.post(reverse("campaign_cancel_held_start", args=[campaign.pk]))
    assert refused.status_code == 403
    assert "needs the admin role, as pausing it does" in refused.content.decode()
    campaign.refresh_from_db()
    assert campaign.start_waits_for_hours

    admin = login_as("admin")
    assert "Stay paused</button>" in admin.get(
        reverse("campaign_actions", args=[campaign.pk])).content.decode()
    admin.post(reverse("campaign_cancel_held_start", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert not campaign.start_waits_for_hours
    sentence = strip_tags(explain.why_not_dialing(campaign, moved_at=None, now=timezone.now()))
    assert (f"Paused by calling hours less than a minute ago, and kept paused by "
            f"{users['admin'].username}: its calling hours will not resume it." in sentence)


def test_an_unanswered_pause_at_the_edge_is_checked_with_atoms_not_sent_again(sim, running,
                                                                             users):
    campaign = with_hours(running, "Mon-Fri 09:00-17:00", "America/New_York", users["admin"])
    sim.faults(error_rate=1, fail_routes=[PAUSE])
    assert keep(utc(2026, 3, 6, 22, 0)) == {**NOTHING, "refused": 1}
    (unanswered,) = by_calling_hours(campaign, AuditEntry.Action.PAUSE)
    assert unanswered.outcome == AuditEntry.Outcome.FAILED
    assert "checking with Atoms" in unanswered.message
    campaign.refresh_from_db()
    assert (campaign.pending_action, campaign.pending_outcome) == ("pause", "unanswered")
    # Later ticks leave it to the poller to find out from Atoms: no second pause sent.
    sim.clear_faults()
    for minute in (1, 2, 3):
        assert keep(utc(2026, 3, 6, 22, minute)) == NOTHING
    assert sim.calls_to(PAUSE) == 1


def test_explainer_says_outside_calling_hours_and_when_it_resumes(sim, running, users):
    campaign = with_hours(running, "Mon-Fri 09:00-17:00", "America/New_York", users["admin"])
    friday_evening = utc(2026, 3, 6, 22, 30)
    words = str(explain.why_not_dialing(campaign, moved_at=None, now=friday_evening))
    # One pair of brackets ("(Mon–Fri 09:00–17:00 (America/New_York))" nested two).
    assert "Outside its calling hours, Mon–Fri 09:00–17:00 (America/New_York): the dashboard "\
           "is pausing it." in words
    keep(friday_evening)
    campaign = wait_for_status(sim, campaign, "paused", step=1)
    words = str(explain.why_not_dialing(campaign, moved_at=None, now=friday_evening))
    assert "it resumes" in words and 'datetime="2026-03-09T13:00:00+00:00"' in words
    assert ">in 2\xa0days, 14\xa0hours<" in words  # timesince's no-break spaces


# --- the page where they are set ---------------------------------------------------------

def hours_url(campaign) -> str:
    return reverse("campaign_calling_hours", args=[campaign.pk])


def test_staff_set_calling_hours_on_a_draft_and_the_page_shows_them(login_as, users):
    draft = campaign_row(users["staff"])
    staff = login_as("staff")
    form = staff.get(hours_url(draft)).content.decode()
    assert '<datalist id="time-zones">' in form and '<option value="Europe/London">' in form

    response = staff.post(hours_url(draft), {"zone": "Europe/London",
                                             "windows": "Mon-Fri 09:00-17:00\nSat 10:00-14:00"})
    assert response.status_code == 302
    detail = staff.get(reverse("campaign_detail", args=[draft.pk])).content.decode()
    assert "Mon–Fri 09:00–17:00, Sat 10:00–14:00 (Europe/London)" in detail
    entry = AuditEntry.objects.get(campaign=draft, action=AuditEntry.Action.CALLING_HOURS)
    assert entry.actor == users["staff"] and "Sat 10:00–14:00" in entry.message

    # Shown again as typed; emptied, they are gone and it may dial at any time.
    again = staff.get(hours_url(draft)).content.decode()
    assert "Mon-Fri 09:00-17:00\nSat 10:00-14:00</textarea>" in again
    staff.post(hours_url(draft), {"zone": "Europe/London", "windows": ""})
    draft.refresh_from_db()
    assert draft.calling_hours == {} and not draft.held_for_calling_hours


def test_what_cannot_be_read_is_said_beside_its_field_and_kept(login_as, users):
    draft = campaign_row(users["staff"])
    staff = login_as("staff")
    response = staff.post(hours_url(draft), {"zone": "Europe/London",
                                             "windows": "Mon-Fri 09:00-17:00\nSunday 18-20"})
    assert response.status_code == 422
    assert field_errors(response, "windows") == [
        "Line 2 (“Sunday 18-20”): write days, then from–to, e.g. “Mon-Fri 09:00-17:00”."]
    assert "Mon-Fri 09:00-17:00\nSunday 18-20</textarea>" in response.content.decode()

    response = staff.post(hours_url(draft), {"zone": "Mars/Olympus", "windows": "Mon 09:00-10:00"})
    assert response.status_code == 422
    assert field_errors(response, "zone") == [
        "“Mars/Olympus” is not a time zone on the list: choose one, e.g. Europe/London or "
        "America/New_York."]
    draft.refresh_from_db()
    assert draft.calling_hours == {}


def test_the_zone_is_asked_for_with_windows_and_not_labelled_optional(login_as, users):
    """The "Time zone" field said "(optional)" and was then refused when left empty beside
    windows. It is labelled as needed; left empty with windows, it says so beside it and
    keeps the windows; with no windows the hours are removed and no zone is asked for."""
    draft = campaign_row(users["staff"])
    staff = login_as("staff")
    form = staff.get(hours_url(draft)).content.decode()
    assert '<label for="id_zone">Time zone</label>' in form
    response = staff.post(hours_url(draft), {"zone": "", "windows": "Mon 09:00-10:00"})
    assert response.status_code == 422
    assert field_errors(response, "zone") == [
        "Choose the time zone the windows follow, e.g. Europe/London or America/New_York."]
    assert "Mon 09:00-10:00</textarea>" in response.content.decode()
    assert staff.post(hours_url(draft), {"zone": "", "windows": " "}).status_code == 302


@pytest.mark.parametrize(("typed", "saved"), [("asia/kolkata", "Asia/Kolkata"),
                                               (" New York ", "America/New_York"),
                                               ("utc", "UTC")])
def test_a_zone_typed_in_another_case_is_saved_as_the_list_writes_it(login_as, users, typed,
                                                                     saved):
    """"asia/kolkata" was refused with "Choose the zone as the list writes it:
    Asia/Kolkata.": the form knew the zone meant, and the person had to type it again (a
    probe). One zone, whatever the case or spaces, is taken by its listed name."""
    draft = campaign_row(users["staff"])
    response = login_as("staff").post(hours_url(draft),
                                      {"zone": typed, "windows": "Mon 09:00-10:00"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.calling_hours["zone"] == saved


def test_a_misleading_zone_is_refused_beside_it_and_saved_hours_in_one_still_work(
        sim, running, login_as, users):
    """"Etc/GMT+5" (which is UTC-5) and "US/Eastern" were saved, and the suggestions offered
    all 597 names of the zone database. Now the list offers places, a refusal names the
    city to choose with what was typed kept, and hours saved before in an old name are
    still kept by the beat as saved."""
    draft = campaign_row(users["staff"])
    staff = login_as("staff")
    form = staff.get(hours_url(draft)).content.decode()
    assert '<option value="America/New_York">' in form and '<option value="UTC">' in form
    assert '<option value="Etc/GMT+5">' not in form and '<option value="EST">' not in form
    response = staff.post(hours_url(draft), {"zone": "US/Eastern", "windows": "Mon 22:00-23:00"})
    assert response.status_code == 422
    assert field_errors(response, "zone") == [
        "“US/Eastern” is an old or short name for a clock: choose America/New_York, the same "
        "clock by its current name."]
    page = response.content.decode()
    assert 'value="US/Eastern"' in page and "Mon 22:00-23:00</textarea>" in page
    draft.refresh_from_db()
    assert draft.calling_hours == {}

    Campaign.objects.filter(pk=running.pk).update(calling_hours={
        "zone": "US/Eastern", "windows": [{"days": [0, 1, 2, 3, 4], "from": "09:00",
                                           "to": "17:00"}]})
    # Friday 6 March 2026, 17:00 in New York: the window has ended.
    assert keep(utc(2026, 3, 6, 22, 0)) == {**NOTHING, "paused": 1}
    # Its form opens on the same clock's current name, so saving it unchanged is accepted.
    admin = login_as("admin")
    assert admin.get(hours_url(running)).context["form"]["zone"].value() == "America/New_York"
    assert admin.post(hours_url(running), {"zone": "America/New_York",
                                           "windows": "Mon-Fri 09:00-17:00"}).status_code == 302


def test_once_started_only_those_who_may_pause_may_change_them(login_as, users):
    running = campaign_row(users["staff"], "running")
    staff = login_as("staff")
    refused = staff.post(hours_url(running), {"zone": "UTC", "windows": "Mon 09:00-10:00"})
    assert refused.status_code == 403
    assert "needs the admin role, as pausing it does" in refused.content.decode()
    running.refresh_from_db()
    assert running.calling_hours == {}
    detail = staff.get(reverse("campaign_detail", args=[running.pk])).content.decode()
    assert "Set calling hours" not in detail

    assert login_as("manager").get(hours_url(campaign_row(users["staff"]))).status_code == 403
    admin = login_as("admin")
    assert "Set calling hours" in admin.get(
        reverse("campaign_detail", args=[running.pk])).content.decode()
    assert admin.post(hours_url(running), {"zone": "UTC",
                                           "windows": "Mon 09:00-10:00"}).status_code == 302
    running.refresh_from_db()
    assert running.calling_hours["windows"] == [{"days": [0], "from": "09:00", "to": "10:00"}]
    finished = campaign_row(users["staff"], "completed")
    assert admin.get(hours_url(finished)).status_code == 403
    # Staff are told what no role changes, without "ask an admin for a different role".
    page = login_as("staff").get(hours_url(finished)).content.decode()
    assert "calling hours no longer apply" in page and "different role" not in page
    assert "Ask an admin if you need a different role." in refused.content.decode()


def test_calling_hours_never_resume_over_a_listed_number_no_person_agreed_to(
        sim, atoms_settings, users, login_as):
    """Atoms keeps a campaign's contacts as they were, so resuming retries a number listed
    since. Calling hours leave it paused and say why; a person's resume (asked first, and
    held for the window) is kept, with the numbers they agreed to."""
    campaign = make_campaign(sim, users["staff"], "running", audience_size=50, max_retries=2)
    number = list_a_number_awaiting_retry(sim, campaign, users["staff"])
    # A one-hour window three days from now, in UTC: closed now, open at `opens`.
    day = timezone.now() + timedelta(days=3)
    campaign = with_hours(campaign, f"{calling_hours.DAY_NAMES[day.weekday()]} 10:00-11:00",
                          "UTC", users["admin"])
    opens = day.replace(hour=10, minute=0, second=0, microsecond=0)
    assert keep(timezone.now())["paused"] == 1
    campaign = wait_for_status(sim, campaign, "paused", step=1)
    starts = sim.calls_to(START)

    assert keep(opens) == {**NOTHING, "withheld": 1}
    assert keep(opens + timedelta(minutes=1)) == NOTHING  # said once, not every tick
    assert sim.calls_to(START) == starts
    campaign.refresh_from_db()
    assert campaign.status == "paused" and campaign.resume_withheld_for == [number]
    (withheld,) = by_calling_hours(campaign, AuditEntry.Action.START)
    assert withheld.outcome == AuditEntry.Outcome.REFUSED
    reason = f"1 number on the do-not-call list is still to be called by it ({number})"
    assert reason in withheld.message
    (alert,) = alerts.evaluate()
    assert alert.kind == Alert.Kind.RESUME_WITHHELD and reason in alert.message
    words = explain.why_not_dialing(campaign, moved_at=None, now=timezone.now())
    assert f"Calling hours did not resume it: {reason}." in words

    # A person decides: told the number, agrees, and the resume waits for the window.
    staff = login_as("staff")
    asked = staff.post(reverse("campaign_start", args=[campaign.pk]), follow=True)
    assert asked.redirect_chain == [(reverse("campaign_start", args=[campaign.pk]), 302)]
    assert number in asked.content.decode()
    staff.post(reverse("campaign_start", args=[campaign.pk]),
               {"confirm": asked.context["confirm"], "agreed": [number]})
    campaign.refresh_from_db()
    assert campaign.held_for_calling_hours and campaign.listed_retries_accepted == [number]
    assert campaign.resume_withheld_for == []
    alerts.evaluate()
    alert.refresh_from_db()
    assert alert.closed_at is not None
    assert sim.calls_to(START) == starts  # still outside the window

    assert keep(opens + timedelta(minutes=2)) == {**NOTHING, "started": 1}
    wait_for_status(sim, campaign, "running", step=1)
    assert sim.calls_to(START) == starts + 1


def test_removing_the_hours_of_a_campaign_they_paused_says_it_stays_paused(login_as, users):
    """Calling hours paused it and would have resumed it: removed, nothing resumes it, and
    the page must not say it may dial at any time."""
    paused = campaign_row(users["staff"], "paused")
    paused = with_hours(paused, "Mon 09:00-10:00", "UTC", users["admin"])
    Campaign.objects.filter(pk=paused.pk).update(held_for_calling_hours=True)
    response = login_as("admin").post(hours_url(paused), {"zone": "", "windows": ""},
                                      follow=True)
    said = [str(m) for m in response.wsgi_request._messages]
    assert said == ["Calling hours removed. The resume that waited for them is dropped, so it "
                    "stays paused: resume it when it should dial."]
    paused.refresh_from_db()
    assert paused.calling_hours == {} and not paused.held_for_calling_hours
