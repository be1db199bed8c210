"""Changes made from the dashboard itself reach every open page at once."""

import pytest
from django.urls import reverse

from tests.campaign_factory import make_campaign
from tests.published import Published

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_start_click_publishes_the_starting_state_to_every_page(login_as, sim,
                                                                 atoms_settings, users):
    draft = make_campaign(sim, users["staff"], "draft")
    published = Published()
    login_as("staff").post(reverse("campaign_start", args=[draft.pk]))
    # Once at the click, before Atoms is asked (a slow answer must not leave pages saying
    # "press Start"), and once with Atoms' answer.
    at_click, answered = [m for m in published.changes() if m["campaign"] == draft.pk]
    for change in (at_click, answered):
        assert change["status_changed"]
        assert 'data-testid="pending">Starting…<' in change["fragments"]["detail"]
        assert "Starting…" in change["fragments"]["card"]
    assert "Atoms has accepted the request" in answered["fragments"]["detail"]
    assert "Atoms has accepted the request" not in at_click["fragments"]["detail"]


def test_a_refused_start_publishes_the_released_state(login_as, sim, atoms_settings, users):
    from campaigns.connections import atoms_client

    draft = make_campaign(sim, users["staff"], "draft")
    atoms_client().start_campaign(draft.atoms_id)  # Atoms will refuse a second start
    published = Published()
    login_as("staff").post(reverse("campaign_start", args=[draft.pk]))
    *_, released = [m for m in published.changes() if m["campaign"] == draft.pk]
    assert "Starting…" not in released["fragments"]["detail"]


def test_a_delete_tells_open_pages_and_drops_the_cached_fragments(login_as, sim,
                                                                 atoms_settings, users):
    from campaigns.connections import redis_client
    from campaigns.live import publish

    draft = make_campaign(sim, users["staff"], "draft", name="Short lived")
    publish.cached_fragments([draft], "card")  # a page has cached it
    published = Published()
    login_as("admin").post(reverse("campaign_delete", args=[draft.pk]),
                           {"confirm_name": "Short lived"})
    [change] = published.changes()
    assert (change["campaign"], change["status"]) == (draft.pk, "deleted")
    assert "“Short lived” has been deleted." in change["fragments"]["detail"]
    assert redis_client().get(publish.fragment_key(draft.pk, "card")) is None
