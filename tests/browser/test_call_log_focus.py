"""A call log that refreshes itself while a call is running keeps a keyboard user's place:
the link they were on is focused again after the refresh (it was the page's body), at
desktop and phone widths."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    RECORD_ANNOUNCEMENTS,
    HeldAnswers,
    collect_page_errors,
    sign_in,
    wait_in_page,
)
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def dialled_log(users, new_page, sim, seconds: float, name: str = "Keyboard", width=1280):
    """A running campaign of 50 contacts dialled for `seconds` of the simulator's time, and
    a manager's page `width` wide: (campaign, page, the page's errors)."""
    campaign = make_campaign(sim, users["staff"], "running", name=name, audience_size=50)
    sim.advance(seconds)
    page = sign_in(new_page(), users["manager"].username)
    page.set_viewport_size({"width": width, "height": 900})
    return campaign, page, collect_page_errors(page)


# How wide a select must be to show its chosen option whole: the text in its own font,
# its padding, and room for the arrow.
TEXT_AND_ARROW_WIDTH = """el => {
    const style = getComputedStyle(el);
    const context = document.createElement("canvas").getContext("2d");
    context.font = style.font;
    return context.measureText(el.options[el.selectedIndex].text).width
        + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) + 24; }"""


def wait_for_the_logs_own_refresh(page, meanwhile=lambda: None) -> None:
    """Until the call log next replaces itself (page one of a live campaign refreshes
    every poll interval); `meanwhile` runs once the wait is set up."""
    page.evaluate("""() => { window.refreshed = false;
        document.body.addEventListener("htmx:afterSettle", (event) => {
            if (event.detail.target && event.detail.target.id === "call-log") {
                window.refreshed = true;
            } }); }""")
    meanwhile()
    page.wait_for_function("() => window.refreshed", timeout=15_000)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_focused_call_stays_focused_when_the_log_refreshes(users, new_page, sim,
                                                               server_settings, width):
    campaign, page, errors = dialled_log(users, new_page, sim, 120, width=width)
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    first = page.get_by_test_id("call-link").first
    expect(first).to_be_visible()
    href = first.get_attribute("href")
    if width < 600:  # stacked, without headers: the two numbers said apart (a probe)
        row = page.get_by_test_id("call-row").first.inner_text()
        assert re.search(r"To \+\d+\s*from \+\d+", row), row
        attempt = page.get_by_label("Attempt")  # not cut to "First calls and re"
        needs = attempt.evaluate(TEXT_AND_ARROW_WIDTH)
        assert attempt.bounding_box()["width"] >= needs, needs
    first.focus()
    # The next refresh of the log (it swaps the whole table), while calls go on.
    wait_for_the_logs_own_refresh(page, lambda: sim.advance(60))
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == href
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_by_keyboard_the_call_log_takes_focus_pages_and_filters_say_what_came(
        users, new_page, sim, server_settings, width):
    """A probe, keyboard only: the log opened far below the button with focus left on it,
    re-read itself aloud at each refresh (a live region around it), and paging or a filter
    put focus on the page's body or said nothing."""
    # More than one page of 25 calls.
    campaign, page, errors = dialled_log(users, new_page, sim, 1500, width=width)
    page.goto(f"/campaigns/{campaign.pk}/")
    page.evaluate(RECORD_ANNOUNCEMENTS)
    opener = page.get_by_test_id("open-call-log")
    expect(opener).to_have_attribute("aria-expanded", "false")
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name="Call log")).to_be_focused()
    # Its top in view: focus alone scrolled to the middle of the table (a probe).
    top = page.get_by_role("region", name="Call log").evaluate(
        "el => el.getBoundingClientRect().top")
    assert -2 <= top < 50, top  # (a fraction of a pixel above, scrolled to its start)
    expect(opener).to_have_attribute("aria-expanded", "true")
    assert page.get_by_test_id("calls-panel").get_attribute("aria-live") is None
    # Still dialing, so the log refreshes itself; two or three refreshes say nothing.
    expect(page.get_by_test_id("call-log")).to_have_attribute("hx-trigger", "every 1s")
    page.wait_for_timeout(3_000)
    assert page.evaluate("() => window.said") == []

    page.get_by_label("Calls per page").focus()
    page.get_by_label("Calls per page").select_option("25")
    count = page.get_by_test_id("log-count")
    expect(count).to_contain_text("Page 1 of")
    total = int(count.inner_text().split("·")[1].split()[0].replace(",", ""))
    pages = -(-total // 25)
    assert pages >= 2, total
    expect(page.get_by_test_id("announcer")).to_have_text(f"{total} calls")
    older = page.get_by_role("link", name="Older →")
    older.focus()
    # Page one refreshes itself: the link a keyboard user is on stays focused across it.
    wait_for_the_logs_own_refresh(page)
    expect(older).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name=f"Calls, page 2 of {pages}")).to_be_focused()
    expect(page.get_by_test_id("announcer")).to_have_text(
        f"Now on page 2, of {pages} pages: {total} calls")

    connected = page.get_by_role("checkbox", name="Connected")
    connected.focus()
    page.keyboard.press("Space")
    expect(page.get_by_test_id("announcer")).to_contain_text(" match")
    expect(connected).to_be_focused()
    assert errors == []


