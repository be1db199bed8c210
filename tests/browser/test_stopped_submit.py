"""A form sent while Atoms is slow, then stopped (the browser's Stop, or Esc), in Chromium.

Every `data-once` form disables its buttons while it submits, so a double click sends one
request. Stopping the page fires no event, so the page frees the form itself: at once on
Esc, or when it has waited longer than Atoms normally takes (app.js BUSY_RELEASE_MS),
with a note beside its buttons. What was typed stays, and sending it again does nothing
twice.
"""

import contextlib
import re
import time

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from dashboard import processes
from tests.browser.conftest import assert_fits_width, collect_page_errors, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

AUDIENCE_50 = "Mumbai leads - March (50 contacts)"
AGENT = "Renewals Assistant"
# app.js frees a busy form after BUSY_RELEASE_SECONDS (15 s; the test servers' is shorter,
# dashboard.processes.BUSY_RELEASE); the test waits that long, and a little more.
BUSY_RELEASE = processes.BUSY_RELEASE * 1000
SLOW_CREATE = 4_000  # Atoms' answer to POST /campaign: long after the person stops
STOP_AFTER = 1_500  # when the person gives up and presses Stop (or Esc)
# Stopping the page also aborts what its own scripts had in flight, such as the alerts
# badge's periodic request: htmx reports that one (seen in CI), and it is no fault.
STOP_ABORTS = (r"htmx:(afterRequest|sendError|sendAbort), \S+/alerts/\S*",)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def open_filled_form(page, name: str) -> None:
    page.goto("/campaigns/new/")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Agent", exact=True).select_option(label=AGENT)
    page.get_by_label("Audience", exact=True).select_option(label=AUDIENCE_50)
    page.locator("[data-field=phone_numbers] input[type=checkbox]").first.check()


def staff_on_a_filled_form(users, new_page, name: str, viewport) -> tuple:
    """A staff member's create form, filled in at `viewport`, and the console errors the
    page logs from then on."""
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size(viewport)
    errors = collect_page_errors(page, expected=STOP_ABORTS)
    open_filled_form(page, name)
    return page, errors


def stop_loading(page) -> None:
    """What the browser's Stop button does, and Esc in a browser with a window of its own
    (a key Playwright presses reaches the page only): the pending navigation ends, and no
    event tells the page. Until then Playwright cannot look at the page (its locators
    wait for the navigation, and so do DevTools commands to the page), so the tests look
    after the stop: a stopped form is what people see anyway."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("Page.stopLoading")
    finally:
        session.detach()


@contextlib.contextmanager
def slow_create(sim, page, name: str):
    """Atoms answers POST /campaign after SLOW_CREATE. Then, pass or fail, the faults are
    cleared and a create the page sent is waited for: a stopped request still ends on the
    server, and must not land in the next test's database."""
    sent = []
    page.on("request", lambda request: sent.append(request)
            if request.method == "POST" and request.url.endswith("/campaigns/new/") else None)
    sim.faults(latency_ms=SLOW_CREATE, fail_routes=["POST /campaign"])
    try:
        yield
    finally:
        sim.clear_faults()
        deadline = time.monotonic() + SLOW_CREATE / 1000 + 15
        while (sent and not Campaign.objects.filter(name=name).exists()
               and time.monotonic() < deadline):
            time.sleep(0.2)


def send_again_makes_nothing_twice(page, sim, name: str) -> None:
    """The stopped create has ended on the server (slow_create waited for it): the same
    form sent again lands on that campaign. One campaign, one create in Atoms."""
    assert Campaign.objects.filter(name=name).count() == 1
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    expect(page.get_by_test_id("campaign-name")).to_have_text(name)
    assert Campaign.objects.filter(name=name).count() == 1
    assert sim.calls_to("POST /campaign") == 1


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_esc_while_a_slow_create_is_sent_frees_the_form_at_once_and_keeps_what_was_typed(
        users, new_page, sim, viewport):
    name = "Stopped with Esc"
    page, errors = staff_on_a_filled_form(users, new_page, name, viewport)
    create = page.get_by_role("button", name="Create campaign")
    start = page.get_by_role("button", name="Create and start")
    note = page.get_by_test_id("stalled-note")

    with slow_create(sim, page, name):
        create.click(no_wait_after=True)
        sent = time.monotonic()
        page.wait_for_timeout(STOP_AFTER)
        page.keyboard.press("Escape")
        stop_loading(page)  # what the browser does on Esc

        # At once: long before Atoms answers (8 s) or the page gives up waiting (15 s).
        # (Stopping alone leaves them disabled: the next test.)
        expect(create).to_be_enabled(timeout=1_000)
        expect(start).to_be_enabled(timeout=1_000)
        assert time.monotonic() - sent < SLOW_CREATE / 1000, "not freed before Atoms answered"
        assert page.url.endswith("/campaigns/new/")
        expect(page.get_by_text("Talking to Atoms…")).to_be_hidden()
        expect(note).to_be_visible()
        expect(note).to_contain_text("you can send it again")
        expect(note).to_contain_text("nothing is done twice")
        expect(page.get_by_label("Name", exact=True)).to_have_value(name)
        expect(page.get_by_label("Audience", exact=True).locator("option:checked")).to_have_text(
            AUDIENCE_50)
        assert_fits_width(page)
    send_again_makes_nothing_twice(page, sim, name)
    assert errors == []


