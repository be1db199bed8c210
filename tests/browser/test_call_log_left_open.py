"""In real Chromium: a running campaign's call log comes back by itself after Atoms fails
and after the person's limit refuses it (htmx swaps each answer in and keeps asking), and
a campaign named in another script downloads under its own name."""

import time

import pytest
from playwright.sync_api import expect

from campaigns import ratelimit
from tests.browser.conftest import collect_page_errors, sign_in
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = 30_000  # generous: the shared machine is often loaded


def test_the_call_log_comes_back_by_itself_after_an_error_and_a_refusal(
        users, new_page, sim, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Watched log",
                             audience_size=50)
    page = sign_in(new_page(), users["manager"].username)
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    log = page.locator("#call-log")
    expect(log.get_by_test_id("call-row").first).to_be_visible()

    sim.faults(fail_routes=["GET /conversation"])  # once the page's cache runs out
    expect(log.get_by_test_id("log-error")).to_be_visible(timeout=LIVE)
    sim.clear_faults()
    expect(log.get_by_test_id("call-row").first).to_be_visible(timeout=LIVE)

    while ratelimit.take(users["manager"]):  # a busy minute of clicks elsewhere
        pass
    page.get_by_label("Attempt").select_option("initial")  # a new page: refused
    expect(log.get_by_test_id("throttled-reason")).to_be_visible(timeout=LIVE)
    # A minute later, as far as the limit can tell: the table is back without a click.
    ratelimit.take(users["manager"], now=time.time() + ratelimit.WINDOW_SECONDS)
    expect(log.get_by_test_id("call-row").first).to_be_visible(timeout=LIVE)
    expect(log.get_by_test_id("throttled-reason")).to_have_count(0)
    assert errors == []


def test_a_campaign_named_in_another_script_downloads_under_its_name(
        users, chromium, web_server, sim, server_settings):
    """Chromium saved "logs.csv": Django had sent the whole header as one RFC 2047 word."""
    campaign = make_campaign(sim, users["staff"], "running", name="मुंबई लीड्स",
                             audience_size=50)
    # The browser's own download, as without the page's script (or "Save link as").
    context = chromium.new_context(base_url=web_server.url, java_script_enabled=False)
    try:
        page = sign_in(context.new_page(), users["manager"].username)
        page.goto(f"/campaigns/{campaign.pk}/calls/")
        with page.expect_download() as started:
            page.get_by_test_id("download-logs").click()
        assert started.value.suggested_filename == "मुंबई-लीड्स-call-attempts.csv"
    finally:
        context.close()
    # With the page's script, which shows the download's progress and names the file
    # itself: it read only filename="…", the ASCII fallback ("call-attempts.csv").
    page = sign_in(chromium.new_page(base_url=web_server.url), users["manager"].username)
    page.goto(f"/campaigns/{campaign.pk}/")
    with page.expect_download() as started:
        page.get_by_role("link", name="All call attempts (CSV)").click()
    assert started.value.suggested_filename == "मुंबई-लीड्स-call-attempts.csv"
    page.context.close()
