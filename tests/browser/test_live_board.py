"""Live numbers in real Chromium: the board and the detail page update by themselves, say
when they are not live, and fall back to polling when the stream cannot connect.

The Celery worker polls the simulator every second; the tests make the simulator dial by
running its clock (or moving it by hand) and make it fail through its fault controls.
"""

import re
import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from campaigns import services
from campaigns.live.stream import QUEUE_LIMIT
from tests.browser.conftest import (
    HeldAnswers,
    collect_page_errors,
    sign_in,
    signed_in_at_each_width,
    wait_in_page,
)
from tests.campaign_factory import make_campaign
from tests.published import flood, server_said

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = 15_000
# What htmx logs (console.error of the EventSource's error event) each time the blocked
# stream fails to connect.
STREAM_DOWN_LOG = (re.escape("[object Event]"),)
FRESH = re.compile(r"^\s*updated \d+ s ago\s*$")


def read_count(locator) -> int:
    return int(locator.inner_text().replace(",", ""))


def wait_for_count_above(page, selector: str, floor: int, timeout: float = LIVE) -> int:
    """Wait until the number shown at `selector` exceeds `floor`; return it."""
    page.wait_for_function(
        "([selector, floor]) => {"
        "  const el = document.querySelector(selector);"
        "  return el !== null && Number(el.textContent.replace(/,/g, '')) > floor;"
        "}", arg=[selector, floor], timeout=timeout)
    return read_count(page.locator(selector))


def mark_document(page) -> None:
    """A flag on this document: if the page reloads or navigates, the flag is gone."""
    page.evaluate("window.sameDocument = true")


def assert_same_document(page) -> None:
    assert page.evaluate("window.sameDocument === true"), "the page reloaded or navigated"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def block_live_stream(page) -> list[str]:
    """Make the SSE stream (/live/) fail to connect; returns the URLs it refused."""
    refused: list[str] = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    page.route(lambda url: urlparse(url).path == "/live/", refuse)
    return refused


def requests_to(page, path_pattern: str) -> list[str]:
    pattern = re.compile(path_pattern)
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url)
            if pattern.fullmatch(urlparse(request.url).path) else None)
    return seen


def test_a_managers_board_counts_up_live_warns_when_atoms_fails_and_recovers_by_itself(
        users, new_page, sim, celery_worker, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Board watch",
                             audience_size=1000)
    page = sign_in(new_page(), users["manager"].username)
    errors = collect_page_errors(page)
    assert page.url.endswith("/board/")
    card = page.locator(f"#card-{campaign.pk}")
    called = f"#card-{campaign.pk} [data-testid=card-called]"
    freshness = card.get_by_test_id("freshness")
    expect(freshness).to_have_text(FRESH, timeout=LIVE)
    mark_document(page)

    try:
        sim.set_speed(60)  # a simulated minute per second: the three lines keep dialling
        first = wait_for_count_above(page, called, read_count(card.get_by_test_id("card-called")))
        second = wait_for_count_above(page, called, first)
        assert second > first
        expect(freshness).to_have_text(FRESH)

        # The campaigns list, in another tab: its row says nothing while the numbers are
        # live, and "Not live" while they are not (they must not pass for fresh).
        lister = page.context.new_page()
        lister.goto("/campaigns/")
        row_freshness = lister.locator(f"#campaign-{campaign.pk}").get_by_test_id("freshness")
        expect(row_freshness).to_have_text("")

        sim.faults(fail_routes=["GET /campaign/{id}"])
        expect(freshness).to_contain_text("Not live:", timeout=LIVE)
        expect(freshness).to_have_class(re.compile(r"\bstale\b"))
        # The last known numbers stay on screen, marked as not live.
        assert read_count(card.get_by_test_id("card-called")) >= second
        expect(row_freshness).to_have_text(
            re.compile(r"^\s*Not live: numbers from \d+ seconds? ago\s*$"), timeout=LIVE)

        sim.clear_faults()
        expect(freshness).to_have_text(FRESH, timeout=LIVE)
        expect(freshness).not_to_have_class(re.compile(r"\bstale\b"))
        expect(row_freshness).to_have_text("", timeout=LIVE)
        wait_for_count_above(page, called, read_count(card.get_by_test_id("card-called")))
    finally:
        sim.set_speed(0)
    assert_same_document(page)
    assert errors == []


