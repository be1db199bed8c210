"""Each role walks the dashboard as a new user would, at desktop and phone width: list
paging, a campaign created with a "Start at" a few minutes ahead, start, pause (the buttons
follow the status without a reload), resume and delete, as far as the role allows.
axe-core checks every page on the way: no serious or critical violation, nothing left
"needs review". The web server, Celery worker and simulator are real processes; the
simulator's clock moves when the test says so.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.browser.conftest import WIDTHS, assert_accessible, assert_fits_width, sign_in_by_form
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = "Renewals Assistant"
AUDIENCE = "Mumbai leads - March (50 contacts)"
LIVE = 15_000
# The browser's own zone, unlike the servers' UTC: "Start at" must be read in this one.
BROWSER_ZONE = "America/New_York"


def check(page, width: int) -> None:
    assert_accessible(page)
    if width < 600:
        assert_fits_width(page)


def open_as(new_page, chromium, web_server, user, width: int):
    context = chromium.new_context(base_url=web_server.url, timezone_id=BROWSER_ZONE,
                                   viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    return context, sign_in_by_form(page, user.username)


def fits_its_box(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "el => el.scrollWidth <= el.clientWidth")


def box_report(page, selector: str) -> str:
    """What a failure needs to be explained: the box's widths and each cell of the first
    rows (width, display, text)."""
    return page.eval_on_selector(selector, """el => JSON.stringify({
        scroll: el.scrollWidth, client: el.clientWidth,
        rows: [...el.querySelectorAll("tr")].slice(0, 4).map(row => [...row.children].map(
            cell => [cell.getBoundingClientRect().width, getComputedStyle(cell).display,
                     cell.innerText.trim().slice(0, 40)]))})""")


def walk_list_pages(page, width: int) -> None:
    page.goto("/campaigns/")
    expect(page.get_by_text(re.compile(r"Page 1 of 2"))).to_be_visible()
    check(page, width)
    # The counts are on screen, not behind a sideways scroll; the menu is one row.
    assert fits_its_box(page, "#results .table-wrap"), (
        f"the campaigns table scrolls sideways: {box_report(page, '#results .table-wrap')}")
    # Measured in one evaluation: the running campaign's row is swapped live every second,
    # and a cell found in one protocol call can be detached by the next (bounding_box None).
    counts_right = page.eval_on_selector("[data-testid=row-counts]",
                                         "el => el.getBoundingClientRect().right")
    assert counts_right <= width
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert len({round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}) == 1
    page.get_by_role("link", name="Next →").click()
    expect(page.get_by_text(re.compile(r"Page 2 of 2"))).to_be_visible()
    assert "page=2" in page.url and "??" not in page.url
    check(page, width)
    page.get_by_role("link", name="← Previous").click()
    expect(page.get_by_text(re.compile(r"Page 1 of 2"))).to_be_visible()


def create_scheduled(page, width: int, name: str) -> str:
    page.goto("/campaigns/new/")
    expect(page.locator("#id_scheduled_at_helptext")).to_contain_text(
        f"your time zone, {BROWSER_ZONE}")
    check(page, width)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Agent", exact=True).select_option(label=AGENT)
    page.get_by_label("Audience", exact=True).select_option(label=AUDIENCE)
    page.locator("[data-field=phone_numbers] input[type=checkbox]").first.check()
    local_soon = page.evaluate(
        "() => { const d = new Date(Date.now() + 5 * 60000);"
        " const p = n => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T"
        "${p(d.getHours())}:${p(d.getMinutes())}`; }")
    page.get_by_label("Start at").fill(local_soon)
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    expect(page.get_by_role("status")).to_have_text("Campaign created and scheduled.")
    expect(live_status(page)).to_have_text("Scheduled")
    campaign = Campaign.objects.get(name=name)
    typed = datetime.fromisoformat(local_soon)
    wanted = typed.replace(tzinfo=ZoneInfo(BROWSER_ZONE))
    assert abs((campaign.scheduled_at - wanted).total_seconds()) < 1
    # Shown back in the browser's zone, saying which.
    expect(page.locator("time[data-local=zoned]")).to_contain_text(f"({BROWSER_ZONE})")
    check(page, width)
    return page.url


def live_status(page):
    return page.locator("#live-detail").get_by_test_id("status")


def actions(page):
    return page.get_by_test_id("actions")


def start_and_see_it_run(page, sim, verb: str = "Start") -> None:
    actions(page).get_by_role("button", name=verb).click()
    expect(page.get_by_role("status")).to_contain_text(f"{verb} requested.")
    page.evaluate("window.sameDocument = true")
    sim.advance(5)  # processing → running after 3 s
    expect(live_status(page)).to_have_text("Running", timeout=LIVE)
    assert page.evaluate("window.sameDocument === true"), "the page reloaded"


def pause_and_see_buttons_follow(page, sim) -> None:
    page.evaluate("window.sameDocument = true")
    actions(page).get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("Pause requested.")
    page.evaluate("window.sameDocument = true")
    sim.advance(5)  # the pause lands 3 s after Atoms accepted it
    expect(live_status(page)).to_have_text("Paused", timeout=LIVE)
    # Within a poll interval and without a reload: Resume and Delete, no stale hints.
    expect(actions(page).get_by_role("button", name="Resume")).to_be_visible(timeout=LIVE)
    expect(actions(page).get_by_role("link", name="Delete")).to_be_visible()
    expect(page.get_by_role("button", name="Pausing…")).to_have_count(0)
    expect(page.get_by_test_id("pause-first")).to_have_count(0)
    expect(page.get_by_text("Final numbers")).to_have_count(0)
    assert page.evaluate("window.sameDocument === true"), "the page reloaded"


def follow_delete_link(page) -> None:
    """Click Delete and land on its page. In one full run the click went nowhere (the
    delete page's box never came): most likely a refetch of the same buttons, asked for
    just before they were drawn, replaced the link as it was clicked. A person clicks
    again; so does this."""
    link = actions(page).get_by_role("link", name="Delete")
    link.click()
    try:
        page.wait_for_url("**/delete/", timeout=5_000)
    except PlaywrightTimeoutError:
        link.click()
        page.wait_for_url("**/delete/")


@pytest.fixture
def thirty_campaigns(db):
    # Atoms has never heard of these ids, so the worker's list sync marks them "Deleted in
    # Atoms" sooner or later; the newest three are so from the start, on the first page.
    Campaign.objects.bulk_create([
        Campaign(atoms_id=f"{i:024x}", name=f"Old campaign {i:02d}", status="completed",
                 deleted_remotely_at=timezone.now() if i >= 27 else None)
        for i in range(30)
    ])


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_walk(width, users, chromium, web_server, new_page, sim, celery_worker,
                    server_settings, thirty_campaigns):
    draft = make_campaign(sim, users["staff"], name="Not yet", audience_size=50)
    context, page = open_as(new_page, chromium, web_server, users["staff"], width)
    try:
        page.goto(f"/campaigns/{draft.pk}/")
        expect(page.get_by_test_id("why")).to_have_text(
            "Not started yet: press Start when it is ready.", use_inner_text=True)
        walk_list_pages(page, width)
        create_scheduled(page, width, f"Staff walk {width}")
        start_and_see_it_run(page, sim)
        # Staff may not pause: the page says who can, and offers no Pause.
        expect(actions(page).get_by_text("An admin can pause it.")).to_be_visible()
        expect(actions(page).get_by_role("button", name="Pause")).to_have_count(0)
        check(page, width)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_walk(width, users, chromium, web_server, new_page, sim, celery_worker,
                    server_settings, thirty_campaigns):
    context, page = open_as(new_page, chromium, web_server, users["admin"], width)
    try:
        walk_list_pages(page, width)
        name = f"Admin walk {width}"
        create_scheduled(page, width, name)
        start_and_see_it_run(page, sim)
        check(page, width)
        pause_and_see_buttons_follow(page, sim)
        check(page, width)
        start_and_see_it_run(page, sim, verb="Resume")
        expect(actions(page).get_by_role("button", name="Pause")).to_be_visible(timeout=LIVE)
        pause_and_see_buttons_follow(page, sim)
        follow_delete_link(page)
        check(page, width)
        page.get_by_label(f"Type {name} to confirm").fill(name)
        page.get_by_role("button", name="Delete campaign").click()
        page.wait_for_url("**/campaigns/")
        expect(page.get_by_role("status")).to_have_text(f"Campaign “{name}” deleted.")
        page.goto("/activity/")
        check(page, width)
        row = page.get_by_test_id("activity-row").first.bounding_box()
        assert row["height"] < 110, f"an activity row is {row['height']}px tall"
        assert fits_its_box(page, ".table-wrap")
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_manager_walk(width, users, chromium, web_server, new_page, sim, celery_worker,
                      server_settings, thirty_campaigns):
    running = make_campaign(sim, users["staff"], "running", name="Watched", audience_size=50)
    draft = make_campaign(sim, users["staff"], name="Not yet", audience_size=50)
    context, page = open_as(new_page, chromium, web_server, users["manager"], width)
    try:
        expect(page.get_by_role("heading", name=re.compile("Board|Live"))).to_be_visible()
        check(page, width)
        walk_list_pages(page, width)
        page.goto(f"/campaigns/{running.pk}/")
        expect(live_status(page)).to_have_text("Running")
        expect(actions(page).get_by_role("button")).to_have_count(0)
        check(page, width)
        page.goto("/campaigns/new/")
        expect(page.get_by_test_id("error-page")).to_be_visible()
        check(page, width)
        # The sentence under a draft is rendered once for everyone; a manager, who has no
        # Start, reads the wording that says who can (innerText: what is shown).
        page.goto(f"/campaigns/{draft.pk}/")
        expect(page.get_by_test_id("why")).to_have_text(
            "Not started yet: someone with the staff or admin role starts it when it is ready.",
            use_inner_text=True)
    finally:
        context.close()

