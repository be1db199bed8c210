"""The call-log tab, one call, its recording and the two downloads, over HTTP on the
simulator: filters, page sizes, the brief cache, per-click recording links that expire,
formula-safe streamed CSVs, and a failed Atoms read said plainly."""

import codecs
import csv
import io
import re
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest
from django.urls import reverse

from campaigns import call_logs
from campaigns.exports import safe_csv
from campaigns.live import sync
from campaigns.models import Campaign
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db
FIRST_TOUCH = "Mumbai leads - first touch"


@pytest.fixture
def finished(sim, atoms_settings, users):
    """The seeded, completed campaign, mirrored through the list sync."""
    sync.sync_campaign_list()
    return Campaign.objects.get(name=FIRST_TOUCH)


def page(client, campaign, **query):
    return client.get(reverse("campaign_calls", args=[campaign.pk]), query)


def rows(response):
    return response.content.decode().count('data-testid="call-row"')


def test_the_call_log_filters_by_status_reason_attempt_and_duration(finished, login_as):
    client = login_as("manager")
    everything = page(client, finished, size=500)
    assert everything.status_code == 200 and rows(everything) > 50
    no_answers = page(client, finished, status="no_answer", size=500).content.decode()
    assert 'data-outcome="no_answer"' in no_answers
    assert 'data-outcome="connected"' not in no_answers
    assert 'data-outcome="voicemail"' in no_answers  # Atoms files voicemail under no_answer
    first_calls = page(client, finished, attempt="initial", size=500)
    assert rows(first_calls) == 50 and "Retry " not in first_calls.content.decode()
    short = page(client, finished, duration="0-30", reason="timeout", size=500)
    assert 0 < rows(short) < rows(everything)
    assert "No answer (timed out)" in short.content.decode()


def shown(html: str, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}">([^<]+)<', html)


def test_a_calls_length_reads_in_the_bucket_it_is_filed_under_and_alike_on_its_page(
        finished, login_as):
    """Atoms files lengths in [low, high) buckets: a 29.5 s call shown rounded as "30 s"
    sat under "Under 30 s", and the call's own page said "29.5 s" and "$0.0312" where the
    log said "30 s" and "$0.031"."""
    client = login_as("manager")

    def lengths(bucket: str) -> list[str]:
        return shown(page(client, finished, duration=bucket, size=500).content.decode(),
                     "log-duration")

    under, half, minutes = lengths("0-30"), lengths("30-60"), lengths("1-5")
    assert under and half and minutes, "the seeded campaign has calls of each length"
    assert all(re.fullmatch(r"\d+ s", t) and int(t.split()[0]) < 30 for t in under), under
    assert all(re.fullmatch(r"\d+ s", t) and 30 <= int(t.split()[0]) < 60 for t in half), half
    assert all(re.fullmatch(r"[1-4] min( \d+ s)?", t) for t in minutes), minutes

    log = page(client, finished, duration="1-5", size=25).content.decode()
    # Each call's link is named by its time and, for a screen reader, whom it called.
    assert '<span class="sr-only">: call to +' in log
    call_id = re.search(r'id="call-([^"]+)" data-testid="call-link"', log).group(1)
    row = log[log.index(f'id="call-{call_id}"'):]
    call = client.get(reverse("campaign_call", args=[finished.pk, call_id])).content.decode()
    assert shown(call, "call-duration")[0] == shown(row, "log-duration")[0]
    assert shown(call, "call-cost")[0] == shown(row, "log-cost")[0]


def test_pages_hold_at_most_what_was_asked_and_bad_filters_are_explained(finished, login_as):
    client = login_as("staff")
    first = page(client, finished, size=25)
    assert rows(first) == 25 and "Page 1 of" in first.content.decode()
    second = page(client, finished, size=25, page=2).content.decode()
    assert "Page 2 of" in second
    bad = page(client, finished, size=7, status="bogus").content.decode()
    assert 'data-testid="filter-errors"' in bad
    assert "Calls per page: Select a valid choice" in bad
    assert "Those filters were left out of what is listed." in bad
    # Listed without them, as the campaign list does: 50 a page, every outcome.
    assert bad.count('data-testid="call-row"') == 50
    for edited in ("0", "-1", "abc", "1.5", "99999"):
        shown = page(client, finished, size=25, page=edited).content.decode()
        assert "That filter was left out of what is listed." in shown, edited
        assert "Page 1 of" in shown and shown.count('data-testid="call-row"') == 25, edited


