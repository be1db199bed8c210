"""Per-user limits on requests that call Atoms on demand; refusals audited once a burst."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns import ratelimit
from campaigns.live import sync
from campaigns.models import AuditEntry, Campaign
from tests.campaign_factory import make_campaign

pytestmark = pytest.mark.django_db

LIMIT = 5


@pytest.fixture
def limited(atoms_settings):
    atoms_settings.USER_ATOMS_REQUESTS_PER_MINUTE = LIMIT
    return atoms_settings


def atoms_calls(sim) -> int:
    return sum(sum(statuses.values()) for statuses in sim.stats()["by_route"].values())


def test_twenty_refreshes_cost_atoms_at_most_the_limit(login_as, sim, limited):
    manager = login_as("manager")
    manager.get(reverse("audience_list"))  # fill the cache once
    before = atoms_calls(sim)
    pages = [manager.get(reverse("audience_list") + "?refresh=1") for _ in range(20)]
    assert all(page.status_code == 200 for page in pages)
    per_refresh = 3  # agents, audiences, phone numbers
    assert atoms_calls(sim) - before <= LIMIT * per_refresh
    assert "Refreshed from Atoms too often" in pages[-1].content.decode()


def test_a_burst_astride_a_minutes_turn_gets_the_limit_not_twice_it(users, limited):
    """Fixed one-minute windows let five through just before the minute turned and five
    more just after (this is how the refresh test above once counted six refreshes)."""
    user, turn = users["manager"], 1_800_000_000.0  # a whole minute in epoch seconds
    before = [ratelimit.take(user, now=turn - 0.5 + i * 0.01) for i in range(LIMIT)]
    after = [ratelimit.take(user, now=turn + 0.5 + i * 0.01) for i in range(LIMIT)]
    assert before == [True] * LIMIT and after == [False] * LIMIT
    # A minute after the first of them, one more fits, and only one.
    assert ratelimit.take(user, now=turn - 0.5 + 60.001)
    assert not ratelimit.take(user, now=turn - 0.5 + 60.002)


def test_refused_requests_do_not_push_the_next_allowed_one_back(users, limited):
    user, start = users["manager"], 1_800_000_000.0
    assert all(ratelimit.take(user, now=start + i) for i in range(LIMIT))
    # Someone who keeps clicking all minute long...
    assert not any(ratelimit.take(user, now=start + LIMIT + i) for i in range(50))
    # ...gets through as soon as the first request is a minute old.
    assert ratelimit.take(user, now=start + 60.5)
    # Limits are per person and per kind of request.
    assert ratelimit.take(users["staff"], now=start + 30)
    assert ratelimit.take(user, "other", now=start + 30)


def test_a_burst_of_actions_is_refused_in_words_and_logged_once(login_as, sim, limited, users):
    campaign = make_campaign(sim, users["staff"], "running", audience_size=2)
    admin = login_as("admin")
    answers = [admin.post(reverse("campaign_pause", args=[campaign.pk])) for _ in range(12)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:LIMIT] == [302] * LIMIT and statuses[LIMIT:] == [429] * (12 - LIMIT)
    assert "Too many requests to Atoms in a minute" in answers[-1].content.decode()
    assert AuditEntry.objects.filter(action="throttled").count() == 1


def test_fifty_refused_starts_by_someone_without_the_role_are_one_activity_row(
        login_as, sim, atoms_settings, users):
    campaign = make_campaign(sim, users["staff"], "draft", audience_size=2)
    manager = login_as("manager")
    atoms_settings.USER_ATOMS_REQUESTS_PER_MINUTE = 1000
    answers = [manager.post(reverse("campaign_start", args=[campaign.pk])) for _ in range(50)]
    assert {answer.status_code for answer in answers} == {403}
    assert AuditEntry.objects.filter(outcome="refused").count() == 1


def test_someone_over_their_limit_is_told_the_role_they_lack_and_refusals_cost_nothing(
        login_as, sim, limited, users):
    """A start by someone without the role is refused before it could reach Atoms: it is
    told so (403, naming the role) whether or not they are over their limit, and does not
    use up the requests they may make."""
    campaign = make_campaign(sim, users["staff"], "draft", audience_size=2)
    manager = login_as("manager")
    refused = [manager.post(reverse("campaign_start", args=[campaign.pk])) for _ in range(12)]
    assert {answer.status_code for answer in refused} == {403}
    assert "needs the staff or admin role" in refused[-1].content.decode()
    audience = next(a for a in manager.get(reverse("audience_list")).context["pickers"].audiences)
    url = reverse("audience_detail", args=[audience.id])
    assert [manager.get(url).status_code for _ in range(LIMIT + 1)] == [200] * LIMIT + [429]
    # Over the limit now, and still told what they lack.
    assert manager.post(reverse("campaign_start", args=[campaign.pk])).status_code == 403


def test_a_drill_down_that_reads_atoms_on_every_view_counts_too(login_as, sim, limited):
    manager = login_as("manager")
    audience = next(a for a in manager.get(reverse("audience_list")).context["pickers"].audiences)
    url = reverse("audience_detail", args=[audience.id])
    before = atoms_calls(sim)
    answers = [manager.get(url).status_code for _ in range(LIMIT + 5)]
    assert answers == [200] * LIMIT + [429] * 5
    assert atoms_calls(sim) - before <= LIMIT * 2  # the audience, then its members
    assert AuditEntry.objects.filter(action="throttled").count() == 1


def test_over_the_limit_the_do_not_call_list_is_shown_without_atoms_part(
        login_as, sim, limited):
    """Adding numbers quickly ended on "Slow down" with no list and no word on the last
    addition (each one is a POST and the list's reload): the list is shown, ours in full,
    with Atoms' part left out and said so, and nothing read from Atoms for it."""
    sim.add_dnc("+12025557777")
    staff = login_as("staff")
    added = (LIMIT + 1) // 2  # an addition and its reload each count: the last reload is over
    for n in range(added):
        response = staff.post(reverse("suppression_add"),
                              {"phone_number": f"+1415555{n:04d}", "region": "US"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"+1415555{added - 1:04d} is on the do-not-call list" in page  # the last addition
    assert page.count('data-testid="dnc-local"') == added
    assert 'data-testid="dnc-remote-limited"' in page and "+12025557777" not in page
    before = sim.calls_to("GET /dnc")
    assert staff.get(reverse("suppression_list")).status_code == 200
    assert sim.calls_to("GET /dnc") == before


@pytest.mark.parametrize("view", ["campaign_call", "call_recording", "campaign_export"])
def test_the_call_drill_downs_count_too(login_as, sim, limited, view):
    sync.sync_campaign_list()
    finished = Campaign.objects.get(name="Mumbai leads - first touch")
    manager = login_as("manager")
    log = manager.get(reverse("campaign_calls", args=[finished.pk])).content.decode()
    call_id = "CALL-" + log.split("/calls/CALL-")[1].split("/")[0]
    args = [finished.pk, "logs"] if view == "campaign_export" else [finished.pk, call_id]
    url = reverse(view, args=args)
    answers = [manager.get(url).status_code for _ in range(LIMIT + 2)]
    assert answers == [200] * (LIMIT - 1) + [429] * 3  # the call log read first counted one


def test_the_call_log_counts_each_page_it_reads_from_atoms_not_each_view(
        login_as, sim, limited):
    """Every new page number or filter asks Atoms and counts; the table refreshing itself
    finds its page cached and costs nothing, so watching it is never refused."""
    sync.sync_campaign_list()
    finished = Campaign.objects.get(name="Mumbai leads - first touch")
    manager = login_as("manager")
    url = reverse("campaign_calls", args=[finished.pk])
    answers = [manager.get(f"{url}?page={n}&size=25").status_code for n in range(1, LIMIT + 3)]
    assert answers == [200] * LIMIT + [429] * 2
    assert [manager.get(f"{url}?page=1&size=25").status_code for _ in range(3)] == [200] * 3


def test_a_refused_drill_down_opened_in_place_gets_the_sentence_alone(login_as, sim, limited):
    manager = login_as("manager")
    audience = next(a for a in manager.get(reverse("audience_list")).context["pickers"].audiences)
    url = reverse("audience_detail", args=[audience.id])
    for _ in range(LIMIT):
        manager.get(url)
    refused = manager.get(url, headers={"HX-Request": "true"})
    html = refused.content.decode()
    assert refused.status_code == 429 and "<html" not in html
    assert "Too many requests to Atoms in a minute" in html and 'role="alert"' in html


def test_forms_that_never_reach_atoms_do_not_count_against_its_limit(login_as, limited,
                                                                      users):
    """An admin adding webhooks (or people) was refused as "too many requests to Atoms"
    on the 31st form of a busy minute, losing what they had typed."""
    admin = login_as("admin")
    answers = [admin.post(reverse("alert_routing"), {"name": f"Team {n}", "url": "not a url"})
               for n in range(LIMIT + 3)]
    assert [answer.status_code for answer in answers] == [422] * (LIMIT + 3)
    assert 'value="Team 7"' in answers[-1].content.decode()  # what was typed, kept
    people = [admin.post(reverse("user_list"), {"username": f"new {n}", "password1": "x"})
              for n in range(LIMIT + 1)]
    assert {answer.status_code for answer in people} == {400}
    assert admin.post(reverse("password_change"), {"old_password": ""}).status_code == 422
    assert all(ratelimit.take(users["admin"]) for _ in range(LIMIT))  # none was counted


@pytest.mark.parametrize("page", ["preflight", "audience_delete"])
def test_pages_that_read_atoms_on_every_visit_count_too(login_as, sim, limited, users, page):
    staff = login_as("staff")
    if page == "preflight":
        url = reverse("campaign_preflight", args=[make_campaign(sim, users["staff"]).pk])
    elif page == "audience_delete":
        audience = next(a for a in staff.get(reverse("audience_list")).context["pickers"]
                        .audiences)
        url = reverse("audience_delete", args=[audience.id])
    else:
        url = reverse("suppression_list")
    answers = [staff.get(url).status_code for _ in range(LIMIT + 2)]
    assert answers[-2:] == [429, 429] and 429 not in answers[:LIMIT - 2]


def test_a_form_refused_for_too_many_requests_keeps_what_was_typed(login_as, sim, limited,
                                                                   users):
    """The 21st "Create campaign" of a minute replaced the whole form with "Slow down a
    little", and everything typed was gone (Back gave the browser's resubmit page)."""
    staff = login_as("staff")
    for _ in range(LIMIT):
        assert ratelimit.take(users["staff"])
    typed = {"name": "Spring renewals wave 2", "description": "Ask about the upgrade",
             "max_retries": "4", "retry_delay": "20"}
    refused = staff.post(reverse("campaign_new"), typed, HTTP_ORIGIN="http://testserver")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many requests to Atoms in a minute" in page
    for value in typed.values():
        assert f'value="{value}"' in page
    assert f'action="{reverse("campaign_new")}"' in page and "Send again" in page
    # What the person typed is listed in words; the form's own fields go back unlisted.
    assert "<dt>Name</dt><dd>Spring renewals wave 2" in page
    assert "<dt>Retry delay (minutes)</dt><dd>20" in page  # the form's label, not its name
    with_ids = staff.post(reverse("campaign_new"), {**typed, "token": str(uuid.uuid4()),
                                                    "agent": "a" * 24},
                          HTTP_ORIGIN="http://testserver").content.decode()
    assert "<dt>Token</dt>" not in with_ids and 'name="token"' in with_ids
    assert "<dd>(as chosen in the form)" in with_ids and f"<dd>{'a' * 24}" not in with_ids
    # Posted from elsewhere, nothing comes back as a working form.
    forged = staff.post(reverse("campaign_new"), typed, HTTP_ORIGIN="https://evil.example")
    assert forged.status_code == 429 and "Send again" not in forged.content.decode()


def test_a_refused_upload_says_its_file_must_be_chosen_again(login_as, limited, users):
    """A file cannot be handed back in a page: it was dropped without a word, and "Send
    again" then asked for it."""
    staff = login_as("staff")
    while ratelimit.take(users["staff"]):
        pass
    refused = staff.post(reverse("audience_new"),
                         {"name": "Winter leads", "file": SimpleUploadedFile(
                             "c.csv", b"phone\n+14155550100\n")},
                         HTTP_ORIGIN="http://testserver")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert 'value="Winter leads"' in page
    assert 'data-testid="file-not-kept"' in page


def test_saving_calling_hours_does_not_count_against_the_atoms_limit(login_as, sim, limited,
                                                                    users):
    """Saving calling hours only writes our database (the beat asks Atoms at the windows'
    edges), yet a probe's 26th quick save in a minute was refused as "Too many requests to
    Atoms… Wait a minute". Forty saves in a row go through, and a pause still counts."""
    running = make_campaign(sim, users["staff"], "running", audience_size=2)
    url = reverse("campaign_calling_hours", args=[running.pk])
    admin = login_as("admin")
    answers = [admin.post(url, {"zone": "Europe/London", "windows": f"Mon 09:00-1{n % 8}:00"})
               for n in range(40)]
    assert [answer.status_code for answer in answers] == [302] * 40
    running.refresh_from_db()
    assert running.calling_hours["windows"] == [{"days": [0], "from": "09:00", "to": "17:00"}]
    # None was counted: the whole limit is left for what does reach Atoms, and no more.
    pauses = [admin.post(reverse("campaign_pause", args=[running.pk])).status_code
              for _ in range(LIMIT + 1)]
    assert pauses == [302] * LIMIT + [429]
