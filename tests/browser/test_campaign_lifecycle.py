"""A campaign's whole life, clicked through in real Chromium against the simulator.

Staff create and start it, a manager watches it, an admin pauses and deletes it. The web
server, the Celery worker (polling every second) and the simulator are real processes;
the simulator's clock stands still unless a test moves it, so each status change happens
when the test says so.
"""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from campaigns.atoms import AtomsNotFound
from campaigns.connections import atoms_client
from campaigns.models import Campaign
from tests.browser.conftest import BUTTONS_FOLLOW, assert_fits_width, collect_page_errors, sign_in
from tests.campaign_factory import campaign_rows, make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

AUDIENCE_50 = "Mumbai leads - March (50 contacts)"
AGENT = "Renewals Assistant"
# Long enough for the worker's polls, short enough that a broken live update fails fast.
LIVE = 15_000


def fill_create_form(page, name: str, *, max_retries: str | None = None) -> None:
    page.goto("/campaigns/new/")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Agent", exact=True).select_option(label=AGENT)
    page.get_by_label("Audience", exact=True).select_option(label=AUDIENCE_50)
    page.locator("[data-field=phone_numbers] input[type=checkbox]").first.check()
    if max_retries is not None:
        page.get_by_label("Max retries").fill(max_retries)


def live_status(page):
    return page.locator("#live-detail").get_by_test_id("status")


