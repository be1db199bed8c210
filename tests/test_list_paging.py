"""Paging as a list-pages probe found it: a page number below 1 or past the end (an old
link, an edited address) and the activity log's pages while new entries arrive."""

import re

import pytest
from django.urls import reverse

from campaigns import audit
from campaigns.models import AuditEntry, Campaign, SuppressedNumber
from tests.campaign_factory import campaign_rows

pytestmark = pytest.mark.django_db
CAMPAIGNS = reverse("campaign_list")
ACTIVITY = reverse("activity")


def names_on(response) -> list[str]:
    return [c.name for c in response.context["page"]]


@pytest.mark.parametrize("asked", ["0", "-1", "abc", ""])
def test_a_page_below_one_or_not_a_number_is_the_first(login_as, asked):
    """page=0 and page=-1 showed the last page (Django's get_page), unsaid."""
    campaign_rows(30)
    client = login_as("manager")
    response = client.get(CAMPAIGNS, {"page": asked})
    assert names_on(response) == names_on(client.get(CAMPAIGNS))
    assert response.context["page"].number == 1
    assert 'data-testid="past-end"' not in response.content.decode()


def test_a_page_past_the_end_shows_the_last_and_says_so(login_as):
    campaign_rows(30)
    response = login_as("manager").get(CAMPAIGNS, {"page": "999"})
    assert response.context["page"].number == 2 and len(names_on(response)) == 5
    assert "There is no page 999: this is the last page, 2 of 2." in response.content.decode()


def test_the_do_not_call_list_says_a_page_past_its_end(login_as, sim, atoms_settings):
    SuppressedNumber.objects.bulk_create(
        SuppressedNumber(phone_number=f"+4420794{n:05d}") for n in range(150))
    page = login_as("admin").get(reverse("suppression_list"), {"page": "7"}).content.decode()
    assert "There is no page 7: this is the last page, 2 of 2." in page
    assert page.count('data-testid="dnc-local"') == 50


def write_entries(actor, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        audit.record(actor, AuditEntry.Action.CREATE, AuditEntry.Outcome.OK,
                     campaign_name=f"entry {n:03d}")


def rows_of(html: str) -> list[str]:
    return re.findall(r"entry \d{3}", html)


def test_older_activity_pages_hold_still_while_new_entries_arrive(login_as, users):
    """A probe: entries arriving between page 1 and "Older →" pushed the rows along, and
    page 2 began with page 1's last row."""
    write_entries(users["staff"], 60)
    admin = login_as("admin")
    first = admin.get(ACTIVITY).content.decode()
    assert rows_of(first)[0] == "entry 059" and rows_of(first)[-1] == "entry 010"
    older = re.search(r'<a href="([^"]+)">Older →</a>', first).group(1).replace("&amp;", "&")

    write_entries(users["staff"], 3, start=60)
    second = admin.get(ACTIVITY + older).content.decode()
    assert rows_of(second) == [f"entry {n:03d}" for n in range(9, -1, -1)]
    assert "3 entries were written since this log was opened." in second
    newer = re.search(r'<a href="([^"]+)">← Newer</a>', second).group(1).replace("&amp;", "&")
    assert rows_of(admin.get(ACTIVITY + newer).content.decode())[0] == "entry 059"  # as it was
    # "Show the newest" (or the log opened afresh) has them.
    assert rows_of(admin.get(ACTIVITY).content.decode())[0] == "entry 062"


def test_an_edited_anchor_is_ignored(login_as, users):
    write_entries(users["staff"], 3)
    page = login_as("admin").get(ACTIVITY, {"upto": "x1", "page": "1"}).content.decode()
    assert rows_of(page) == ["entry 002", "entry 001", "entry 000"]


def test_later_campaign_pages_hold_still_while_campaigns_are_added(login_as):
    """A probe: five campaigns added between page 1 and "Next" pushed the rows along;
    page 2 began with page 1's last five, the new ones were never shown, and the note
    saying they were added went with page 1. Later pages are the list as first drawn."""
    campaign_rows(30)
    client = login_as("staff")
    first = client.get(CAMPAIGNS)
    assert names_on(first)[-1] == "Campaign 00005"
    html = first.content.decode()
    nxt = re.search(r'<a href="([^"]+)"[^>]*>Next →</a>', html).group(1).replace("&amp;", "&")
    Campaign.objects.bulk_create([Campaign(atoms_id=f"new{i:021x}", name=f"New {i}")
                                  for i in range(5)])
    second = client.get(CAMPAIGNS + nxt)
    assert names_on(second) == [f"Campaign {i:05d}" for i in range(4, -1, -1)]
    # Its stream counts the five from where the list was drawn, and the note's link drops
    # the anchor: "Show the list as it is now" has them.
    page = second.content.decode()
    upto = second.context["upto"]
    assert f"upto={upto}" in page.split('sse-connect="')[1].split('"')[0]
    now = re.search(r'data-added-note hidden>.*?<a href="([^"]+)"', page, re.S).group(1)
    assert "upto" not in now
    assert names_on(client.get(now.replace("&amp;", "&")))[:5] == [f"New {i}" for i in
                                                                  range(4, -1, -1)]


def test_the_campaign_list_leads_to_its_first_and_last_pages(login_as):
    campaign_rows(130)  # six pages
    client = login_as("manager")

    def links(page_number) -> dict[str, str]:
        html = client.get(CAMPAIGNS, {"page": page_number}).content.decode()
        nav = html.split('aria-label="Pages"')[1].split("</nav>")[0]
        return {text: href.replace("&amp;", "&")
                for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)}

    first = links(1)
    assert list(first) == ["Next →", "Last »"]
    assert names_on(client.get(CAMPAIGNS + first["Last »"])) == [
        f"Campaign {i:05d}" for i in range(4, -1, -1)]
    assert list(links(3)) == ["« First", "← Previous", "Next →", "Last »"]
    assert list(links(6)) == ["« First", "← Previous"]
    assert list(links(2)) == ["← Previous", "Next →", "Last »"]  # no First beside Previous
