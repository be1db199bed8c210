"""The campaign list: what it shows, search, filter, sort, pages, and a query count that
does not grow with the number of campaigns."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.live import sync
from campaigns.models import AuditEntry, Campaign
from tests.campaign_factory import campaign_rows

pytestmark = pytest.mark.django_db
URL = reverse("campaign_list")


def names_on(response) -> list[str]:
    return [c.name for c in response.context["page"]]


def test_the_empty_list_tells_staff_how_to_begin(login_as):
    page = login_as("staff").get(URL).content.decode()
    assert "No campaigns yet" in page
    assert "Create your first campaign" in page


def test_the_empty_list_tells_managers_what_will_appear(login_as):
    page = login_as("manager").get(URL).content.decode()
    assert "No campaigns yet" in page and "Create your first campaign" not in page


def test_rows_show_name_status_agent_audience_counts_and_dates(login_as):
    Campaign.objects.create(atoms_id="a" * 24, name="Renewals", status="running",
                            agent_name="Riya", audience_name="March leads",
                            total_participants=50, contacts_called=20, contacts_connected=7)
    page = login_as("manager").get(URL).content.decode()
    for text in ("Renewals", ">Running<", "Riya", "March leads", "20 / 7 / 50"):
        assert text in page


def test_search_filter_and_sort(login_as):
    for name, status in [("Alpha", "draft"), ("Beta", "running"), ("Alphabet", "paused")]:
        Campaign.objects.create(atoms_id=name.lower().ljust(24, "0"), name=name, status=status)
    client = login_as("staff")
    assert names_on(client.get(URL, {"q": "alpha"})) == ["Alphabet", "Alpha"]
    assert names_on(client.get(URL, {"status": "running"})) == ["Beta"]
    assert names_on(client.get(URL, {"sort": "created_asc"})) == ["Alpha", "Beta", "Alphabet"]
    nothing = client.get(URL, {"q": "zzz"}).content.decode()
    assert "No campaigns match" in nothing


def test_an_htmx_filter_request_gets_only_the_results(login_as):
    campaign_rows(3)
    response = login_as("staff").get(URL, {"q": "Campaign"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="results">')
    assert "<html" not in page


def test_a_bad_filter_value_is_ignored_not_a_crash(login_as):
    campaign_rows(2)
    response = login_as("staff").get(URL, {"status": "<bogus>", "sort": "drop table",
                                           "page": "-4"})
    assert response.status_code == 200
    assert len(names_on(response)) == 2


def test_a_bad_filter_value_drops_only_itself_not_the_search(login_as):
    for name in ("Alpha", "Beta"):
        Campaign.objects.create(atoms_id=name.lower().ljust(24, "0"), name=name)
    client = login_as("staff")
    assert names_on(client.get(URL, {"q": "alpha", "status": "zzz"})) == ["Alpha"]
    assert names_on(client.get(URL, {"q": "beta", "sort": "zzz"})) == ["Beta"]


def test_pages_of_25(login_as):
    campaign_rows(60)
    client = login_as("staff")
    first = client.get(URL)
    third = client.get(URL, {"page": 3})
    assert len(names_on(first)) == 25 and len(names_on(third)) == 10
    assert "Page 1 of 3 · 60 campaigns" in first.content.decode()


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_ten_thousand_campaigns_cost_the_same_queries_as_ten(login_as):
    client = login_as("staff")
    campaign_rows(10)
    with_ten = count_queries(client)
    Campaign.objects.all().delete()
    campaign_rows(10_000)
    assert count_queries(client) == with_ten


def test_sync_mirrors_campaigns_made_elsewhere_and_marks_deleted_ones(sim, atoms_settings):
    gone = Campaign.objects.create(atoms_id="f" * 24, name="Deleted in the console",
                                   status="draft")
    report = sync.sync_campaign_list()
    assert report.error == ""
    assert report.added == report.seen >= 3
    statuses = set(Campaign.objects.exclude(pk=gone.pk).values_list("status", flat=True))
    assert {"draft", "paused", "completed"} <= statuses
    gone.refresh_from_db()
    assert gone.deleted_remotely_at is not None
    assert sync.sync_campaign_list().added == 0  # idempotent


def test_a_campaign_the_sync_finds_deleted_no_longer_offers_start_on_its_page(
        sim, atoms_settings, users, login_as):
    """A probe: the campaign's page said "Deleted in Atoms: nothing more can be done here"
    and, below it, from the live fragment cached before, "You can ask again. Not started
    yet: press Start when it is ready"."""
    draft = Campaign.objects.create(atoms_id="d" * 24, name="Deleted elsewhere",
                                    status="draft", created_by=users["staff"],
                                    lapsed_action="start")
    staff = login_as("staff")
    url = reverse("campaign_detail", args=[draft.pk])
    assert "press Start when it is ready" in staff.get(url).content.decode()  # cached now
    sync.sync_campaign_list()  # Atoms has never heard of it: a 404, so deleted there
    page = staff.get(url).content.decode()
    assert "Deleted in Atoms: nothing more will be dialled" in page
    assert "press Start" not in page and "You can ask again" not in page
    assert 'data-testid="remove-deleted"' not in page  # staff may not delete