def test_staff_create_and_start_a_campaign_a_manager_watches_and_an_admin_pauses_and_deletes_it(
        users, new_page, sim, celery_worker, server_settings):
    name = "Browser lifecycle"

    # Staff: create and start it by clicking, and see it move to running without a reload.
    staff = sign_in(new_page(), users["staff"].username)
    errors = collect_page_errors(staff)
    # Slow Atoms' answers to the poller a little, so the page is certainly drawn before the
    # first poll confirms the start: the pending "Starting…" is what it must show then.
    sim.faults(latency_ms=2000, fail_routes=["GET /campaign/{id}"])
    fill_create_form(staff, name)
    staff.get_by_role("button", name="Create and start").click()
    staff.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    expect(staff.get_by_role("status")).to_have_text(
        "Campaign created and started. The status changes when Atoms confirms.")
    expect(staff.locator("#live-detail").get_by_test_id("pending")).to_have_text("Starting…")
    expect(staff.get_by_test_id("preflight")).to_have_count(0)  # no "Before you start" now
    sim.clear_faults()
    staff.evaluate("window.sameDocument = true")
    sim.advance(5)  # Atoms moves a started campaign from processing to running after 3 s
    expect(live_status(staff)).to_have_text("Running", timeout=LIVE)
    expect(staff.locator("#live-detail").get_by_test_id("pending")).to_have_count(0)
    assert staff.evaluate("window.sameDocument === true"), "the page reloaded"
    campaign = Campaign.objects.get(name=name)
    assert campaign.created_by == users["staff"]
    detail_url = f"/campaigns/{campaign.pk}/"

    # Manager: the same campaign, running, with nothing to click.
    manager = sign_in(new_page(), users["manager"].username)
    errors += collect_page_errors(manager)
    manager.goto(detail_url)
    manager.evaluate("window.sameDocument = true")
    expect(live_status(manager)).to_have_text("Running")
    actions = manager.get_by_test_id("actions")
    expect(actions.get_by_role("button")).to_have_count(0)
    expect(actions.get_by_role("link")).to_have_count(0)
    for label in ("Start", "Resume", "Pause", "Delete"):
        expect(manager.get_by_role("button", name=label)).to_have_count(0)
        expect(manager.get_by_role("link", name=label)).to_have_count(0)

    # Admin: pause, watch it settle, then delete it after typing its name.
    admin = sign_in(new_page(), users["admin"].username)
    errors += collect_page_errors(admin)
    admin.goto(detail_url)
    expect(admin.get_by_test_id("pause-first")).to_be_visible()
    admin.get_by_test_id("actions").get_by_role("button", name="Pause").click()
    admin.wait_for_url(f"**{detail_url}")
    expect(admin.get_by_role("status")).to_have_text(
        "Pause requested. Atoms accepted it.")
    # Until a poll confirms it, the old status stays and the transition shows as pending,
    # here and on the manager's page, which is still open.
    expect(admin.get_by_role("button", name="Pausing…")).to_be_disabled()
    # Not "pause it first" beside the pause under way.
    expect(admin.get_by_test_id("pause-first")).to_have_text("It can be deleted once it is paused.")
    for page in (admin, manager):
        expect(live_status(page)).to_have_text("Running")
        expect(page.locator("#live-detail").get_by_test_id("pending")).to_have_text(
            "Pausing…", timeout=LIVE)
    sim.advance(5)  # the pause lands 3 s after Atoms accepted it
    for page in (admin, manager):
        expect(live_status(page)).to_have_text("Paused", timeout=LIVE)
        expect(page.locator("#live-detail").get_by_test_id("pending")).to_have_count(0)
    # What was said when it was asked for goes once the status has moved on (a probe read
    # "Start requested. Atoms accepted it." under "Completed").
    expect(admin.locator("#messages").get_by_text("Pause requested.")).to_have_count(0)
    expect(admin.get_by_role("button", name="Pausing…")).to_have_count(0, timeout=LIVE)
    # The buttons follow the status by themselves: Delete replaces the "pause first" note.
    delete_link = admin.get_by_test_id("actions").get_by_role("link", name="Delete")
    expect(delete_link).to_be_visible(timeout=LIVE)
    delete_link.click()
    admin.wait_for_url(f"**{detail_url}delete/")

    confirm = admin.get_by_label(f"Type {name} to confirm")
    expect(confirm).to_be_focused()
    delete_button = admin.get_by_role("button", name="Delete campaign")
    expect(delete_button).to_be_disabled()
    confirm.fill(name[:-1])
    expect(delete_button).to_be_disabled()
    # Reached by Tab all the same, and pressed too early it says why (a probe: a disabled
    # button was skipped, and nothing said it was there).
    confirm.press("Tab")
    expect(delete_button).to_be_focused()
    mismatch = admin.get_by_text("That is not the campaign's name yet")
    admin.keyboard.press("Enter")
    expect(mismatch).to_be_visible()
    expect(confirm).to_be_focused()
    assert admin.url.endswith(f"{detail_url}delete/")
    confirm.fill(name[:-1])  # typing on hides the note again
    expect(mismatch).to_be_hidden()
    confirm.fill(name.upper())
    expect(delete_button).to_be_disabled()
    # Enter on a name that does not match: it did nothing at all, without a word.
    expect(mismatch).to_be_hidden()
    confirm.press("Enter")
    expect(mismatch).to_be_visible()
    assert admin.url.endswith(f"{detail_url}delete/")
    confirm.fill(name)
    expect(mismatch).to_be_hidden()
    expect(delete_button).to_be_enabled()
    delete_button.click()

    admin.wait_for_url("**/campaigns/")
    expect(admin.get_by_role("status")).to_have_text(f"Campaign “{name}” deleted.")
    expect(admin.get_by_role("link", name=name)).to_have_count(0)
    # The manager's page, never reloaded, says it is gone, still with nothing to click.
    expect(manager.get_by_test_id("removed")).to_have_text(f"“{name}” has been deleted.",
                                                          timeout=LIVE)
    expect(manager.get_by_test_id("actions").get_by_role("button")).to_have_count(0)
    # Nor links that lead to "not found": its call log and downloads went with it.
    expect(manager.get_by_test_id("call-links")).to_have_count(0, timeout=LIVE)
    assert manager.evaluate("window.sameDocument === true"), "the manager's page reloaded"
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    with pytest.raises(AtomsNotFound):
        atoms_client().get_campaign(campaign.atoms_id)
    assert errors == []


def test_a_rejected_create_form_keeps_what_was_typed_and_says_why_beside_the_field(
        users, new_page, sim):
    page = sign_in(new_page(), users["staff"].username)
    errors = collect_page_errors(page)
    fill_create_form(page, "Keeps my input", max_retries="11")
    page.get_by_role("button", name="Create campaign").click()

    retries = page.locator("[data-field=max_retries]")
    expect(retries.locator(".field-error")).to_contain_text("At most 10 retries")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Keeps my input")
    expect(page.get_by_label("Max retries")).to_have_value("11")
    expect(page.get_by_label("Audience", exact=True).locator("option:checked")).to_have_text(
        AUDIENCE_50)
    expect(page.get_by_label("Agent", exact=True).locator("option:checked")).to_have_text(AGENT)
    expect(page.locator("[data-field=phone_numbers] input[type=checkbox]").first).to_be_checked()
    assert sim.calls_to("POST /campaign") == 0
    assert not Campaign.objects.exists()

    # Correcting the one field is all it takes.
    page.get_by_label("Max retries").fill("3")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    expect(page.get_by_test_id("campaign-name")).to_have_text("Keeps my input")
    assert Campaign.objects.get().max_retries == 3
    assert errors == []


