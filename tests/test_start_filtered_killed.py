""""Start without them" when the web process making the copy is killed mid-way (SIGKILL,
while Atoms holds its answer): pressed again, it neither refuses as "already being
started" for ever nor leaves a second audience or campaign in Atoms. Its own module: it
runs its own web server, which it kills."""

import contextlib
import re
import signal
import threading
import time

import httpx
import pytest
from django.urls import reverse

from campaigns.connections import atoms_client
from campaigns.models import Campaign, SuppressedNumber
from dashboard.processes import session_cookie, start_web_server
from tests.campaign_factory import make_campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

AUDIENCE = "Pilot testers (without do-not-call, for “Spring renewals”)"
COPY = "Spring renewals (without do-not-call)"


def audiences_named_for_the_copy() -> list[str]:
    return [a.id for a in atoms_client().list_audiences() if a.name == AUDIENCE]


def copies_in_atoms() -> list[str]:
    return [c.id for c in atoms_client().iter_campaigns(search=COPY) if c.name == COPY]


def press_start_without_them(server, cookies: dict, campaign) -> threading.Thread:
    """The button, pressed in a browser whose request then waits on the server."""
    with httpx.Client(base_url=server.url, cookies=cookies) as browser:
        page = browser.get(reverse("campaign_detail", args=[campaign.pk])).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        cookies = dict(browser.cookies)

    def press():
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
            httpx.post(f"{server.url}{reverse('campaign_start_filtered', args=[campaign.pk])}",
                       data={"csrfmiddlewaretoken": token}, cookies=cookies,
                       headers={"Referer": server.url}, timeout=30)

    thread = threading.Thread(target=press)
    thread.start()
    return thread


@pytest.mark.parametrize(("route", "made"), [
    ("POST /audience", audiences_named_for_the_copy),
    ("POST /campaign", copies_in_atoms),
])
def test_start_without_them_after_the_web_process_was_killed_makes_one_of_each(
        simulator_process, sim, atoms_settings, users, login_as, route, made):
    draft = make_campaign(sim, users["staff"])
    pilot = next(a for a in atoms_client().list_audiences() if a.name == "Pilot testers")
    listed = atoms_client().all_audience_members(pilot.id)[0].data["phoneNumber"]
    SuppressedNumber.objects.create(phone_number=listed)
    server = start_web_server(simulator_process)
    try:
        # Atoms carries out `route` at once and holds its answer: the process dies waiting.
        sim.faults(drop_response_rate=1, timeout_seconds=20, fail_routes=[route])
        pressed = press_start_without_them(server, session_cookie(users["staff"]), draft)
        deadline = time.monotonic() + 20
        while not made():
            assert time.monotonic() < deadline, server.process.output()
            time.sleep(0.05)
        server.process.popen.send_signal(signal.SIGKILL)
        server.process.popen.wait()
        pressed.join()
    finally:
        server.stop()
        sim.clear_faults()

    again = login_as("staff").post(reverse("campaign_start_filtered", args=[draft.pk]),
                                   follow=True)

    copy = Campaign.objects.get(name=COPY)
    assert again.redirect_chain[-1][0] == reverse("campaign_detail", args=[copy.pk])
    assert copies_in_atoms() == [copy.atoms_id]
    assert audiences_named_for_the_copy() == [copy.audience_id]
    assert sim.calls_to("POST /campaign/{id}/start") == 1  # the copy's
