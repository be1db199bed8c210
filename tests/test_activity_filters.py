"""The activity log found by campaign and by person: with action and outcome alone, what
happened to one campaign meant paging through 50 entries a page (a probe)."""

import pytest
from django.urls import reverse

from campaigns import audit
from campaigns.models import AuditEntry

pytestmark = pytest.mark.django_db
ACTIVITY = reverse("activity")


@pytest.fixture
def entries(users):
    for actor, name, atoms_id in ((users["staff"], "Mumbai leads", "a" * 24),
                                  (users["admin"], "Mumbai leads", "a" * 24),
                                  (users["staff"], "Delhi renewals", "b" * 24),
                                  ("calling hours", "Pune callbacks", "c" * 24)):
        audit.record(actor, AuditEntry.Action.START, AuditEntry.Outcome.OK,
                     campaign_name=name, atoms_id=atoms_id)


def shown(client, **filters) -> list[tuple[str, str]]:
    page = client.get(ACTIVITY, filters)
    return [(e.actor_name, e.campaign_name) for e in page.context["page"]]


def test_the_log_is_found_by_campaign_name_or_atoms_id_and_by_who(login_as, entries, users):
    admin = login_as("admin")
    assert shown(admin, campaign="mumbai") == [("ada-admin", "Mumbai leads"),
                                              ("sam-staff", "Mumbai leads")]
    assert shown(admin, campaign="b" * 24) == [("sam-staff", "Delhi renewals")]
    assert shown(admin, who="STAFF") == [("sam-staff", "Delhi renewals"),
                                        ("sam-staff", "Mumbai leads")]
    assert shown(admin, who="calling", campaign=" pune ") == [("calling hours",
                                                              "Pune callbacks")]
    assert shown(admin, who="staff", campaign="pune") == []
    page = admin.get(ACTIVITY, {"who": "staff", "campaign": "pune"}).content.decode()
    assert "Nothing matches these filters" in page
    assert 'value="pune"' in page and 'value="staff"' in page  # kept as typed
