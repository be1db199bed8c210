"""A manager follows what happened to a running campaign's calls, in real Chromium at a
desktop and a phone width: the outcome breakdown moves by itself, the call log filters to
no-answers, one call opens and its recording plays, and both CSVs download; axe-core finds
nothing serious on the way and nothing scrolls sideways on the phone."""

import codecs
import csv
import io
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from campaigns import ratelimit, services
from campaigns.connections import atoms_client
from tests.browser.conftest import (
    assert_accessible,
    assert_fits_width,
    collect_page_errors,
    sign_in,
)
from tests.campaign_factory import campaign_input, make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = 30_000  # generous: the shared machine is often loaded


def shown_number(page, test_id: str) -> int:
    return int(page.get_by_test_id(test_id).inner_text().replace(",", ""))


@pytest.mark.parametrize("width", [1280, 390])
def test_a_manager_watches_outcomes_filters_the_log_plays_a_call_and_downloads(
        users, new_page, sim, celery_worker, server_settings, width):
    campaign = make_campaign(sim, users["staff"], "running", name="Outcome watch",
                             audience_size=50)
    page = sign_in(new_page(), users["manager"].username)
    page.set_viewport_size({"width": width, "height": 900})
    errors = collect_page_errors(page)

    page.goto(f"/campaigns/{campaign.pk}/")
    outcomes = page.get_by_test_id("outcomes")
    expect(outcomes).to_be_visible()
    sim.advance(300)  # calls end and new ones start: the worker's next poll sees them
    expect(page.get_by_test_id("outcome-calls")).to_be_visible(timeout=LIVE)
    first = shown_number(page, "outcome-calls")
    sim.advance(900)
    page.wait_for_function(
        "floor => Number(document.querySelector('[data-testid=outcome-calls]')"
        ".textContent.replace(/,/g, '')) > floor", arg=first, timeout=LIVE)
    expect(page.get_by_test_id("outcome-count-connected")).not_to_have_text("0")
    expect(page.get_by_test_id("spend")).to_contain_text("$")
    assert_accessible(page)
    assert_fits_width(page)
    # Every outcome's count and share in view, not behind a sideways scroll of the table.
    assert page.eval_on_selector("[data-testid=outcomes] .table-wrap",
                                 "el => el.scrollWidth <= el.clientWidth")

    page.get_by_test_id("open-call-log").click()  # the tab loads into the campaign's page
    expect(page.get_by_test_id("calls-panel").get_by_test_id("call-row").first).to_be_visible()
    detail_path = f"/campaigns/{campaign.pk}/"
    assert urlparse(page.url).path == detail_path
    # Each call's outcome in view on a phone too, not behind a sideways scroll.
    assert page.eval_on_selector("[data-testid=calls-panel] .table-wrap",
                                 "el => el.scrollWidth <= el.clientWidth")
    page.get_by_label("No answer or voicemail").check()
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll('[data-testid=call-row]')];"
        " return rows.length > 0 && rows.every(r => ['no_answer', 'voicemail']"
        ".includes(r.dataset.outcome)); }", timeout=LIVE)
    # The campaign page's address, with the log as it is (not the log's own address).
    assert urlparse(page.url).path == detail_path and "status=no_answer" in page.url

    # A voicemail is a no-answer with a recording.
    voicemail = page.locator("[data-testid=call-row][data-outcome=voicemail]").first
    voicemail.get_by_test_id("call-link").click()
    expect(page.get_by_test_id("call-outcome")).to_have_text("Voicemail")
    voicemail_url = page.url
    # Back: the campaign page, its log open and filtered as it was left (a probe came
    # back to a Call log page it had never seen).
    page.go_back()
    expect(page.get_by_test_id("calls-panel").get_by_label("No answer or voicemail")
           ).to_be_checked()
    assert urlparse(page.url).path == detail_path
    page.go_forward()
    expect(page.get_by_test_id("call-outcome")).to_have_text("Voicemail")
    expect(page.get_by_test_id("failure-reason")).to_have_text("Voicemail detected")
    assert_accessible(page)
    assert_fits_width(page)
    page.get_by_test_id("play-recording").click()
    audio = page.get_by_test_id("recording-audio")
    expect(audio).to_be_attached()
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=recording-audio]');"
        " return a && !a.error && a.readyState >= 2 && a.duration > 0; }", timeout=LIVE)

    page.goto(f"/campaigns/{campaign.pk}/calls/")
    assert_accessible(page)
    assert_fits_width(page)
    for test_id, first_header in (("download-members", "audienceMemberId"),
                                  ("download-logs", "timestamp")):
        with page.expect_download() as started:
            page.get_by_test_id(test_id).click()
        download = started.value
        saved = Path(download.path()).read_bytes()
        assert saved.startswith(codecs.BOM_UTF8)  # the page's own download keeps the mark
        table = list(csv.reader(io.StringIO(saved.decode("utf-8-sig"))))
        assert table[0][0] == first_header
        assert len(table) > 1
        phones = [cell for row in table[1:] for cell in row if cell.lstrip("'").startswith("+")]
        assert phones and all(cell.startswith("'+") for cell in phones)
        progress = "progress-members" if test_id == "download-members" else "progress-logs"
        expect(page.get_by_test_id(progress)).to_have_text(f"Downloaded {len(table) - 1} rows.")

    # Over the per-person limit on Atoms reads, the player says so where it would be.
    page.goto(voicemail_url)
    while ratelimit.take(users["manager"]):
        pass
    page.get_by_test_id("play-recording").click()
    expect(page.locator("#player").get_by_test_id("throttled-reason")).to_contain_text(
        "Too many requests to Atoms in a minute")
    assert errors == []