def test_the_board_keeps_counting_by_polling_when_the_live_stream_cannot_connect(
        users, new_page, sim, celery_worker, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Board fallback",
                             audience_size=1000)
    page = new_page()
    refused = block_live_stream(page)
    board_polls = requests_to(page, r"/board/")
    errors = collect_page_errors(page, expected=STREAM_DOWN_LOG)
    sign_in(page, users["manager"].username)
    called = f"#card-{campaign.pk} [data-testid=card-called]"
    start = read_count(page.locator(called))
    mark_document(page)
    polls_before = len(board_polls)

    try:
        sim.set_speed(60)
        first = wait_for_count_above(page, called, start)
        wait_for_count_above(page, called, first)
    finally:
        sim.set_speed(0)
    assert refused, "the page never tried the live stream"
    assert page.evaluate("window.liveStreamUp") is False
    assert len(board_polls) > polls_before, "the numbers moved without polling the board"
    assert_same_document(page)
    assert errors == []


def test_a_detail_page_polls_when_the_stream_is_down_and_stops_once_the_campaign_is_over(
        users, new_page, sim, celery_worker, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Detail fallback",
                             audience_size=50)
    page = new_page()
    refused = block_live_stream(page)
    fragment_path = f"/campaigns/{campaign.pk}/live/detail/"
    polls = requests_to(page, re.escape(fragment_path))
    errors = collect_page_errors(page, expected=STREAM_DOWN_LOG)
    sign_in(page, users["manager"].username)
    page.goto(f"/campaigns/{campaign.pk}/")
    mark_document(page)
    status = page.locator("#live-detail").get_by_test_id("status")
    expect(status).to_have_text("Running")
    called = "#live-detail [data-testid=metric-called]"

    sim.advance(300)  # five simulated minutes of dialling
    wait_for_count_above(page, called, read_count(page.locator(called)))
    assert refused, "the page never tried the live stream"
    assert polls, "the numbers moved without polling"

    # Run the campaign to its end: the poller sees it completed (and polls once more for
    # the last calls), after which the page's polling gets 286 and stops.
    with page.expect_response(lambda response: urlparse(response.url).path == fragment_path
                              and response.status == 286, timeout=LIVE):
        sim.advance(24 * 3600)
    expect(status).to_have_text("Completed")
    expect(page.locator("#live-detail").get_by_test_id("freshness")).to_contain_text(
        "Final numbers")
    assert read_count(page.locator(called)) == 50
    stopped_at = len(polls)
    page.wait_for_timeout(3000)  # three poll intervals: long enough to see one if any came
    assert len(polls) == stopped_at, "polling went on after the campaign was over"
    assert_same_document(page)
    assert errors == []


def test_a_stream_the_server_ends_reopens_by_itself_with_nothing_logged(
        users, new_page, sim, celery_worker, server_settings, web_server):
    """A server restart or a viewer too far behind ends a stream; the browser reopens it
    after the 3 s the server asks for, gets the current state, and the page goes on live.
    That is no error: nothing in the console, no fallback polling, no reload."""
    campaign = make_campaign(sim, users["staff"], "running", name="Reopened",
                             audience_size=50)
    page = new_page()
    streams = requests_to(page, "/live/")
    errors = collect_page_errors(page)
    sign_in(page, users["manager"].username)
    page.goto(f"/campaigns/{campaign.pk}/")
    mark_document(page)
    expect(page.locator("#live-detail").get_by_test_id("status")).to_have_text("Running")
    polls = requests_to(page, re.escape(f"/campaigns/{campaign.pk}/live/detail/"))
    ended_before = server_said(web_server, f"{QUEUE_LIMIT} frames behind")

    # Flooded again each second until the server ends the stream: whether one flood
    # overflows a viewer's queue depends on how Redis's answers arrive in the web process
    # (in small pieces, its sender drains the queue in between: seen once in CI).
    deadline = time.monotonic() + 10
    while server_said(web_server, f"{QUEUE_LIMIT} frames behind") == ended_before:
        assert time.monotonic() < deadline, "the server never ended the flooded stream"
        flood(campaign.pk)
        page.wait_for_timeout(1000)
    called = "#live-detail [data-testid=metric-called]"
    sim.advance(300)
    wait_for_count_above(page, called, read_count(page.locator(called)))
    page.wait_for_timeout(6000)  # past the 5 s in which a failed stream reaches htmx
    assert len(streams) >= 2, "the browser never reopened the stream"
    assert polls == [], "the page fell back to polling"
    assert_same_document(page)
    assert errors == []


