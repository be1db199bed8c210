"""What changes without the person doing it is said to screen-reader users, focus follows
what they asked for, and errors are tied to what they are about:

- a campaign's status moved by someone else (or Atoms) is said by one polite live region
  that is in the page from the start and never swapped (#actions, though aria-live, is
  replaced whole, and the status chip is in no live region at all);
- a page of the campaign list brought in by "Next →" takes focus (it fell to the body) and
  is said, and so is what a search found;
- the error beside the phone numbers (new campaign) and the "not the name yet" note
  (delete) are what their fields are described by;
- every page has an h1 and all its content is in a landmark (axe: page-has-heading-one,
  region; both "moderate", so `assert_accessible` alone does not catch them)."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.live import publish
from campaigns.models import Campaign
from dashboard.processes import POLL_INTERVAL
from tests.browser.conftest import (
    AXE_SOURCE,
    BUTTONS_FOLLOW,
    RECORD_ANNOUNCEMENTS,
    assert_accessible,
    collect_page_errors,
    let_the_numbers_move,
    sign_in,
)
from tests.campaign_factory import campaign_row, campaign_rows, make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = 15_000


def axe_rule_violations(page, rules: list[str]) -> list[str]:
    """Violations of just these axe rules, whatever their impact."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        with open(AXE_SOURCE, encoding="utf-8") as source:
            page.evaluate(source.read())
    result = page.evaluate(
        "async rules => await axe.run(document, {runOnly: {type: 'rule', values: rules}})",
        rules)
    return [f"{item['id']}: {node['target']}"
            for item in result["violations"] for node in item["nodes"]]


def test_a_status_changed_elsewhere_is_said_once_and_focus_stays(
        users, new_page, sim, celery_worker, server_settings):
    running = make_campaign(sim, users["staff"], "running", name="Said aloud",
                            audience_size=50)
    page = sign_in(new_page(), users["admin"].username)
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{running.pk}/")
    status = page.locator("#live-detail").get_by_test_id("status")
    expect(status).to_have_text("Running")
    announcer = page.get_by_test_id("announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    page.evaluate(RECORD_ANNOUNCEMENTS)
    # Live updates of the same status (the numbers move) say nothing, nor does the load.
    let_the_numbers_move(page, sim, timeout=LIVE)
    expect(status).to_have_text("Running")
    page.wait_for_timeout(1_000 * POLL_INTERVAL)
    expect(announcer).to_have_text("")
    # Someone is reading the page, focus on a link away from the buttons.
    call_log = page.get_by_test_id("open-call-log")
    call_log.focus()

    services.pause_campaign(users["admin"], running)  # from elsewhere
    sim.advance(5)
    expect(status).to_have_text("Paused", timeout=LIVE)
    expect(announcer).to_have_text("Status: Paused", timeout=BUTTONS_FOLLOW)
    expect(call_log).to_be_focused()
    expect(page.get_by_test_id("actions").get_by_role("button", name="Resume")).to_be_visible(
        timeout=BUTTONS_FOLLOW)
    page.wait_for_timeout(3_000 * POLL_INTERVAL)  # more updates, the same status
    assert page.evaluate("window.said") == ["Status: Paused"]
    assert page.evaluate("window.announcerNode === document.getElementById('announcer')")
    expect(call_log).to_be_focused()
    assert errors == []


def test_next_by_keyboard_focuses_the_new_page_of_results_and_says_it(users, new_page):
    campaign_rows(60)
    page = sign_in(new_page(), users["staff"].username)
    errors = collect_page_errors(page)
    page.goto("/campaigns/")
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
    announcer = page.get_by_test_id("announcer")
    page.evaluate(RECORD_ANNOUNCEMENTS)

    page.get_by_role("link", name="Next →").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    results = page.get_by_role("region", name="Campaigns, page 2 of 3")
    expect(results).to_be_focused()
    assert page.evaluate("document.activeElement.closest('#results') !== null")
    expect(announcer).to_have_text("Now on page 2, of 3 pages: 60 campaigns")
    expect(page.locator("#results")).to_have_count(1)  # replaced, not nested in the old one
    # Tab goes on from the results, not from the top of the page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#results') !== null")

    page.get_by_role("link", name="← Previous").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name="Campaigns, page 1 of 3")).to_be_focused()
    expect(announcer).to_have_text("Now on page 1, of 3 pages: 60 campaigns")
    assert_accessible(page)

    # A search says what it found once the typing stops, and focus stays in the field.
    search = page.get_by_label("Search by name")
    search.focus()
    page.keyboard.type("Campaign 0001", delay=30)
    expect(page.get_by_test_id("campaign-row")).to_have_count(10)
    expect(announcer).to_have_text("Search found 10 campaigns")
    expect(search).to_be_focused()
    search.fill("nothing like it")
    expect(announcer).to_have_text("Search found no campaigns")
    expect(search).to_be_focused()
    said = page.evaluate("window.said")
    # Each result once, none for the keys typed in between.
    assert said == ["Now on page 2, of 3 pages: 60 campaigns",
                    "Now on page 1, of 3 pages: 60 campaigns",
                    "Search found 10 campaigns", "Search found no campaigns"], said
    assert errors == []