def test_by_keyboard_play_recording_lands_on_the_player_and_refresh_lists_stays_put(
        users, new_page, sim, server_settings):
    campaign, page, errors = dialled_log(users, new_page, sim, 600, name="Recorded")
    page.goto(f"/campaigns/{campaign.pk}/calls/?status=completed")
    page.get_by_test_id("call-link").first.click()
    play = page.get_by_test_id("play-recording")
    play.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("recording-audio")).to_be_focused()
    assert errors == []

    staff = sign_in(new_page(), users["staff"].username)
    staff.goto("/campaigns/new/")
    refresh = staff.get_by_test_id("refresh-pickers")
    refresh.focus()
    with staff.expect_response(lambda response: "refresh=1" in response.url):
        staff.keyboard.press("Enter")
    expect(staff.get_by_test_id("refresh-pickers")).to_be_focused()
    # Said, not only done (a probe heard nothing).
    expect(staff.get_by_test_id("announcer")).to_have_text(re.compile(
        r"^Lists refreshed from Atoms: \d+ agents?, \d+ audiences?, \d+ phone numbers?\.$"))


def test_a_filter_chosen_while_the_log_refreshes_itself_is_the_one_shown(
        users, new_page, sim, server_settings):
    """A full run: the page size chosen on a live log was lost when page one's own refresh
    landed while its answer was on its way (the answer went to the table the refresh had
    replaced), and so was its announcement."""
    campaign, page, errors = dialled_log(users, new_page, sim, 1500, name="Crossed")
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    expect(page.get_by_test_id("call-row")).to_have_count(50)
    page.evaluate(RECORD_ANNOUNCEMENTS)
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(lambda url: "size=25" in url, hold_the_first)

    page.get_by_label("Calls per page").select_option("25")
    wait_in_page(page, lambda: held)  # the chosen size on its way, slowly
    page.wait_for_timeout(2_500)  # two or three of page one's own refresh intervals
    held[0].continue_()

    expect(page.get_by_test_id("call-row")).to_have_count(25)
    wait_in_page(page, lambda: page.evaluate("() => window.said").count("50 calls") == 1)
    page.wait_for_timeout(2_500)  # the refreshes after it keep the size chosen
    expect(page.get_by_test_id("call-row")).to_have_count(25)

    # The other way round: a size chosen while a refresh is on its way waits for it.
    refresh = HeldAnswers(page, {f"/campaigns/{campaign.pk}/calls/": "refresh"})
    wait_in_page(page, lambda: "refresh" in refresh.held)
    page.get_by_label("Calls per page").select_option("50")
    page.wait_for_timeout(500)
    refresh.deliver("refresh")
    expect(page.get_by_test_id("call-row")).to_have_count(50)
    page.wait_for_timeout(2_500)
    expect(page.get_by_test_id("call-row")).to_have_count(50)
    assert errors == []


