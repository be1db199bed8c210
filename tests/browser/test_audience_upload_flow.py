"""Audiences in real Chromium: upload → preview → confirm → the audience page; and a start
that meets a do-not-call number → the warning → "Start without them"."""

import re

import pytest
from playwright.sync_api import expect

from campaigns.connections import atoms_client
from campaigns.models import Campaign, SuppressedNumber
from tests.browser.conftest import assert_fits_width, collect_page_errors, sign_in
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = (
    b"firstName,phoneNumber\n"
    b"Asha,+1 415 555 0100\n"
    b"Ravi,(415) 555-0101\n"
    b"Bad,12345\n"
    b"Twice,+14155550100\n"
    b"Meera,415.555.0102\n"
    b"Florist,1-800-FLOWERS\n"
)


@pytest.mark.parametrize("width", [1280, 390])
def test_upload_preview_confirm_then_the_audience_page(users, new_page, sim,
                                                       server_settings, width):
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)
    page.goto("/audiences/")
    page.get_by_role("link", name="Upload contacts").click()
    page.get_by_label("Name", exact=True).fill("Browser leads")
    page.get_by_label("Contacts (CSV file)").set_input_files(
        {"name": "leads.csv", "mimeType": "text/csv", "buffer": CONTACTS})
    page.get_by_role("button", name="Check the file").click()

    page.wait_for_url(re.compile(r"/audiences/uploads/[0-9a-f-]+/$"))
    expect(page.get_by_test_id("count-valid")).to_have_text("4")
    expect(page.get_by_test_id("count-invalid")).to_have_text("1")
    expect(page.get_by_test_id("count-duplicate")).to_have_text("1")
    expect(page.get_by_test_id("count-suppressed")).to_have_text("0")
    expect(page.get_by_test_id("rejected-row")).to_have_count(2)
    # Read from a keypad's letters: listed with the number it will dial, to be checked.
    expect(page.get_by_test_id("from-letters-row")).to_have_count(1)
    expect(page.get_by_test_id("from-letters-row")).to_contain_text("+18003569377")
    assert sim.calls_to("POST /audience") == 0
    assert_fits_width(page)
    if width < 600:  # the column and country fields one under the other, not squeezed
        lefts = page.eval_on_selector_all(".upload-check > .field",
                                          "els => els.map(e => e.getBoundingClientRect().left)")
        assert len(lefts) == 2 and lefts[0] == lefts[1], lefts

    page.get_by_role("button", name="Upload 4 contacts").click()
    page.wait_for_url(re.compile(r"/audiences/[0-9a-f]{24}/$"))
    expect(page.get_by_role("status")).to_have_text(
        "Audience “Browser leads” uploaded with 4 contacts.")
    expect(page.get_by_test_id("audience-name")).to_have_text("Browser leads")
    expect(page.get_by_test_id("member-row")).to_have_count(4)
    expect(page.get_by_text("+14155550102")).to_be_visible()
    assert sim.calls_to("POST /audience") == 1
    assert errors == []


def test_start_meets_the_do_not_call_list_and_starts_without_them(users, new_page, sim,
                                                                 server_settings):
    draft = make_campaign(sim, users["staff"])
    client = atoms_client()
    members = client.all_audience_members(draft.audience_id)
    SuppressedNumber.objects.create(phone_number=members[0].data["phoneNumber"])

    page = sign_in(new_page(), users["staff"].username)
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{draft.pk}/")
    page.get_by_test_id("actions").get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("suppression-warning")).to_contain_text(
        "1 of this campaign's contacts is on the do-not-call list")
    assert sim.calls_to("POST /campaign/{id}/start") == 0

    page.get_by_role("button", name="Start without them").click()
    copy_name = "Spring renewals (without do-not-call)"
    expect(page.get_by_test_id("campaign-name")).to_have_text(copy_name)
    copy = Campaign.objects.get(name=copy_name)
    assert page.url.endswith(f"/campaigns/{copy.pk}/")
    kept = client.all_audience_members(copy.audience_id)
    assert [m.data["phoneNumber"] for m in kept] == [members[1].data["phoneNumber"]]
    assert sim.calls_to("POST /campaign/{id}/start") == 1
    # Back from the copy: the question again, not the browser's "Confirm Form
    # Resubmission" (it was the start's POST answer: a probe); and Cancel, then Back too.
    page.go_back()
    expect(page.get_by_test_id("suppression-warning")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_test_id("campaign-name")).to_have_text("Spring renewals")
    page.go_back()
    expect(page.get_by_test_id("suppression-warning")).to_be_visible()
    assert sim.calls_to("POST /campaign/{id}/start") == 1
    assert errors == []


def test_an_audience_reads_as_one_block_per_contact_on_a_phone(users, new_page, sim,
                                                               server_settings):
    """A probe at 390 px: the contacts table ended "LAST…", "Pate…" at the box's edge and
    scrolled sideways. On a phone each contact is a block, each value after its column."""
    wide = (b"firstName,lastName,companyName,cityOfResidence,preferredLanguage,phoneNumber\n"
            b"Asha,Patel-Raghunathan,Northwind Traders,Bengaluru,,+14155550100\n")
    audience = atoms_client().create_audience("Wide contacts", "phoneNumber", wide)
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": 390, "height": 844})
    errors = collect_page_errors(page)
    page.goto(f"/audiences/{audience.id}/")
    row = page.get_by_test_id("member-row")
    lines = [line.strip() for line in row.inner_text().splitlines() if line.strip()]
    assert sorted(lines) == ["cityOfResidence: Bengaluru", "companyName: Northwind Traders",
                             "firstName: Asha", "lastName: Patel-Raghunathan",
                             "phoneNumber: +14155550100"], lines  # an empty value: no line
    box, tick = row.bounding_box(), row.get_by_role("checkbox").bounding_box()
    assert box["x"] <= tick["x"] < box["x"] + 24 and tick["width"] >= 20  # still tappable
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert_fits_width(page)
    assert errors == []


def test_a_table_wider_than_its_box_fades_at_the_side_it_scrolls_on_to(users, new_page, sim,
                                                                       server_settings):
    """An audience of many columns on a tablet: nothing said the table scrolled sideways."""
    columns = [f"column{i}" for i in range(7)]
    wide = (",".join(columns + ["phoneNumber"]) + "\n"
            + ",".join([f"value number {i}" for i in range(7)] + ["+14155550100"]) + "\n")
    audience = atoms_client().create_audience("Wide contacts", "phoneNumber", wide.encode())
    page = sign_in(new_page(), users["staff"].username)
    page.set_viewport_size({"width": 800, "height": 900})
    errors = collect_page_errors(page)
    page.goto(f"/audiences/{audience.id}/")
    wrap = page.locator(".table-wrap").first
    expect(wrap).to_have_attribute("data-more-right", "")
    expect(wrap).not_to_have_attribute("data-more-left", "")
    assert "gradient" in wrap.evaluate("el => getComputedStyle(el).maskImage")
    wrap.evaluate("el => el.scrollTo(el.scrollWidth, 0)")
    expect(wrap).to_have_attribute("data-more-left", "")
    expect(wrap).not_to_have_attribute("data-more-right", "")
    assert_fits_width(page)  # the page itself never scrolls sideways
    page.set_viewport_size({"width": 1280, "height": 900})  # room for it all: no fade
    expect(wrap).not_to_have_attribute("data-more-right", "")
    expect(wrap).not_to_have_attribute("data-more-left", "")
    assert errors == []