def test_an_admin_takes_a_campaign_deleted_in_atoms_off_the_dashboard(
        sim, atoms_settings, users, login_as):
    """A delete Atoms carried out after the dashboard stopped waiting left its row for
    good: "Deleted in Atoms: nothing more can be done here", and no way to remove it."""
    gone = Campaign.objects.create(atoms_id="d" * 24, name="Deleted late", status="running",
                                   deleted_remotely_at=timezone.now())
    admin = login_as("admin")
    page = admin.get(reverse("campaign_detail", args=[gone.pk])).content.decode()
    remove = f'href="{reverse("campaign_delete", args=[gone.pk])}" data-testid="remove-deleted"'
    assert remove in page
    form = admin.get(reverse("campaign_delete", args=[gone.pk])).content.decode()
    assert 'data-testid="pause-first"' not in form  # its last status was "running"
    assert "It is already deleted in Atoms: this takes it off the dashboard" in form
    assert "deletes the campaign and its execution history in Atoms" not in form
    response = admin.post(reverse("campaign_delete", args=[gone.pk]),
                          {"confirm_name": "Deleted late"})
    assert response["Location"] == reverse("campaign_list")
    assert not Campaign.objects.filter(pk=gone.pk).exists()
    assert AuditEntry.objects.get(action="delete").message == (
        "Atoms no longer had it; removed here")


def test_a_failed_sync_marks_nothing_deleted(sim, atoms_settings):
    kept = Campaign.objects.create(atoms_id="e" * 24, name="Still here", status="draft")
    sim.faults(fail_routes=["GET /campaign"])
    report = sync.sync_campaign_list()
    assert report.error
    kept.refresh_from_db()
    assert kept.deleted_remotely_at is None


def test_sort_by_name_status_progress_and_connect_rate(login_as):
    Campaign.objects.bulk_create([
        Campaign(atoms_id="a" * 24, name="bravo", status="running", total_participants=10,
                 contacts_called=5, contacts_connected=1),
        Campaign(atoms_id="b" * 24, name="Alpha", status="paused", total_participants=10,
                 contacts_called=9, contacts_connected=3),
        Campaign(atoms_id="c" * 24, name="Charlie", status="draft", total_participants=0),
        Campaign(atoms_id="d" * 24, name="delta", status="completed", total_participants=4,
                 contacts_called=1, contacts_connected=1),
    ])
    client = login_as("staff")
    assert names_on(client.get(URL, {"sort": "name"})) == ["Alpha", "bravo", "Charlie", "delta"]
    # The most active first, as the board reads (it was alphabetical: Completed, Draft…).
    assert names_on(client.get(URL, {"sort": "status"})) == [
        "bravo", "Alpha", "Charlie", "delta"]
    # Nothing to call yet sorts last, not first.
    assert names_on(client.get(URL, {"sort": "progress"})) == [
        "Alpha", "bravo", "delta", "Charlie"]
    assert names_on(client.get(URL, {"sort": "connect_rate"})) == [
        "delta", "Alpha", "bravo", "Charlie"]
    page = client.get(URL).content.decode()
    for label in ("Name (A to Z)", "Status", "Most progress", "Best connect rate"):
        assert label in page