def test_a_filter_sent_with_a_value_not_offered_keeps_the_offered_ones(finished, login_as):
    """A probe: `status=completed&status=bogus` said the filter was refused, then listed
    every call instead of the completed ones."""
    client = login_as("manager")
    completed = page(client, finished, status="completed", size=500)
    both = page(client, finished, status=["completed", "bogus"], size=500)
    assert rows(both) == rows(completed) > 0
    html = both.content.decode()
    assert set(re.findall(r'data-outcome="([^"]+)"', html)) == {"connected"}
    assert ("Status: “bogus” is not one of the choices, and was left out; the others "
            "apply.") in html
    assert "left out of what is listed" not in html
    assert re.search(r'<input[^>]*value="completed"[^>]*checked', html)  # as applied
    with_another = page(client, finished, status=["completed", "bogus"], size=7)
    assert "That filter was left out of what is listed." in with_another.content.decode()
    assert rows(with_another) == min(rows(completed), 50)


def test_an_empty_log_says_why_a_draft_has_none_and_a_filter_found_none(
        sim, atoms_settings, users, login_as):
    draft = make_campaign(sim, users["staff"], "draft", name="Not started")
    client = login_as("manager")
    plain = page(client, draft).content.decode()
    assert "No calls yet: the campaign has not started." in plain
    assert "No calls match" not in plain  # no filter was applied to blame
    # Filtered, it has still not started: that is the reason, not the filter (probe).
    filtered = page(client, draft, status="completed").content.decode()
    assert "No calls yet: the campaign has not started." in filtered
    assert "No calls match" not in filtered
    # Drawn before the start, it is asked again once the campaign's state moves (a start
    # elsewhere left it saying "has not started" for good), not every few seconds.
    tag = re.search(r'<div id="call-log"[^>]*>', plain, re.S).group(0)
    assert 'hx-trigger="live:actions-redrawn from:body, every 30s"' in tag


def test_a_number_finds_its_calls_however_it_is_written_and_none_says_so(finished, login_as):
    """A manager could not look up what happened to one contact: the log had no search
    (probe). Atoms' `search` matches a call's id or numbers."""
    client = login_as("manager")
    some = page(client, finished, size=25).context["page"].items[0]
    number = some.to_number  # written with spaces and a dash, as people do
    typed = f"{number[:3]} ({number[3:6]}) {number[6:9]}-{number[9:]}"
    found = page(client, finished, q=typed, size=500)
    calls = {log.call_id for log in found.context["page"].items}
    assert calls and all(log.to_number == some.to_number for log in found.context["page"].items)
    assert found.context["form"]["q"].value() == typed  # the box keeps what was typed
    digits = number.lstrip("+")
    fullwidth = "".join(chr(ord(d) + 0xFEE0) for d in digits)
    for written in (f"00{digits}", f"{digits} ext. 5", fullwidth, digits[3:]):
        again = page(client, finished, q=written, size=500).context["page"].items
        assert {log.call_id for log in again} >= calls, written
    for refused, said in (("!!!", "Type a phone number or a call id."),
                          ("9" * 41, "A number or a call id is at most 40 characters.")):
        response = page(client, finished, q=refused)
        assert response.context["form"].errors["q"] == [said]
        assert not response.context["filtered"]  # left out of what is listed, and said so
    # Filters without a page size list 50, and the page size shown says so (it said 25).
    assert '<option value="50" selected>50</option>' in page(
        client, finished, status="completed").content.decode()
    by_id = page(client, finished, q=some.call_id).context["page"].items
    assert [log.call_id for log in by_id] == [some.call_id]
    none = page(client, finished, q="999 999 9999").content.decode()
    assert 'data-testid="log-empty">No calls match these filters' in none
    log_url = reverse("campaign_calls", args=[finished.pk])
    assert f'<a href="{log_url}" data-testid="clear-filters">Clear the filters</a>' in none
    # In the campaign page's tab, clearing them redraws the tab there (it left the page).
    tab = client.get(log_url, {"q": "999 999 9999"}, HTTP_HX_REQUEST="true",
                     HTTP_HX_TARGET="calls-panel",
                     HTTP_HX_CURRENT_URL=reverse("campaign_detail", args=[finished.pk]))
    assert (f'<a href="{log_url}" hx-get="{log_url}" hx-target="#calls-panel" '
            'hx-swap="innerHTML" data-testid="clear-filters">') in tab.content.decode()