def test_a_double_click_on_create_makes_exactly_one_campaign(users, new_page, sim):
    page = sign_in(new_page(), users["staff"].username)
    errors = collect_page_errors(page)
    fill_create_form(page, "Clicked twice")
    posts = []
    page.on("request", lambda request: posts.append(request.url)
            if request.method == "POST" and request.url.endswith("/campaigns/new/") else None)

    # A slow Atoms is when people click twice: the second click lands while the first
    # submit is still waiting, a tenth of a second later.
    sim.faults(latency_ms=1000, fail_routes=["POST /campaign"])
    page.get_by_role("button", name="Create campaign").dblclick(delay=100)

    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    expect(page.get_by_role("status")).to_have_text("Campaign created.")
    assert len(posts) == 1, f"the browser submitted the form {len(posts)} times"
    assert Campaign.objects.filter(name="Clicked twice").count() == 1
    assert sim.calls_to("POST /campaign") == 1
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_start_date_typed_without_its_time_is_not_sent_as_no_schedule(
        users, new_page, sim, width):
    """A probe: a date without a time is sent empty by the browser, the same as none, and
    "Create and start" then dialled at once instead of on that day."""
    page = sign_in(new_page(locale="en-US"), users["staff"].username)  # month, day, year
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    fill_create_form(page, "Date without a time")
    posts = []
    page.on("request", lambda request: posts.append(request.url)
            if request.method == "POST" else None)
    start_at = page.get_by_label("Start at")
    day = date.today() + timedelta(days=30)
    start_at.click()
    start_at.press_sequentially(f"{day:%m%d%Y}")  # the day, no time
    assert start_at.evaluate("el => el.validity.badInput")
    page.get_by_role("button", name="Create and start").click()

    note = page.get_by_test_id("unread-input")
    expect(note).to_have_text("Type the time as well as the date, or clear the date.")
    expect(start_at).to_be_focused()
    assert start_at.get_attribute("aria-invalid") == "true"
    assert note.get_attribute("id") in start_at.get_attribute("aria-describedby").split()
    assert start_at.evaluate("el => el.validity.badInput")  # what was typed is still there
    assert posts == [] and not Campaign.objects.exists()
    assert_fits_width(page)

    start_at.fill(f"{day:%Y-%m-%d}T09:30")  # with its time: the note goes
    expect(note).to_be_hidden()
    assert start_at.get_attribute("aria-invalid") is None
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    created = Campaign.objects.get()
    assert created.status == "scheduled" and created.scheduled_at.date() in (
        day - timedelta(days=1), day, day + timedelta(days=1))  # whatever the zone
    assert errors == []


def test_another_admins_open_page_loses_its_buttons_when_the_campaign_is_deleted(
        users, new_page, sim, server_settings):
    campaign = make_campaign(sim, users["staff"], "paused", name="Deleted meanwhile",
                             audience_size=50)
    watching = sign_in(new_page(), users["admin"].username)
    watching.goto(f"/campaigns/{campaign.pk}/")
    actions = watching.get_by_test_id("actions")
    expect(actions.get_by_role("button", name="Resume")).to_be_visible()
    expect(actions.get_by_role("link", name="Delete")).to_be_visible()

    deleting = sign_in(new_page(), users["admin"].username)
    deleting.goto(f"/campaigns/{campaign.pk}/delete/")
    deleting.get_by_label("Type Deleted meanwhile to confirm").fill("Deleted meanwhile")
    deleting.get_by_role("button", name="Delete campaign").click()
    deleting.wait_for_url("**/campaigns/")

    expect(watching.get_by_test_id("removed")).to_be_visible(timeout=LIVE)
    expect(actions.get_by_role("button", name="Resume")).to_have_count(0, timeout=BUTTONS_FOLLOW)
    expect(actions.get_by_role("link", name="Delete")).to_have_count(0)


