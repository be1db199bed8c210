"""The role matrix: every campaign page and action, for anonymous, staff, manager, admin.

Buttons hidden from a role are only a courtesy: these tests post directly, as a forged
request would, and check that nothing changes in Atoms or in the database.
"""

import pytest
from django.urls import reverse

from campaigns.models import AuditEntry, Campaign
from tests.campaign_factory import campaign_row, form_data, make_campaign

pytestmark = pytest.mark.django_db

ALL = {"staff": 200, "manager": 200, "admin": 200}
CREATORS = {"staff": 200, "manager": 403, "admin": 200}
ADMINS = {"staff": 403, "manager": 403, "admin": 200}

PAGES = [
    ("campaign_list", {}, ALL),
    ("board", {}, ALL),
    ("campaign_new", {}, CREATORS),
    ("campaign_detail", {"pk": "draft"}, ALL),
    ("campaign_actions", {"pk": "draft"}, ALL),
    ("campaign_activity", {"pk": "draft"}, ALL),
    ("campaign_delete", {"pk": "draft"}, ADMINS),
    ("activity", {}, ADMINS),
    ("audience_list", {}, ALL),
    ("audience_new", {}, CREATORS),
    ("phone_number_list", {}, ALL),
    ("suppression_list", {}, ALL),
]


@pytest.fixture
def draft(sim, atoms_settings, users):
    """A draft row: pages and refusals read only the mirror, so no Atoms campaign is needed
    (the simulator is still there, for the create form's pickers and the request counts)."""
    return campaign_row(users["staff"], "draft")


@pytest.fixture
def atoms_draft(sim, atoms_settings, users):
    """A draft Atoms knows, for the cases where the action is allowed and reaches it."""
    return make_campaign(sim, users["staff"], "draft")


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
@pytest.mark.parametrize(("name", "kwargs", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_each_role_may_open_exactly_its_pages(login_as, draft, role, name, kwargs, expected):
    kwargs = {k: draft.pk if v == "draft" else v for k, v in kwargs.items()}
    response = login_as(role).get(reverse(name, kwargs=kwargs))
    assert response.status_code == expected[role]


@pytest.mark.parametrize(("role", "expected"), [("staff", 302), ("admin", 302),
                                                ("manager", 403)])
def test_start_is_for_staff_and_admins(login_as, sim, atoms_draft, role, expected):
    response = login_as(role).post(reverse("campaign_start", args=[atoms_draft.pk]))
    assert response.status_code == expected
    atoms_draft.refresh_from_db()
    assert (atoms_draft.pending_action == "start") == (expected == 302)


def test_the_forbidden_page_names_the_role_needed(login_as, draft):
    response = login_as("staff").post(reverse("campaign_pause", args=[draft.pk]))
    assert response.status_code == 403
    assert b"Pausing a campaign needs the admin role." in response.content


@pytest.mark.parametrize("action", ["campaign_start", "campaign_pause", "campaign_delete"])
def test_a_forged_post_from_a_manager_changes_nothing_in_atoms_or_the_db(
        login_as, sim, draft, action):
    before = sim.stats()["requests"]
    row_before = Campaign.objects.values().get(pk=draft.pk)

    response = login_as("manager").post(reverse(action, args=[draft.pk]),
                                        {"confirm_name": draft.name})

    assert response.status_code == 403
    assert sim.stats()["requests"] == before
    assert Campaign.objects.values().get(pk=draft.pk) == row_before
    entry = AuditEntry.objects.get(outcome="refused")
    assert entry.actor.username == "mia-manager"
    assert entry.campaign_id == draft.pk


def test_a_forged_create_from_a_manager_makes_no_campaign(login_as, sim, draft):
    data = form_data("Sneaky")
    before = sim.calls_to("POST /campaign")
    response = login_as("manager").post(reverse("campaign_new"), data)
    assert response.status_code == 403
    assert sim.calls_to("POST /campaign") == before
    assert not Campaign.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_pause_and_delete_are_for_admins_only(login_as, sim, atoms_settings, users, role):
    running = campaign_row(users["staff"], "running", name="Running one", contacts_called=1)
    client = login_as(role)
    assert client.post(reverse("campaign_pause", args=[running.pk])).status_code == 403
    assert client.post(reverse("campaign_delete", args=[running.pk]),
                       {"confirm_name": running.name}).status_code == 403
    running.refresh_from_db()
    assert running.pending_action == ""


def test_a_manager_sees_no_action_buttons(login_as, draft):
    html = login_as("manager").get(reverse("campaign_detail", args=[draft.pk])).content
    for label in (b">Start<", b">Pause<", b">Delete<", b"New campaign"):
        assert label not in html


def test_staff_see_start_but_not_delete(login_as, draft):
    html = login_as("staff").get(reverse("campaign_detail", args=[draft.pk])).content
    assert b">Start<" in html
    assert b">Delete<" not in html


def test_an_admin_sees_start_and_delete_on_a_draft(login_as, draft):
    html = login_as("admin").get(reverse("campaign_detail", args=[draft.pk])).content
    assert b">Start<" in html
    assert b">Delete<" in html


def test_an_unknown_campaign_is_a_404(login_as):
    assert login_as("admin").get(reverse("campaign_detail", args=[999999])).status_code == 404