def test_with_the_stream_down_a_quiet_campaign_still_reads_as_live(
        users, new_page, sim, celery_worker, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Quiet", audience_size=50)
    page = new_page()
    block_live_stream(page)
    sign_in(page, users["manager"].username)
    page.goto(f"/campaigns/{campaign.pk}/")
    freshness = page.locator("#live-detail").get_by_test_id("freshness")
    expect(freshness).to_have_text(FRESH)
    page.wait_for_timeout(3500)  # past twice the poll interval, with the poller healthy
    expect(freshness).to_have_text(FRESH, timeout=2000)


def test_a_board_asked_for_again_while_its_last_answer_was_on_its_way_shows_the_newer_state(
        users, new_page, sim, server_settings):
    """The board reloads its grid when a status moves. A second move while the first
    reload was on its way was queued by htmx and dropped once the first answer replaced the
    grid: the card of the campaign paused second kept saying it ran. The first answer is
    held here until the second move, to make that order certain."""
    first = make_campaign(sim, users["staff"], "running", name="Paused first",
                          audience_size=50)
    second = make_campaign(sim, users["staff"], "running", name="Paused second",
                           audience_size=50)
    page = sign_in(new_page(), users["admin"].username)
    errors = collect_page_errors(page)
    held = HeldAnswers(page, {"/board/": "grid"})
    page.goto("/board/")
    wait_in_page(page, lambda: page.evaluate("window.liveStreamUp") is True)
    services.pause_campaign(users["admin"], first)
    wait_in_page(page, lambda: "grid" in held.held)
    services.pause_campaign(users["admin"], second)
    card = page.locator(f"#card-{second.pk}")
    expect(card.get_by_test_id("pending")).to_have_text("Pausing…", timeout=LIVE)
    held.deliver("grid")  # drawn before the second pause
    expect(card.get_by_test_id("pending")).to_have_text("Pausing…", timeout=LIVE)
    page.wait_for_timeout(1000)  # and it stays so
    expect(card.get_by_test_id("pending")).to_have_text("Pausing…")
    assert errors == []


def test_offline_the_list_asks_for_nothing_and_logs_nothing_then_catches_up_online(
        users, new_page, sim, celery_worker, server_settings):
    """With the stream down the list polls its live rows, all in one request an interval
    (each row polled on its own: a request per row); with the browser offline as well,
    every poll failed and was logged (a probe saw the console fill). Offline, the polls
    wait; back online, every row's numbers move again without a reload."""
    campaigns = [make_campaign(sim, users["staff"], "running", name=f"Offline {n}",
                               audience_size=1000) for n in range(3)]
    page = new_page()
    block_live_stream(page)
    errors = collect_page_errors(page, expected=STREAM_DOWN_LOG)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url)
            if urlparse(request.url).path != "/live/" else None)
    sign_in(page, users["manager"].username)
    row_polls = requests_to(page, r"/campaigns/(rows|\d+/live/row)/")
    page.goto("/campaigns/")
    mark_document(page)
    wait_in_page(page, lambda: len(row_polls) >= 2)  # polling, as it should
    ids = ",".join(str(c.pk) for c in reversed(campaigns))  # the list's order, newest first
    assert all(urlparse(url).path == "/campaigns/rows/" and f"ids={ids}" in url
               for url in row_polls), row_polls

    page.context.set_offline(True)
    page.wait_for_timeout(500)  # a poll already on its way when the network went
    asked_before = len(row_polls)
    page.wait_for_timeout(3000)  # three poll intervals
    assert len(row_polls) == asked_before, "rows polled while the browser was offline"
    assert failed == [] and errors == []

    page.context.set_offline(False)

    def called() -> list[int]:  # each row's "12 / 3 / 1,000", the first of them
        return [int(page.locator(f"#campaign-{c.pk}").get_by_test_id("row-counts")
                    .inner_text().split("/")[0].replace(",", "")) for c in campaigns]

    shown = called()
    try:
        sim.set_speed(60)
        wait_in_page(page, lambda: all(now > then for now, then in zip(called(), shown,
                                                                     strict=True)))
    finally:
        sim.set_speed(0)
    assert_same_document(page)
    assert failed == [] and errors == []