def test_a_delete_atoms_left_unanswered_says_what_came_of_it_without_a_reload(
        users, new_page, sim, server_settings):
    """A probe: after a delete Atoms did not answer, the page said "look again in a minute"
    and never changed; the person had to leave it to find out. At phone width, as on the
    move is when a page is left waiting."""
    campaign = make_campaign(sim, users["staff"], "paused", name="Unanswered delete")
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": 390, "height": 900})
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{campaign.pk}/delete/")
    page.get_by_label("Type Unanswered delete to confirm").fill("Unanswered delete")
    # Held a second, then dropped unanswered, and not carried out.
    sim.faults(timeout_rate=1, timeout_seconds=1, fail_routes=["DELETE /campaign/{id}"])
    page.get_by_role("button", name="Delete campaign").click()
    zone = page.get_by_test_id("delete-zone")
    expect(zone).to_contain_text("but may yet delete it")
    expect(page.get_by_test_id("delete-outcome")).to_contain_text("Looking in Atoms again")
    sim.clear_faults()
    # Once Atoms can no longer be at work on it (as long again as the web server waits for
    # an answer: 15 s), the page says so by itself and offers the delete again.
    expect(page.get_by_test_id("delete-outcome")).to_have_text(
        "Atoms did not delete it: it still has “Unanswered delete”, and is no longer at work "
        "on the request. You can delete it again.", timeout=25_000)
    expect(page.get_by_label("Type Unanswered delete to confirm")).to_have_value(
        "Unanswered delete")
    assert_fits_width(page)
    page.get_by_role("button", name="Delete campaign").click()
    page.wait_for_url("**/campaigns/")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_list_left_open_offers_the_campaigns_a_colleague_adds_and_shows_them_on_request(
        users, new_page, sim, server_settings, width):
    make_campaign(sim, users["staff"], "paused", name="Already there", audience_size=50)
    watching = sign_in(new_page(), users["manager"].username)
    watching.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(watching)
    watching.goto("/campaigns/")
    rows = watching.get_by_test_id("campaign-row")
    expect(rows).to_have_count(1)
    note = watching.get_by_test_id("added-note")
    expect(note).to_be_hidden()
    # A paused campaign is not live: the list's stream is open for additions alone.
    watching.wait_for_function("() => window.liveStreamUp === true")
    watching.evaluate("window.sameDocument = true")

    adding = sign_in(new_page(), users["staff"].username)
    fill_create_form(adding, "Added meanwhile")
    adding.get_by_role("button", name="Create campaign").click()
    adding.wait_for_url(re.compile(r"/campaigns/\d+/$"))

    expect(note).to_be_visible(timeout=LIVE)
    expect(note).to_contain_text("1 campaign was added since this list was loaded.")
    expect(watching.locator("#announcer")).to_have_text(
        "1 campaign was added since this list was loaded. Show the list as it is now")
    expect(rows).to_have_count(1)  # nothing moved under the pointer
    assert_fits_width(watching)

    note.get_by_role("link", name="Show the list as it is now").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Added meanwhile")
    expect(note).to_be_hidden()
    expect(watching.locator("[data-results]")).to_be_focused()
    assert watching.evaluate("window.sameDocument") is True
    assert errors == []


def test_the_note_of_campaigns_added_stays_in_view_of_a_list_scrolled_down(
        users, new_page, sim, server_settings):
    """A probe: at 390 px the note sat above 25 rows, out of sight of a manager scrolled
    down the list."""
    campaign_rows(24)
    watching = sign_in(new_page(), users["manager"].username)
    watching.set_viewport_size({"width": 390, "height": 700})
    watching.goto("/campaigns/")
    watching.wait_for_function("() => window.liveStreamUp === true")
    watching.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    assert watching.evaluate("() => window.scrollY") > 700

    adding = sign_in(new_page(), users["staff"].username)
    fill_create_form(adding, "Seen from below")
    adding.get_by_role("button", name="Create campaign").click()
    adding.wait_for_url(re.compile(r"/campaigns/\d+/$"))

    note = watching.get_by_test_id("added-note")
    expect(note).to_be_visible(timeout=LIVE)
    expect(note).to_be_in_viewport()
    assert_fits_width(watching)