@pytest.mark.parametrize("where", ["log page", "tab"])
def test_back_from_a_call_the_link_to_it_has_focus_again(users, new_page, sim,
                                                         server_settings, where):
    """A probe, keyboard only: Back from the fifth call put focus on the page (the log
    page) or on the log above its filters (the tab), not on the call left."""
    campaign, page, errors = dialled_log(users, new_page, sim, 600, name="Come back")
    if where == "tab":
        page.goto(f"/campaigns/{campaign.pk}/")
        page.get_by_test_id("open-call-log").click()
    else:
        page.goto(f"/campaigns/{campaign.pk}/calls/")
    links = page.get_by_test_id("call-link")
    expect(links.nth(4)).to_be_visible()
    fifth = links.nth(4).get_attribute("id")
    links.nth(4).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("call-facts")).to_be_visible()
    page.go_back()
    expect(page.locator(f"[id='{fifth}']")).to_be_focused()
    assert errors == []


COUNT_REFRESHES = """() => { window.refreshes = 0;
    document.body.addEventListener("htmx:afterSettle", (event) => {
        if (event.detail.target && event.detail.target.id === "call-log") {
            window.refreshes += 1;
        } }); }"""


def test_the_log_holds_still_under_the_pointer_and_catches_up_when_it_leaves(
        users, new_page, sim, server_settings):
    """Page one of a dialling campaign's log refreshes itself and its rows move: the call
    under the pointer changed five times in 30 s, so a click opened another call (probe)."""
    campaign, page, errors = dialled_log(users, new_page, sim, 120, name="Pointer")
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    expect(page.get_by_test_id("call-link").first).to_be_visible()
    page.evaluate(COUNT_REFRESHES)
    page.get_by_test_id("call-link").first.hover()
    sim.advance(60)
    page.wait_for_timeout(3_500)  # more than three of its refresh intervals (1 s here)
    assert page.evaluate("() => window.refreshes") == 0
    page.mouse.move(0, 0)
    page.wait_for_function("() => window.refreshes > 0", timeout=10_000)
    assert errors == []


def test_a_tap_on_a_touch_screen_does_not_stop_the_logs_refresh(users, new_page, sim,
                                                                server_settings):
    """A touch screen keeps :hover on what was tapped: one tap in the log stopped its
    refreshing for good (probe, at 390 px)."""
    campaign = make_campaign(sim, users["staff"], "running", name="Touch", audience_size=50)
    sim.advance(120)
    page = sign_in(new_page(has_touch=True, viewport={"width": 390, "height": 844}),
                   users["manager"].username)
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    page.evaluate(COUNT_REFRESHES)
    page.get_by_test_id("call-row").first.locator(".chip").first.tap()
    sim.advance(60)
    page.wait_for_function("() => window.refreshes > 0", timeout=10_000)
    assert errors == []


def test_older_after_typing_a_search_stays_on_the_older_page(users, new_page, sim,
                                                            server_settings):
    """A probe: typed into the search box, then "Older →" clicked, the log showed page 2
    and, a moment later, page 1 again: leaving the box sent the filters again, without the
    page (the search itself had gone as it was typed)."""
    campaign, page, errors = dialled_log(users, new_page, sim, 1500, name="Searched")
    page.goto(f"/campaigns/{campaign.pk}/calls/?size=25")
    log = page.get_by_test_id("call-log")
    expect(log).to_have_attribute("aria-label", re.compile(r"Calls, page 1 of [2-9]"))
    page.get_by_label("Number or call id").press_sequentially("+1", delay=50)
    expect(page).to_have_url(re.compile(r"q=%2B1"))  # searched as typed, without Enter
    page.locator("#log-older").click()
    expect(log).to_have_attribute("aria-label", re.compile(r"Calls, page 2 of "))
    page.wait_for_timeout(1_500)  # past the filters' own delay
    expect(log).to_have_attribute("aria-label", re.compile(r"Calls, page 2 of "))
    assert "page=2" in page.url
    assert errors == []