def test_a_stream_that_cannot_connect_is_tried_less_and_less_often_while_the_page_polls(
        users, new_page, sim, server_settings):
    """A probe: with /live/ out of reach, pages tried it every 3 s for as long as they were
    open, and logged an error each time, though they had fallen back to polling."""
    page = new_page()
    refused = block_live_stream(page)
    errors = collect_page_errors(page, expected=STREAM_DOWN_LOG)
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text)
            if message.type == "error" and "[object Event]" in message.text else None)
    sign_in(page, users["manager"].username)
    board_polls = requests_to(page, r"/board/")
    page.wait_for_timeout(14_000)
    # Tried at once, then after 5.5 s and 11.5 s (the delay doubling): not every 3 s.
    assert 2 <= len(refused) <= 3, refused
    assert 1 <= len(logged) <= 2, logged
    assert len(board_polls) >= 2  # the page kept itself up to date meanwhile
    assert errors == []


def test_a_board_searched_by_name_keeps_its_search_as_campaigns_start(
        users, new_page, sim, server_settings):
    """61 running cards were 29 screens on a phone (a probe): typing part of a name narrows
    the cards, the address keeps it, and a campaign starting meanwhile (the grid is drawn
    again) comes in only if its name matches."""
    make_campaign(sim, users["staff"], "running", name="Mumbai leads", audience_size=50)
    make_campaign(sim, users["staff"], "running", name="Delhi renewals", audience_size=50)
    pages = signed_in_at_each_width(new_page, users["manager"].username)
    for page in pages:
        page.goto("/board/")
        expect(page.get_by_test_id("board-card")).to_have_count(2)
        wait_in_page(page, lambda page=page: page.evaluate("window.liveStreamUp") is True)
        page.get_by_label("Find a campaign").fill("mumbai")
        expect(page.get_by_test_id("board-card")).to_have_count(1)
        expect(page.get_by_test_id("board-card")).to_contain_text("Mumbai leads")
        expect(page.get_by_test_id("board-filtered")).to_have_text(
            "1 of 2 active campaigns matches “mumbai”. Show all")
        assert page.url.endswith("/board/?q=mumbai")
        # A search no name can match is refused beside the box as it is typed, and the
        # refusal goes once it is mended (it came only with a full load, then stayed).
        box = page.get_by_label("Find a campaign")
        box.fill("mum\u202ebai")
        expect(page.get_by_test_id("filter-errors")).to_contain_text("text-direction")
        expect(page.get_by_test_id("board-card")).to_have_count(2)
        expect(box).to_have_attribute("aria-invalid", "true")
        box.fill("mumbai")
        expect(page.get_by_test_id("board-card")).to_have_count(1)
        expect(page.get_by_test_id("filter-errors")).to_have_count(0)
        expect(box).not_to_have_attribute("aria-invalid", "true")
    # Both start elsewhere; each page's grid is drawn again when the statuses move.
    make_campaign(sim, users["staff"], "running", name="Mumbai callbacks", audience_size=50)
    make_campaign(sim, users["staff"], "running", name="Delhi callbacks", audience_size=50)
    for page in pages:
        expect(page.get_by_test_id("board-card")).to_have_count(2, timeout=15_000)
        expect(page.get_by_test_id("board-filtered")).to_have_text(
            "2 of 4 active campaigns match “mumbai”. Show all")
        assert "Delhi" not in page.locator("#board").inner_text()
        expect(page.get_by_label("Find a campaign")).to_have_value("mumbai")
        page.get_by_test_id("board-show-all").click()
        expect(page.get_by_test_id("board-card")).to_have_count(4)
        expect(page.get_by_label("Find a campaign")).to_have_value("")
