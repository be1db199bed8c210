"""The browser's Back after htmx has filtered or paged a list shows the page the URL names:
the search box, checkboxes and selects match the URL as well as the table does, and nothing
is logged (htmx's own history snapshot lost form values, which are properties rather than
attributes, and restoring it broke the Content-Security-Policy), at desktop and phone widths."""

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from campaigns import audit, services
from tests.browser.conftest import collect_page_errors, sign_in
from tests.campaign_factory import campaign_rows, make_campaign, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("width", [1280, 390])
def test_back_on_the_campaign_list_shows_the_search_of_the_url(users, new_page, width):
    campaign_rows(3)
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    page.goto("/campaigns/")
    search = page.get_by_label("Search by name")
    search.fill("zzzz")
    expect(page.get_by_role("heading", name="No campaigns match")).to_be_visible()
    page.wait_for_url(lambda url: "q=zzzz" in url)
    search.fill("Campaign")
    expect(page.get_by_test_id("campaign-row")).to_have_count(3)
    page.wait_for_url(lambda url: "q=Campaign" in url)

    page.go_back()
    page.wait_for_url(lambda url: "q=zzzz" in url)
    expect(page.get_by_role("heading", name="No campaigns match")).to_be_visible()
    expect(page.get_by_label("Search by name")).to_have_value("zzzz")

    page.go_back()
    page.wait_for_url(lambda url: "q=" not in url)
    expect(page.get_by_test_id("campaign-row")).to_have_count(3)
    expect(page.get_by_label("Search by name")).to_have_value("")
    assert errors == []


def test_arrowing_through_the_status_choices_searches_once(users, new_page):
    """A probe, keyboard only: each arrow key on Status ran a search, said it and added a
    page to the history (four arrows, four Backs to leave the list)."""
    campaign_rows(3)
    page = sign_in(new_page(), users["staff"].username)
    page.goto("/campaigns/")
    searches = []
    page.on("request", lambda request: searches.append(request.url)
            if request.headers.get("hx-request") and "/campaigns/?" in request.url else None)
    before = page.evaluate("history.length")
    status = page.get_by_label("Status")
    status.focus()
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    page.wait_for_url(lambda url: "status=" in url)
    expect(status).to_be_focused()
    page.wait_for_timeout(800)  # longer than the pause the search waits for
    assert len(searches) == 1, searches
    assert page.evaluate("history.length") == before + 1
    assert query(page)["status"] == [status.input_value()]


@pytest.mark.parametrize("width", [1280, 390])
def test_back_on_the_call_log_shows_the_filters_of_the_url(
        users, new_page, sim, server_settings, width):
    campaign = make_campaign(sim, users["staff"], "running", name="Back and forth",
                             audience_size=1000)
    sim.advance(3600)  # well over 25 connected calls: two pages of them at 25 a page
    services.pause_campaign(users["staff"], campaign)  # the log stops refreshing itself
    wait_for_status(sim, campaign, "paused", step=1)
    page = sign_in(new_page(), users["manager"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    connected = page.get_by_label("Connected", exact=True)
    size = page.get_by_label("Calls per page")
    connected.check()
    page.wait_for_url(lambda url: "status=completed" in url)
    size.select_option("25")
    page.wait_for_url(lambda url: "size=25" in url)
    expect(page.get_by_test_id("log-count")).to_contain_text("Page 1 of")
    # Apply, with the filters already applied on change: no second entry for the same
    # address (Back then seemed to do nothing).
    entries = page.evaluate("history.length")
    with page.expect_response(lambda response: "/calls/" in response.url):
        page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert page.evaluate("history.length") == entries
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(25)
    page.get_by_role("link", name="Older →").click()
    page.wait_for_url(lambda url: "page=2" in url)
    expect(page.get_by_test_id("log-count")).to_contain_text("Page 2 of")

    page.go_back()
    page.wait_for_url(lambda url: "page=2" not in url)
    assert query(page)["status"] == ["completed"] and query(page)["size"] == ["25"]
    expect(page.get_by_test_id("log-count")).to_contain_text("Page 1 of")
    expect(rows).to_have_count(25)
    assert all(outcome == "connected" for outcome in
               rows.evaluate_all("rows => rows.map(r => r.dataset.outcome)"))
    expect(page.get_by_label("Connected", exact=True)).to_be_checked()
    expect(page.get_by_label("Calls per page")).to_have_value("25")

    page.go_back()  # before the page size was chosen: 50 a page, Connected still ticked
    page.wait_for_url(lambda url: "size=25" not in url)
    expect(page.get_by_label("Connected", exact=True)).to_be_checked()
    expect(page.get_by_label("Calls per page")).to_have_value("50")
    assert errors == []


def test_back_on_the_activity_log_shows_the_filters_of_the_url(users, new_page):
    """A plain (not htmx) filter form: Back brought the page for who=staff back with the
    box still saying what was typed after it, "nobodyxyz" (a probe)."""
    audit.record(users["staff"], "create", "ok", campaign_name="Staff's own")
    audit.record(users["admin"], "create", "ok", campaign_name="The admin's own")
    page = sign_in(new_page(), users["admin"].username)
    errors = collect_page_errors(page)
    page.goto("/activity/")
    who = page.get_by_label("Who")
    who.fill("staff")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: "who=staff" in url)
    expect(page.get_by_test_id("activity-row")).to_have_count(1)
    page.get_by_label("Who").fill("nobodyxyz")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("no-match")).to_be_visible()

    page.go_back()
    page.wait_for_url(lambda url: "who=staff" in url)
    expect(page.get_by_test_id("activity-row")).to_have_count(1)
    expect(page.get_by_label("Who")).to_have_value("staff")
    assert errors == []
