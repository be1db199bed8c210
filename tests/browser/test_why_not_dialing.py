"""A manager watches a running campaign stop moving and is told why, without a reload, at
a desktop and a phone width side by side: the simulator's clock stands still, so nothing is
dialled, and after the servers' STALL_AFTER_SECONDS the page and the board say it has
stalled."""

import pytest
from playwright.sync_api import expect

from dashboard.processes import POLL_INTERVAL, STALL_AFTER
from tests.browser.conftest import (
    assert_fits_width,
    collect_page_errors,
    signed_in_at_each_width,
)
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_sees_a_stalled_campaign_explained_without_a_reload(
        users, new_page, sim, celery_worker, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Goes quiet",
                             audience_size=50)
    sim.advance(30)  # it dials: the worker's poll sees it move, then the clock stands still
    # The campaign's page and the board, at each width, watched side by side.
    pages = signed_in_at_each_width(new_page, users["manager"].username)
    boards = signed_in_at_each_width(new_page, users["manager"].username)
    errors = [collect_page_errors(page) for page in pages]
    for page, board in zip(pages, boards, strict=True):
        page.goto(f"/campaigns/{campaign.pk}/")
        board.goto("/board/")
        page.evaluate("window.sameDocument = true")
        expect(page.locator("#live-detail").get_by_test_id("status")).to_have_text("Running")

    for page, board in zip(pages, boards, strict=True):
        why = page.locator("#live-detail").get_by_test_id("why")
        expect(why).to_contain_text("Running, but stalled", timeout=(STALL_AFTER + 15) * 1000)
        expect(why).to_contain_text("Check that its phone numbers are active")
        card = board.locator(f"#card-{campaign.pk}").get_by_test_id("why")
        expect(card).to_contain_text("Running, but stalled", timeout=15_000)
        # The time in the sentence keeps counting in the page ("… seconds ago").
        expect(why.locator("time[data-relative]")).to_contain_text("ago")
        # Standing still, it is read less often; the page says so.
        expect(page.locator("#live-detail").get_by_test_id("quiet-note")).to_contain_text(
            f"checked every {4 * POLL_INTERVAL} s until it moves")
    # Numbers read every four intervals are not called "not live", across more than one
    # spaced read.
    for _ in range(3):
        for page in pages:
            freshness = page.locator("#live-detail").get_by_test_id("freshness")
            expect(freshness).to_contain_text("updated")
            expect(freshness).not_to_contain_text("Not live")
        pages[0].wait_for_timeout(2 * POLL_INTERVAL * 1000)
    for page in pages:
        assert page.evaluate("window.sameDocument === true"), "the page reloaded"
        assert_fits_width(page)
    assert errors == [[], []]

    sim.advance(300)  # dialling goes on: the stall sentence goes away by itself
    for page in pages:
        expect(page.locator("#live-detail")).not_to_contain_text("stalled", timeout=15_000)
        expect(page.locator("#live-detail").get_by_test_id("quiet-note")).to_have_count(0)


def test_a_manager_sees_the_stall_alert_arrive_without_a_reload(
        users, new_page, sim, celery_worker, server_settings):
    make_campaign(sim, users["staff"], "running", name="Alerting", audience_size=50)
    pages = signed_in_at_each_width(new_page, users["manager"].username)
    errors = [collect_page_errors(page) for page in pages]
    for page in pages:
        page.goto("/campaigns/")
        page.evaluate("window.sameDocument = true")
        expect(page.get_by_test_id("alert-badge")).to_have_text("Alerts")  # nothing yet
    for page in pages:
        # The worker's beat checks alerts every 2 s; the badge asks as often.
        expect(page.get_by_test_id("alert-badge").get_by_test_id("alert-count")).to_have_text(
            "1", timeout=(STALL_AFTER + 20) * 1000)
        assert page.evaluate("window.sameDocument === true"), "the page reloaded"
        assert_fits_width(page)
    for page in pages:
        page.get_by_test_id("alert-badge").click()
        alert = page.get_by_test_id("alert")
        expect(alert).to_have_count(1)
        expect(alert).to_contain_text("Stalled")
        expect(alert).to_contain_text("“Alerting” is running but nothing has moved")
    assert errors == [[], []]