def test_the_page_size_shown_is_the_one_used_and_a_page_past_the_end_leads_back(
        finished, login_as):
    client = login_as("staff")
    plain = page(client, finished).content.decode()
    assert plain.count('data-testid="call-row"') == 50
    assert '<option value="50" selected>50</option>' in plain
    past = page(client, finished, size=25, page=999).content.decode()
    first = page(client, finished, size=25)
    pages = first.context["page"].total_pages
    assert f"Page 999 is past the end: {first.context['page'].total} calls fill {pages} " \
        "pages." in past
    assert f"size=25&amp;page={pages}\"" in past and "No calls match" not in past


def test_repeated_views_within_the_cache_period_ask_atoms_once(finished, login_as, sim,
                                                               settings):
    settings.CALL_LOG_CACHE_SECONDS = 60
    client = login_as("manager")
    before = sim.calls_to("GET /conversation")
    for _ in range(5):
        assert page(client, finished, status="completed").status_code == 200
    assert sim.calls_to("GET /conversation") - before == 1


def test_the_log_never_asks_atoms_for_a_slow_sort_or_a_date_range(finished, login_as,
                                                                  monkeypatch):
    requests = []
    original = httpx.HTTPTransport.handle_request

    def spy(self, request):  # httpx's, at the network boundary
        requests.append(str(request.url))
        return original(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", spy)
    page(login_as("manager"), finished, attempt="retry", size=100)
    logs = [url for url in requests if "/conversation" in url]
    assert logs and not any(k in url for url in logs for k in ("sortBy", "dateFrom", "dateTo"))


def test_an_atoms_failure_is_said_plainly(finished, login_as, sim):
    sim.faults(fail_routes=["GET /conversation"])
    html = page(login_as("manager"), finished).content.decode()
    assert 'data-testid="log-error"' in html and "could not be read from Atoms" in html


def test_a_call_atoms_fails_to_give_says_when_to_try_again_once(finished, login_as, sim):
    """"…Please try again in a minute. Try again in a moment." said it twice."""
    client, call_id = first_call(finished, login_as)
    sim.faults(fail_routes=["GET /conversation/{id}"])
    html = client.get(reverse("campaign_call", args=[finished.pk, call_id])).content.decode()
    assert "This call could not be read from Atoms: Atoms answered with an error" in html
    assert html.lower().count("try again") == 1


def test_a_call_atoms_failed_to_give_is_read_again_with_one_press(finished, login_as, sim):
    """The page said only "Please try again in a minute": a reload was the way, and not
    everyone knows it. A refusal that will not pass (Atoms cannot find a page, the key is
    refused) offers no such press."""
    client, call_id = first_call(finished, login_as)
    url = reverse("campaign_call", args=[finished.pk, call_id])
    sim.faults(fail_routes=["GET /conversation/{id}"])
    failed = client.get(url).content.decode()
    again = failed.split('data-testid="read-again"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert again == url
    sim.clear_faults()
    assert 'data-testid="transcript"' in client.get(again).content.decode()


def test_attempts_atoms_failed_to_give_are_read_again_with_one_press(finished, login_as, sim):
    client, call_id = first_call(finished, login_as)
    url = reverse("campaign_call", args=[finished.pk, call_id])
    sim.faults(fail_routes=["GET /conversation/{callId}/retries"])  # not the call itself
    failed = client.get(url).content.decode()
    assert "The attempts could not be read" in failed and 'data-testid="read-again"' in failed
    sim.clear_faults()
    assert 'data-testid="attempts"' in client.get(url).content.decode()


def first_call(finished, login_as, status="completed"):
    client = login_as("staff")
    html = page(client, finished, status=status, attempt="initial", size=25).content.decode()
    call_id = html.split('/calls/CALL-')[1].split("/")[0]
    return client, "CALL-" + call_id


def test_one_call_shows_the_conversation_dispositions_cost_and_attempts(finished, login_as):
    client, call_id = first_call(finished, login_as)
    html = client.get(reverse("campaign_call", args=[finished.pk, call_id])).content.decode()
    assert 'data-testid="transcript"' in html and 'class="turn turn-agent"' in html
    assert 'data-testid="dispositions"' in html and "Interested" in html
    assert 'data-testid="variables"' in html
    assert 'data-testid="attempts"' in html and "First call" in html
    assert 'data-testid="play-recording"' in html
    assert "never call again" in html  # staff may use the do-not-call link
    assert "style=" not in html and "<script>" not in html


def test_a_voicemail_says_so_and_a_manager_is_told_who_may_list_its_number(finished,
                                                                           login_as):
    """A voicemail with a recording said "Nobody spoke on this call"; "Never call again"
    was hidden from managers without a word on who can do it (probe)."""
    client = login_as("manager")
    html = page(client, finished, status="no_answer", size=25).content.decode()
    for call_id in re.findall(r'/calls/(CALL-[^/"]+)/', html)[:10]:
        response = client.get(reverse("campaign_call", args=[finished.pk, call_id]))
        if response.context["call"]["outcome"] == "voicemail":
            break
    else:
        pytest.fail("no voicemail among the seeded campaign's first unanswered calls")
    html = response.content.decode()
    assert "The call reached voicemail: there is no conversation to transcribe" in html
    assert "Nobody spoke" not in html
    assert ("Someone with the staff or admin role can put "
            f"{response.context['detail'].call.to_number} on the do-not-call list") in html
    assert 'data-testid="never-call-again"' not in html


def test_a_failed_call_says_why(finished, login_as):
    client, call_id = first_call(finished, login_as, status="failed")
    html = client.get(reverse("campaign_call", args=[finished.pk, call_id])).content.decode()
    assert 'data-testid="failure-reason"' in html
    assert ("Busy" in html) or ("Carrier error" in html)
    assert 'data-testid="no-transcript"' in html


def test_a_call_of_another_campaign_is_not_shown_under_this_one(finished, login_as, sim, users):
    client, call_id = first_call(finished, login_as)
    other = make_campaign(sim, users["staff"], "draft", name="Other")
    response = client.get(reverse("campaign_call", args=[other.pk, call_id]))
    assert response.status_code == 404


def test_a_call_id_atoms_calls_invalid_is_a_page_not_found(finished, login_as):
    """Our URLs take any CALL-<digits>-<letters>; Atoms refuses those not of its form with
    a 400, which the page showed as "could not be read from Atoms, try again" (502)."""
    client, _call_id = first_call(finished, login_as)
    response = client.get(reverse("campaign_call", args=[finished.pk, "CALL-1234567-abc"]))
    assert response.status_code == 404


def test_each_click_fetches_a_fresh_recording_link_that_expires(finished, login_as, sim):
    client, call_id = first_call(finished, login_as)
    url = reverse("call_recording", args=[finished.pk, call_id])
    before = sim.calls_to("GET /conversation/{callId}/recording/download-url")
    first = client.get(url, HTTP_HX_REQUEST="true")
    second = client.get(url, HTTP_HX_REQUEST="true")
    assert first["Cache-Control"] == "no-store"
    assert sim.calls_to("GET /conversation/{callId}/recording/download-url") - before == 2
    link = first.content.decode().split('src="')[1].split('"')[0].replace("&amp;", "&")
    assert "sim-key" not in first.content.decode()
    assert httpx.get(link).status_code == 200
    sim.advance(301)
    assert httpx.get(link).status_code == 403
    # Opened by itself (a new tab): a page with the way back to the call, not a bare player.
    opened = client.get(url).content.decode()
    assert "<title>Recording · " in opened and reverse(
        "campaign_call", args=[finished.pk, call_id]) in opened
    fresh = opened.split("<audio")[1].split('src="')[1].split('"')[0]
    assert httpx.get(fresh.replace("&amp;", "&")).status_code == 200
    assert second.status_code == 200


def test_downloads_stream_both_csvs_with_formulas_neutralised(finished, login_as):
    client = login_as("manager")
    members = client.get(reverse("campaign_export", args=[finished.pk, "members"]))
    assert members.streaming and members["Content-Type"].startswith("text/csv")
    assert "attachment" in members["Content-Disposition"]
    body = b"".join(members.streaming_content)
    assert body.startswith(codecs.BOM_UTF8)  # else Excel shows "Zoë" as "ZoÃ«"
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0][:3] == ["audienceMemberId", "phoneNumber", "totalAttempts"]
    assert len(table) == 51
    assert all(row[1].startswith("'+") for row in table[1:])  # "+91…" would be a formula
    # The pages offering the files say why (a probe took the ' for a fault).
    for page in ("campaign_detail", "campaign_calls"):
        html = client.get(reverse(page, args=[finished.pk])).content.decode()
        assert "has a ' " in html and "spreadsheet" in html
    logs = client.get(reverse("campaign_export", args=[finished.pk, "logs"]))
    logs_table = list(csv.reader(io.StringIO(
        b"".join(logs.streaming_content).decode("utf-8-sig"))))
    assert logs_table[0][0] == "timestamp" and len(logs_table) > 51


def test_every_dangerous_cell_is_neutralised_even_across_chunk_boundaries():
    source = 'name,note\r\n=HYPERLINK("x"),"@SUM(1)\nsecond line"\r\n-2,+3\r\nsafe,ok\r\n'
    data = source.encode()
    chunks = [data[i:i + 3] for i in range(0, len(data), 3)]  # split anywhere
    table = list(csv.reader(io.StringIO(b"".join(safe_csv(chunks)).decode("utf-8-sig"))))
    assert table == [["name", "note"], ["'=HYPERLINK(\"x\")", "'@SUM(1)\nsecond line"],
                     ["'-2", "'+3"], ["safe", "ok"]]


def test_a_refused_download_is_a_page_not_a_broken_file(finished, login_as, sim):
    sim.faults(fail_routes=["GET /campaign/{id}/logs/export"])
    response = login_as("manager").get(reverse("campaign_export", args=[finished.pk, "logs"]))
    assert response.status_code == 502
    page = response.content.decode()
    assert 'data-testid="export-error"' in page
    # Back to the campaign it was asked from, or the same download again.
    url = reverse("campaign_export", args=[finished.pk, "logs"])
    assert f'href="{url}" download>Try the download again' in page
    assert f'href="{reverse("campaign_detail", args=[finished.pk])}"' in page


def test_a_recording_link_atoms_cannot_give_is_said_in_the_player(finished, login_as, sim):
    client, call_id = first_call(finished, login_as)
    client.get(reverse("campaign_call", args=[finished.pk, call_id]))  # detail now cached
    sim.faults(fail_routes=["GET /conversation/{callId}/recording/download-url"])
    html = client.get(reverse("call_recording", args=[finished.pk, call_id]),
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="recording-error"' in html and "could not be fetched" in html
    assert "<audio" not in html
    # Asked again in place, with one press, once Atoms gives it.
    url = reverse("call_recording", args=[finished.pk, call_id])
    assert f'hx-get="{url}"' in html and "Ask Atoms for it again" in html
    sim.clear_faults()
    assert "<audio" in client.get(url, HTTP_HX_REQUEST="true").content.decode()


def test_a_call_without_a_recording_offers_no_asking_again(finished, login_as, sim):
    client, call_id = first_call(finished, login_as, status="failed")
    html = client.get(reverse("call_recording", args=[finished.pk, call_id]),
                      HTTP_HX_REQUEST="true").content.decode()
    assert "Atoms has no recording of this call." in html and "Ask Atoms" not in html


def test_the_tab_loads_into_the_campaign_page_on_demand(finished, login_as, sim):
    client = login_as("manager")
    before = sim.calls_to("GET /conversation")
    detail = client.get(reverse("campaign_detail", args=[finished.pk])).content.decode()
    assert 'hx-target="#calls-panel"' in detail and 'data-testid="call-row"' not in detail
    assert sim.calls_to("GET /conversation") == before  # nothing read until it is opened
    tab = client.get(reverse("campaign_calls", args=[finished.pk]),
                     HTTP_HX_REQUEST="true", HTTP_HX_TARGET="calls-panel")
    html = tab.content.decode()
    assert html.lstrip().startswith("<div id=\"calls-tab\"") and "<html" not in html
    assert 'data-testid="call-filters"' in html and 'data-testid="call-row"' in html


def test_the_recording_of_a_call_atoms_does_not_have_is_not_found(finished, login_as):
    """Not "Atoms has no recording of this call" for a call that does not exist."""
    url = reverse("call_recording", args=[finished.pk, "CALL-1796559088561-abcdef"])
    assert login_as("manager").get(url).status_code == 404


def test_in_the_tab_the_address_bar_names_the_campaign_page_with_the_log_as_it_is(
        finished, login_as):
    """A probe: in the tab on a campaign's page "Older →" was "?…&page=2", the campaign
    page's address (opened in a new tab: no log), and each filter or page put the log's own
    address in the bar: Back from a call then showed a Call log page never seen. Now the
    links name the log, and the bar the campaign page with the log open as it was."""
    client = login_as("manager")
    url = reverse("campaign_calls", args=[finished.pk])
    detail = reverse("campaign_detail", args=[finished.pk])
    tab = client.get(url, {"size": 25}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="calls-panel",
                     HTTP_HX_CURRENT_URL=detail)
    html = tab.content.decode()
    assert tab["HX-Push-Url"] == f"{detail}?calls=open&size=25"
    older = re.search(r'<a href="([^"]+)"[^>]*id="log-older"', html).group(1)
    assert older.startswith(f"{url}?") and older.endswith("page=2")
    assert 'hx-push-url="true"' not in html and html.count('hx-push-url="false"') == 2
    second = client.get(older.replace("&amp;", "&"), HTTP_HX_REQUEST="true",
                        HTTP_HX_TARGET="call-log", HTTP_HX_TRIGGER="log-older",
                        HTTP_HX_CURRENT_URL=f"{detail}?calls=open&size=25")
    assert second["HX-Push-Url"].startswith(f"{detail}?calls=open&")
    assert second["HX-Push-Url"].endswith("&page=2")
    newer = re.search(r'<a href="([^"]+)"[^>]*id="log-newer"', second.content.decode()).group(1)
    assert newer.startswith(f"{url}?")
    # The log's own refresh every few seconds adds nothing to the history.
    refresh = client.get(url, {"size": 25}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="call-log",
                         HTTP_HX_TRIGGER="call-log", HTTP_HX_CURRENT_URL=detail)
    assert "HX-Push-Url" not in refresh
    # That address opens the campaign page with the log asked for at once, as it was.
    page = client.get(detail, {"calls": "open", "size": 25, "page": 2}).content.decode()
    assert f'hx-get="{url}?size=25&amp;page=2" hx-trigger="load"' in page
    assert 'hx-trigger="load"' not in client.get(detail).content.decode().split(
        'id="calls-panel"')[1].split(">")[0]
    # On the Call log page itself the address follows the filters and pages.
    own = client.get(url, {"size": 25})
    assert "HX-Push-Url" not in own
    assert own.content.decode().count('hx-push-url="true"') == 2


def test_a_calls_way_back_returns_to_the_log_as_it_was_seen(finished, login_as):
    """"← Call log" on a call opened from a filtered second page (in the campaign page's
    tab) went to the first page, unfiltered, off the campaign page (probe)."""
    client = login_as("manager")
    url = reverse("campaign_calls", args=[finished.pk])
    detail = reverse("campaign_detail", args=[finished.pk])

    def back_from_first_call(html: str) -> str:
        link = re.search(r'<a href="([^"]+)" id="call-[^"]+" data-testid="call-link"',
                         html).group(1).replace("&amp;", "&")
        call = client.get(link).content.decode()
        return re.search(r'<a href="([^"]+)" data-testid="back-to-log"', call).group(1)

    tab = client.get(url, {"status": "completed", "size": 25, "page": 2},
                     HTTP_HX_REQUEST="true", HTTP_HX_TARGET="calls-panel",
                     HTTP_HX_CURRENT_URL=detail)
    assert back_from_first_call(tab.content.decode()).replace("&amp;", "&") == (
        f"{detail}?calls=open&status=completed&attempt=all&size=25&page=2")
    own = page(client, finished, status="completed", size=25, page=2)
    assert back_from_first_call(own.content.decode()).replace("&amp;", "&") == (
        f"{url}?status=completed&attempt=all&size=25&page=2")
    # A call opened from anywhere else goes to the log; an edited filter is left out.
    some_call = re.search(r'id="call-([^"]+)" data-testid="call-link"',
                          own.content.decode()).group(1)
    call_url = reverse("campaign_call", args=[finished.pk, some_call])
    # A search comes back as it was typed, not as the digits Atoms was sent (the box
    # showed "919371192992" after Back).
    number = page(client, finished, size=25).context["page"].items[0].to_number
    typed = f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    searched = page(client, finished, q=typed, size=25)
    back = back_from_first_call(searched.content.decode()).replace("&amp;", "&")
    assert back == f"{url}?{urlencode({'attempt': 'all', 'size': 25, 'q': typed})}&page=1"
    assert client.get(back).context["form"]["q"].value() == typed
    for query, back in (("", url),
                        ("?status=bogus&page=x", f"{url}?attempt=all&amp;size=50&amp;page=1")):
        call = client.get(call_url + query).content.decode()
        assert f'<a href="{back}" data-testid="back-to-log">' in call, query


def test_older_calls_of_a_dialling_campaign_never_repeat_the_page_before(
        sim, atoms_settings, users, login_as):
    """A probe: Atoms lists calls newest update first, so while a campaign dials, calls
    that change move to the top and push the rest down: "Older →" began with the last
    calls of the page before again (2 of 40). Its link says which call it saw last."""
    campaign = make_campaign(sim, users["staff"], "running", audience_size=50)
    sim.advance(900)
    client = login_as("manager")
    url = reverse("campaign_calls", args=[campaign.pk])
    first = client.get(url, {"size": 25}).content.decode()
    seen = call_ids(first)
    older = re.search(r'<a href="([^"]+)"[^>]*id="log-older"', first).group(1)
    sim.advance(20)  # calls end and are retried meanwhile, and move to the top

    as_atoms_lists_it = call_ids(page(client, campaign, size=25, page=2).content.decode())
    assert set(as_atoms_lists_it) & set(seen), "no call moved: the test shows nothing"
    second = call_ids(client.get(older.replace("&amp;", "&")).content.decode())
    assert second == [call for call in as_atoms_lists_it if call not in seen]


def call_ids(html: str) -> list[str]:
    return re.findall(r'id="call-([^"]+)" data-testid="call-link"', html)


def test_a_last_seen_call_that_is_not_on_the_page_leaves_the_page_whole():
    calls = [SimpleNamespace(call_id=f"CALL-{n}") for n in range(4)]

    def kept(last_seen):
        return [c.call_id for c in call_logs.past_the_last_seen(calls, last_seen)]

    assert kept("CALL-1") == ["CALL-2", "CALL-3"]
    assert kept("CALL-0") == ["CALL-1", "CALL-2", "CALL-3"]
    # Moved itself (not below), not sent, or every call before it: all shown.
    for last_seen in ("CALL-9", "", "CALL-3"):
        assert kept(last_seen) == ["CALL-0", "CALL-1", "CALL-2", "CALL-3"]