def test_last_modified_is_when_atoms_last_changed_it_not_when_our_copy_was_saved(login_as):
    """A seeded campaign Atoms last changed three days ago read "modified" at the minute of
    the dashboard's last check, and sorted so."""
    from datetime import timedelta

    now = timezone.now()
    old = Campaign.objects.create(atoms_id="a" * 24, name="Old", status="completed",
                                  remote_updated_at=now - timedelta(days=3))
    Campaign.objects.create(atoms_id="b" * 24, name="Recent", status="running",
                            remote_updated_at=now - timedelta(hours=1))
    old.save()  # our copy saved just now (a poll confirming nothing changed)
    client = login_as("staff")
    assert names_on(client.get(URL, {"sort": "modified"})) == ["Recent", "Old"]
    row = client.get(URL).content.decode().split("Old</a>")[1].split("</tr>")[0]
    assert (now - timedelta(days=3)).isoformat()[:16] in row


def test_a_scheduled_row_listens_for_its_start(login_as):
    """A campaign scheduled for later starts by itself: its row must hear of it without a
    reload (it said "Scheduled" long after it started)."""
    from datetime import timedelta

    from django.utils import timezone

    later = Campaign.objects.create(atoms_id="e" * 24, name="Later", status="scheduled",
                                    scheduled_at=timezone.now() + timedelta(days=1))
    done = Campaign.objects.create(atoms_id="f" * 24, name="Done", status="completed")
    page = login_as("staff").get(URL).content.decode()
    assert f'sse-swap="row-{later.pk}"' in page and f"ids={later.pk}" in page
    assert f'sse-swap="row-{done.pk}"' not in page


def test_a_filter_left_out_says_so_beside_the_results(login_as):
    """An edited address with a 240-character search listed every campaign, the box still
    holding the search and pointing (aria-describedby) at an error that was not there."""
    for name in ("Alpha", "Beta"):
        Campaign.objects.create(atoms_id=name.lower().ljust(24, "0"), name=name)
    response = login_as("staff").get(URL, {"q": "x" * 240})
    page = response.content.decode()
    assert names_on(response) == ["Beta", "Alpha"]
    assert 'aria-describedby="id_q_error"' in page and 'id="id_q_error"' in page
    assert "Search by name: Ensure this value has at most 200 characters" in page
    assert "That filter was left out of what is listed." in page


@pytest.mark.parametrize(("q", "status"), [("", ""), ("spring", ""), ("SPRING ", ""),
                                           ("", "running"), ("ren", "draft"), ("zz", "")])
def test_a_list_and_the_live_note_of_campaigns_added_agree_on_what_a_list_shows(q, status):
    """The stream tells a list of a campaign added by its name and status (is_listed); the
    list itself asks the database (listed_q): the same campaigns each time."""
    from campaigns.models import is_listed, listed_q
    from tests.campaign_factory import campaign_row

    for name, state in [("Spring renewals", "running"), ("spring Leads", "draft"),
                        ("Renewals Q4", "draft"), ("Zoë Ñúñez", "paused")]:
        campaign_row(name=name, status=state)
    in_database = set(Campaign.objects.filter(listed_q(q, status)).values_list("name", flat=True))
    in_memory = {c.name for c in Campaign.objects.all() if is_listed(c.name, c.status, q, status)}
    assert in_database == in_memory


def added_link(response) -> str:
    note = response.content.decode().split('data-testid="added-note"')[1]
    return note.split('href="')[1].split('"')[0].replace("&amp;", "&")


@pytest.mark.parametrize(("query", "shows"), [
    ({"page": "2"}, f"{URL}?"),  # newest first: page 1, where new ones lead
    ({"page": "2", "sort": "created"}, f"{URL}?sort=created"),
    ({"page": "2", "sort": "name", "q": "Campaign"}, f"{URL}?page=2&sort=name&q=Campaign"),
])
def test_showing_campaigns_added_since_keeps_the_page_unless_new_ones_lead(
        login_as, query, shows):
    """Sorted by name on page 3, "Show the list as it is now" went to page 1: their
    place lost, and the new campaigns no likelier there than anywhere."""
    campaign_rows(30)
    assert added_link(login_as("manager").get(URL, query)) == shows
