"""A campaign deleted while a poll is in flight costs the others nothing: the tick's
results are applied campaign by campaign where they must be."""

import pytest
from django.utils import timezone

from campaigns.connections import atoms_client
from campaigns.live import poll
from campaigns.models import Campaign, MetricSnapshot
from tests.campaign_factory import make_campaign
from tests.published import Published

pytestmark = pytest.mark.django_db


def test_deleting_a_campaign_mid_poll_never_discards_the_others(sim, atoms_settings, users):
    gone = make_campaign(sim, users["staff"], "running", name="Deleted meanwhile",
                         audience_size=50)
    kept = make_campaign(sim, users["staff"], "running", name="Still here", audience_size=50)
    sim.advance(600)  # both have new numbers: each result carries a snapshot
    campaigns = list(Campaign.objects.filter(pk__in=[gone.pk, kept.pk]))
    results = [(atoms_client().get_campaign(c.atoms_id), None) for c in campaigns]
    Campaign.objects.filter(pk=gone.pk).delete()  # a user deleted it while we fetched
    published = Published()
    before = MetricSnapshot.objects.filter(campaign=kept).count()

    poll.apply_results(list(zip(campaigns, results, strict=True)), timezone.now())

    kept.refresh_from_db()
    assert kept.contacts_called > 0
    assert MetricSnapshot.objects.filter(campaign=kept).count() == before + 1
    assert not MetricSnapshot.objects.filter(campaign_id=gone.pk).exists()
    assert [m["campaign"] for m in published.changes()] == [kept.pk]
