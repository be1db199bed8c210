"""The call log and a call's page as testers left them open on the demo, over HTTP on the
simulator: a self-refreshing table that idle tabs must not turn into refusals and that
comes back by itself after a refusal or an Atoms error; a call's page whose attempts agree
with its header once the call ends; downloads named after campaigns in any script."""

import re
from urllib.parse import quote

import pytest
from django.urls import reverse

from campaigns import ratelimit
from campaigns.live import poll, sync
from campaigns.models import Campaign
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db

LIMIT = 5
# What htmx sends when the table (`<div id="call-log" hx-trigger="every …">`) asks again.
SELF_REFRESH = {"HX-Request": "true", "HX-Trigger": "call-log", "HX-Target": "call-log"}


@pytest.fixture
def running(sim, atoms_settings, users):
    atoms_settings.USER_ATOMS_REQUESTS_PER_MINUTE = LIMIT
    return make_campaign(sim, users["staff"], "running", audience_size=50, max_retries=0)


def call_log_tag(html: str) -> str:
    """The table's own opening tag, where its self-refresh lives."""
    found = re.search(r'<div id="call-log"[^>]*>', html)
    assert found, f"no call log in {html[:300]!r}"
    return found[0]


def test_idle_tabs_refreshing_for_a_minute_leave_the_persons_limit_alone(running, login_as,
                                                                         users, settings):
    """Three tabs, each on its own filters, refreshing every 5 s for a minute: the page
    cache lasts no longer than the refresh interval, so each refresh reaches Atoms (here
    the cache is off to play that out without waiting). Counted with the person's other
    requests, they hit the limit in 40 s and the table was gone."""
    settings.CALL_LOG_CACHE_SECONDS = 0
    client = login_as("manager")
    url = reverse("campaign_calls", args=[running.pk])
    tabs = [{}, {"status": "completed"}, {"attempt": "initial"}]
    for query in tabs:
        assert client.get(url, query).status_code == 200  # each tab opened: counted once
    answers = [client.get(url, query, headers=SELF_REFRESH)
               for _ in range(60 // settings.POLL_INTERVAL_SECONDS) for query in tabs]
    assert [answer.status_code for answer in answers] == [200] * len(answers)
    assert all('hx-trigger="every' in call_log_tag(a.content.decode()) for a in answers)
    # The person's other requests to Atoms are all still theirs but the three tabs'.
    manager = users["manager"]
    assert [ratelimit.take(manager) for _ in range(LIMIT - len(tabs) + 1)] == \
        [True] * (LIMIT - len(tabs)) + [False]


def test_self_refreshes_have_an_allowance_per_person_not_per_page(running, login_as, sim,
                                                                  settings):
    """A script sending "refreshes" of 30 pages as fast as it could got about 430 Atoms
    reads a minute through one person's limit of 30, each page's refreshes covered on its
    own. Now all of a person's refreshes share one allowance."""
    settings.CALL_LOG_CACHE_SECONDS = 0
    settings.USER_CALL_LOG_REFRESHES_PER_MINUTE = 8
    client = login_as("manager")
    url = reverse("campaign_calls", args=[running.pk])
    before = sim.calls_to("GET /conversation")
    answers = [client.get(url, {"page": page}, headers=SELF_REFRESH).status_code
               for page in (1, 2, 3) for _ in range(4)]
    assert answers == [200] * 8 + [429] * 4
    assert sim.calls_to("GET /conversation") - before == 8
    # Refreshes do not use up the person's other requests either.
    assert client.get(url, {"status": "completed"}).status_code == 200


def test_a_refused_refresh_keeps_the_table_refreshing_and_it_comes_back(running, login_as,
                                                                       users, settings):
    """The 429's sentence took the table's place without a self-refresh: one refusal and
    the table was gone for good."""
    client = login_as("manager")
    url = reverse("campaign_calls", args=[running.pk])
    allowance = settings.USER_CALL_LOG_REFRESHES_PER_MINUTE
    while ratelimit.take(users["manager"], "call-log-refresh", limit=allowance):
        pass  # a minute of tabs left open elsewhere
    refused = client.get(url, {"attempt": "initial"}, headers=SELF_REFRESH)
    html = refused.content.decode()
    assert refused.status_code == 429  # htmx swaps a 429 in (base.html)
    assert 'hx-trigger="every 5s"' in call_log_tag(html)
    assert "Too many requests to Atoms in a minute" in html
    assert 'data-testid="call-row"' not in html
    settings.USER_CALL_LOG_REFRESHES_PER_MINUTE = allowance + 1  # as a minute passing would
    back = client.get(url, {"attempt": "initial"}, headers=SELF_REFRESH)
    assert back.status_code == 200 and 'data-testid="call-row"' in back.content.decode()
    assert 'hx-trigger="every 5s"' in call_log_tag(back.content.decode())


def test_an_atoms_error_keeps_the_table_refreshing_with_one_instruction(running, login_as,
                                                                        sim):
    client = login_as("manager")
    url = reverse("campaign_calls", args=[running.pk])
    sim.faults(error_rate=1, fail_routes=["GET /conversation"])
    failed = client.get(url, headers=SELF_REFRESH).content.decode()
    assert 'hx-trigger="every 5s"' in call_log_tag(failed)
    said = re.search(r'data-testid="log-error">([^<]*)<', failed)[1]
    assert said == ("The call log could not be read from Atoms: Atoms answered with an "
                    "error of its own (HTTP 500). The table tries again by itself every "
                    "5 seconds.")
    sim.clear_faults()
    back = client.get(url, headers=SELF_REFRESH).content.decode()
    assert 'data-testid="call-row"' in back and 'data-testid="log-error"' not in back
    assert 'hx-trigger="every 5s"' in call_log_tag(back)


def test_a_finished_campaigns_log_that_fails_tries_again_until_it_is_read(
        sim, atoms_settings, login_as):
    """Seen: a campaign finished while Atoms failed, and its log stayed on the error for
    good (a finished campaign's table did not refresh). It tries again, once, then stops."""
    sync.sync_campaign_list()
    finished = Campaign.objects.get(name="Mumbai leads - first touch")
    poll.refresh_one(finished.pk)  # its final poll: nothing will change any more
    client = login_as("manager")
    url = reverse("campaign_calls", args=[finished.pk])
    sim.faults(fail_routes=["GET /conversation"])
    failed = client.get(url).content.decode()
    said = re.search(r'data-testid="log-error">([^<]*)<', failed)[1]
    assert said.endswith("The table tries again by itself every 5 seconds.")
    assert said.lower().count("try again") + said.lower().count("tries again") == 1
    assert 'hx-trigger="every 5s"' in call_log_tag(failed)
    sim.clear_faults()
    read = client.get(url, headers=SELF_REFRESH).content.decode()
    assert 'data-testid="call-row"' in read
    assert "hx-trigger" not in call_log_tag(read)  # read: nothing will change any more


def outcomes_on(html: str) -> tuple[str, str]:
    """The call's outcome in its header, and in its own row of "Every attempt"."""
    header = re.search(r'data-testid="call-outcome">([^<]*)<', html)[1]
    row = re.search(r'<tr aria-current="true">.*?<span class="chip[^"]*">([^<]*)<', html,
                    re.S)[1]
    return header, row


def test_a_calls_attempts_agree_with_its_header_once_the_call_ends(running, login_as, sim,
                                                                   settings):
    settings.CALL_LOG_CACHE_SECONDS = 60  # however long, as a page's own cache lasts
    client = login_as("manager")
    html = client.get(reverse("campaign_calls", args=[running.pk]),
                      {"status": "in_progress"}).content.decode()
    call_id = "CALL-" + html.split("/calls/CALL-")[1].split("/")[0]
    url = reverse("campaign_call", args=[running.pk, call_id])
    assert outcomes_on(client.get(url).content.decode()) == ("In progress", "In progress")
    sim.advance(600)  # the call ends; the page fetches itself when its transcript ends
    ended = client.get(url, headers={"HX-Request": "true", "HX-Trigger": "live-ended"})
    header, row = outcomes_on(ended.content.decode())
    assert header != "In progress"
    assert row == header


@pytest.mark.parametrize(("name", "kind", "expected"), [
    ("Mumbai leads - first touch", "members",
     'attachment; filename="mumbai-leads-first-touch-results-per-contact.csv"'),
    ("Ventes Été 2025", "logs",
     'attachment; filename="ventes-ete-2025-call-attempts.csv"; '
     "filename*=utf-8''" + quote("ventes-été-2025-call-attempts.csv")),
    ("मुंबई लीड्स", "members",
     'attachment; filename="results-per-contact.csv"; '
     "filename*=utf-8''" + quote("मुंबई-लीड्स-results-per-contact.csv")),
])
def test_a_download_is_named_after_its_campaign_in_any_script(sim, atoms_settings, login_as,
                                                              name, kind, expected):
    """RFC 6266's filename*, after an ASCII filename for readers of that one alone: a name
    outside ASCII went out as Latin-1 bytes or an RFC 2047 word in filename="…", and
    Chromium saved "logs.csv". An ASCII name is sent exactly as it was."""
    sync.sync_campaign_list()
    finished = Campaign.objects.get(name="Mumbai leads - first touch")
    Campaign.objects.filter(pk=finished.pk).update(name=name)
    response = login_as("manager").get(reverse("campaign_export", args=[finished.pk, kind]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == expected
    b"".join(response.streaming_content)  # read to the end: the Atoms stream closes