def test_a_slow_create_stopped_without_esc_frees_the_form_after_a_while_with_a_note(
        users, new_page, sim):
    name = "Stopped with the Stop button"
    page, errors = staff_on_a_filled_form(users, new_page, name, DESKTOP)
    create = page.get_by_role("button", name="Create campaign")
    start = page.get_by_role("button", name="Create and start")
    busy = page.get_by_text("Talking to Atoms…")
    note = page.get_by_test_id("stalled-note")

    with slow_create(sim, page, name):
        create.click(no_wait_after=True)
        sent = time.monotonic()
        page.wait_for_timeout(STOP_AFTER)
        stop_loading(page)  # the Stop button: no event reaches the page

        # Still guarded for a while: a second click now would send a second request.
        expect(busy).to_be_visible()
        expect(create).to_be_disabled()
        expect(start).to_be_disabled()
        page.wait_for_timeout(1_000)
        expect(create).to_be_disabled()
        expect(note).to_have_count(0)

        expect(note).to_be_visible(timeout=BUSY_RELEASE + 5_000)
        assert time.monotonic() - sent >= BUSY_RELEASE / 1000 - 1, "freed too soon"
        expect(note).to_have_text(
            "Still waiting for Atoms. If you stopped the page, you can send it again: the "
            "dashboard checks Atoms first, so nothing is done twice.")
        expect(create).to_be_enabled()
        expect(start).to_be_enabled()
        expect(busy).to_be_hidden()
        expect(page.get_by_label("Name", exact=True)).to_have_value(name)
        assert page.url.endswith("/campaigns/new/")
    send_again_makes_nothing_twice(page, sim, name)
    assert errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_refreshing_shows_only_while_the_lists_refresh_not_while_the_form_is_sent(
        users, new_page, sim, viewport):
    name = "Not refreshing"
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size(viewport)
    errors = collect_page_errors(page, expected=STOP_ABORTS)
    page.goto("/campaigns/new/")
    refresh = page.get_by_test_id("refresh-pickers")
    refreshing = refresh.get_by_text("Refreshing…")
    idle = refresh.get_by_text("Refresh lists")
    busy = page.get_by_text("Talking to Atoms…")
    expect(idle).to_be_visible()
    expect(refreshing).to_be_hidden()

    try:
        # The lists' own refresh says so while it runs, and the form is not busy.
        sim.faults(latency_ms=2_000, fail_routes=["GET /agent"])
        idle.click()
        expect(refreshing).to_be_visible()
        expect(idle).to_be_hidden()
        expect(busy).to_be_hidden()
        expect(refreshing).to_be_hidden(timeout=10_000)
        expect(idle).to_be_visible()
    finally:
        sim.clear_faults()

    # Sending the form talks to Atoms, but refreshes no list. Looked at once stopped: the
    # form is still busy then, as it was while it was being sent.
    open_filled_form(page, name)
    with slow_create(sim, page, name):
        page.get_by_role("button", name="Create campaign").click(no_wait_after=True)
        page.wait_for_timeout(STOP_AFTER)
        stop_loading(page)
        expect(busy).to_be_visible()
        expect(page.get_by_role("button", name="Create campaign")).to_be_disabled()
        expect(refreshing).to_be_hidden()
        expect(idle).to_be_visible()
    assert Campaign.objects.filter(name=name).count() == 1  # the stopped create still ended
    assert errors == []