def test_an_action_found_not_carried_out_is_said(users, new_page, server_settings):
    """A probe: a resume Atoms showed no sign of left the status at "Paused" and said so
    only in a note that appeared silently."""
    campaign = campaign_row(users["staff"], "draft", name="Not started",
                            pending_action="start", pending_since=timezone.now())
    page = sign_in(new_page(), users["manager"].username)
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{campaign.pk}/")
    page.wait_for_function("() => window.liveStreamUp === true")
    page.evaluate(RECORD_ANNOUNCEMENTS)

    # What the poller does on finding no sign of it (mirror.lapse_pending_action).
    Campaign.objects.filter(pk=campaign.pk).update(pending_action="", lapsed_action="start")
    publish.publish_campaign(campaign.pk)

    expect(page.locator("#live-detail").get_by_test_id("lapsed-notice")).to_be_visible(
        timeout=15_000)
    expect(page.get_by_test_id("announcer")).to_have_text(
        "The last start was not carried out: Atoms showed no sign of it. Someone with the "
        "staff or admin role can ask again.")
    assert page.evaluate("window.said").count(page.evaluate(
        "document.getElementById('announcer').textContent")) == 1
    assert errors == []


def test_the_phone_numbers_error_is_what_their_group_is_described_by(
        users, new_page, sim, server_settings):
    page = sign_in(new_page(), users["staff"].username)
    page.goto("/campaigns/new/")
    group = page.get_by_role("group", name="Phone numbers")
    expect(group).to_have_accessible_description("Calls go out from these numbers, in turn.")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_text("Choose at least one number to call from.")).to_be_visible()
    expect(group).to_have_accessible_description(
        re.compile(r"Choose at least one number to call from\."))
    expect(group.get_by_role("checkbox").first).to_have_attribute("aria-invalid", "true")
    # Each box too: Tab enters a box, and its own description is what is read.
    expect(group.get_by_role("checkbox").first).to_have_accessible_description(
        "Choose at least one number to call from.")


def test_the_delete_name_mismatch_is_what_the_field_is_described_by(
        users, new_page, sim, server_settings):
    draft = make_campaign(sim, users["staff"], name="Tied note")
    page = sign_in(new_page(), users["admin"].username)
    page.goto(f"/campaigns/{draft.pk}/delete/")
    confirm = page.get_by_label("Type Tied note to confirm")
    note = page.get_by_text("That is not the campaign's name yet")
    confirm.fill("Tied")
    expect(confirm).not_to_have_attribute("aria-invalid", "true")
    confirm.press("Enter")
    expect(note).to_be_visible()
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(confirm).to_have_accessible_description(
        re.compile(r"That is not the campaign's name yet"))
    expect(confirm).to_be_focused()
    assert_accessible(page)
    # Typing on hides the note: the field is no longer described by it, nor invalid.
    confirm.press("End")
    page.keyboard.type(" no")
    expect(note).to_be_hidden()
    expect(confirm).not_to_have_attribute("aria-invalid", "true")
    expect(confirm).to_have_accessible_description("")


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_have_an_h1_and_everything_in_a_landmark(
        users, new_page, sim, server_settings, width):
    draft = make_campaign(sim, users["staff"], name="Landmarks", audience_size=50)
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)

    # "Before you start" opened as a page, not as the card on the campaign's page.
    page.goto(f"/campaigns/{draft.pk}/preflight/")
    expect(page.get_by_test_id("preflight-contacts")).to_have_text("50")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert axe_rule_violations(page, ["page-has-heading-one", "region"]) == []
    assert_accessible(page)

    # The time zone note is shown (the page has times) and is inside <main>.
    page.goto(f"/campaigns/{draft.pk}/")
    note = page.locator("#time-zone-note")
    expect(note).to_be_visible()
    expect(note).to_have_text(re.compile(r"Times are in your time zone, .+\."))
    assert axe_rule_violations(page, ["region"]) == []
    assert note.evaluate("el => el.closest('main') !== null")
    assert errors == []


def test_a_row_a_keyboard_user_is_on_keeps_focus_when_it_changes_live(
        users, new_page, server_settings):
    """A live update replaces a list row whole: focus on its link fell to the page's body
    (a full run caught it after paging, when the new page's stream sent its rows)."""
    campaign_rows(3)
    campaign = Campaign.objects.get(name="Campaign 00001")
    page = sign_in(new_page(), users["staff"].username)
    errors = collect_page_errors(page)
    page.goto("/campaigns/")
    page.wait_for_function("() => window.liveStreamUp === true")
    link = page.locator(f"#campaign-{campaign.pk}").get_by_role("link", name="Campaign 00001")
    link.focus()

    Campaign.objects.filter(pk=campaign.pk).update(contacts_called=7, total_participants=9)
    publish.publish_campaign(campaign.pk)

    expect(page.locator(f"#campaign-{campaign.pk}").get_by_test_id("row-counts")).to_contain_text(
        "7 / 0 / 9", timeout=15_000)
    expect(link).to_be_focused()
    assert errors == []