def test_a_call_in_progress_shows_its_transcript_live_and_says_when_it_ends(
        users, new_page, sim, celery_worker, server_settings):
    campaign = make_campaign(sim, users["staff"], "running", name="Live call",
                             audience_size=50, max_retries=0)
    page = sign_in(new_page(), users["manager"].username)
    errors = collect_page_errors(page)
    page.goto(f"/campaigns/{campaign.pk}/calls/?status=in_progress")
    links = page.get_by_test_id("call-link")
    expect(links).to_have_count(3)
    hrefs = [links.nth(i).get_attribute("href") for i in range(3)]
    pages = [page]
    for _ in hrefs[1:]:
        pages.append(sign_in(new_page(), users["manager"].username))
    for viewer, href in zip(pages, hrefs, strict=True):
        viewer.goto(href)
        expect(viewer.get_by_test_id("live-transcript")).to_be_attached()
    # Simulated time runs: lines are spoken, then every call hangs up.
    seen_counts = [set() for _ in pages]
    last_said = [[] for _ in pages]
    for _ in range(60):
        sim.advance(5)
        page.wait_for_timeout(300)
        for i, viewer in enumerate(pages):
            lines = viewer.locator("[data-testid=live-line] .said").all_inner_texts()
            seen_counts[i].add(len(lines))
            last_said[i] = lines or last_said[i]
        # Over: the live transcript gave way to the ended call's details.
        if all(v.get_by_test_id("live-call").count() == 0 for v in pages):
            break
    talked = [i for i, said in enumerate(last_said) if said]
    assert talked, "none of the first three calls spoke"
    viewer = pages[talked[0]]
    assert len(seen_counts[talked[0]]) >= 3  # the lines came one by one, not at the end
    said = last_said[talked[0]]
    # Without a reload, each page then shows the ended call: its outcome, duration and
    # cost, and the transcript as Atoms keeps it (the same lines).
    for each in pages:
        expect(each.get_by_test_id("call-outcome")).not_to_have_text("In progress")
        expect(each.get_by_test_id("call-cost")).to_contain_text("$")
        expect(each.get_by_test_id("live-call")).to_have_count(0)
    final = viewer.locator("[data-testid=transcript] .said").all_inner_texts()
    assert said == final
    assert errors == []


LONG_EMAIL = "accounts.payable.department@northern-regional-distribution.example.co.uk"


def test_a_call_page_with_a_long_contact_value_fits_a_phone(users, new_page, sim,
                                                            server_settings):
    """A contact's values (Atoms' call variables) wrap: a 29-character email once made
    every call page 441 px wide on a 390 px phone."""
    audience = atoms_client().create_audience(
        "Long values", "phoneNumber",
        f"firstName,phoneNumber,email\nAsha,+919800000001,{LONG_EMAIL}\n".encode())
    campaign = make_campaign(sim, users["staff"], "running", name="Long values",
                             audience_id=audience.id, audience_name=audience.name,
                             max_retries=0)
    sim.advance(900)  # the call ends: its page shows the contact's values
    page = sign_in(new_page(), users["manager"].username)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    page.get_by_test_id("call-link").first.click()
    expect(page.get_by_test_id("variables")).to_contain_text(LONG_EMAIL)
    assert_fits_width(page)


def test_the_download_counts_rows_not_line_breaks_inside_a_cell(users, new_page, sim,
                                                               server_settings):
    """A contact's city written on two lines made "Downloaded 5 rows." of 4 (probe)."""
    audience = atoms_client().create_audience(
        "Two-line city", "phoneNumber",
        b'name,phoneNumber,city\nAsha,+14155550100,"Line one\nLine two"\n'
        b"Ravi,+14155550101,Pune\n")
    campaign = services.create_campaign(
        users["staff"], uuid.uuid4(),
        campaign_input("Two lines", audience_id=audience.id, audience_name="Two-line city"),
        start=False).campaign
    page = sign_in(new_page(), users["manager"].username)
    page.goto(f"/campaigns/{campaign.pk}/calls/")
    with page.expect_download() as started:
        page.get_by_test_id("download-members").click()
    table = list(csv.reader(io.StringIO(
        Path(started.value.path()).read_bytes().decode("utf-8-sig"))))
    assert len(table) == 3
    expect(page.get_by_test_id("progress-members")).to_have_text("Downloaded 2 rows.")
