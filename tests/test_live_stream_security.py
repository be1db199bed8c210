"""/live/ enforces what pages enforce (it bypasses Django's middleware, so it must do it
itself): allowed hosts, the https redirect, the security headers, and a stream whose
session ends closes within one heartbeat."""

import asyncio
import time

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from dashboard.processes import start_web_server
from tests.published import server_said
from tests.sse_client import Stream
from tests.waiting import run_coroutine

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

HEARTBEAT = 2  # tests.plugins.servers runs uvicorn with SSE_HEARTBEAT_SECONDS=2


def signed_in(user) -> tuple[Client, dict[str, str]]:
    client = Client()
    client.force_login(user)
    return client, {settings.SESSION_COOKIE_NAME:
                    client.cookies[settings.SESSION_COOKIE_NAME].value}


def url_of(server, campaign) -> str:
    return f"{server.url}{reverse('live_stream')}?kind=detail&ids={campaign.pk}"


def test_a_host_not_allowed_is_refused_as_pages_refuse_it(web_server, running, users):
    _, cookies = signed_in(users["manager"])
    page = httpx.get(f"{web_server.url}/accounts/login/", headers={"Host": "evil.example"})
    stream = httpx.get(url_of(web_server, running), cookies=cookies,
                       headers={"Host": "evil.example"})
    assert (page.status_code, stream.status_code) == (400, 400)


@pytest.mark.parametrize("method", ["HEAD", "POST"])
def test_another_method_is_refused_with_the_one_allowed(web_server, running, users, method):
    _, cookies = signed_in(users["manager"])
    answer = httpx.request(method, url_of(web_server, running), cookies=cookies)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"  # required on a 405 (RFC 9110)


def test_the_stream_sends_the_security_headers(web_server, running, users):
    _, cookies = signed_in(users["manager"])
    stream = Stream(url_of(web_server, running), cookies)
    try:
        assert stream.status == 200
        assert stream.headers["x-content-type-options"] == "nosniff"
        assert stream.headers["x-frame-options"] == "DENY"
        assert stream.headers["referrer-policy"] == "same-origin"
        assert "camera=()" in stream.headers["permissions-policy"]
    finally:
        stream.close()


def test_with_https_on_plain_http_is_redirected(simulator_process, running, users):
    server = start_web_server(simulator_process, HTTPS="1")
    try:
        _, cookies = signed_in(users["manager"])
        answer = httpx.get(url_of(server, running), cookies=cookies)
        assert answer.status_code == 301
        assert answer.headers["location"].startswith("https://127.0.0.1:")
        assert answer.headers["location"].endswith(f"/live/?kind=detail&ids={running.pk}")
        assert "max-age=31536000" in answer.headers["strict-transport-security"]
    finally:
        server.process.stop()


SESSION_OVER = "live stream(s) whose session is over"


def test_signing_out_elsewhere_ends_the_open_stream_within_a_heartbeat(
        web_server, running, users):
    client, cookies = signed_in(users["manager"])
    stream = Stream(url_of(web_server, running), cookies)
    try:
        stream.next(event=f"detail-{running.pk}")
        said_before = server_said(web_server, SESSION_OVER)
        client.post(reverse("logout"))  # another tab of the same session signs out
        signed_out = time.monotonic()
        stream._thread.join(timeout=HEARTBEAT * 3)
        took = time.monotonic() - signed_out
        print(f"stream closed {took:.2f} s after sign-out (heartbeat {HEARTBEAT} s)")
        assert not stream._thread.is_alive(), "the stream kept going after sign-out"
        # One heartbeat, plus the scheduling slack of a busy machine.
        assert took < HEARTBEAT + 1.5, took
        # The server says why it ended a stream (a browser only sees it end).
        assert server_said(web_server, SESSION_OVER) > said_before
    finally:
        stream.close()


def test_deactivating_someone_anywhere_ends_their_open_stream_within_a_heartbeat(
        web_server, running, users, django_user_model):
    """Not only through the Users page (which deletes their sessions): in Django's admin or
    a shell too, where the session stays and only the account changes."""
    _, cookies = signed_in(users["manager"])
    stream = Stream(url_of(web_server, running), cookies)
    try:
        stream.next(event=f"detail-{running.pk}")
        django_user_model.objects.filter(pk=users["manager"].pk).update(is_active=False)
        deactivated = time.monotonic()
        stream._thread.join(timeout=HEARTBEAT * 3)
        assert not stream._thread.is_alive(), "the stream kept going after deactivation"
        assert time.monotonic() - deactivated < HEARTBEAT + 1.5
    finally:
        stream.close()


def test_the_streams_one_query_permission_check_agrees_with_has_perm(users):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from campaigns.live.stream import VIEW_PERMISSION, may_view

    people = get_user_model().objects
    no_role = people.create_user("nora-no-role", password="x-long-password-1")
    direct = people.create_user("dina-direct", password="x-long-password-1")
    direct.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    superuser = people.create_superuser("sue-super", password="x-long-password-1")
    gone = people.create_user("gil-gone", password="x-long-password-1", is_active=False)
    gone.groups.set(users["manager"].groups.all())
    everyone = [*users.values(), no_role, direct, superuser, gone]
    expected = {person.pk for person in everyone
                if people.get(pk=person.pk).has_perm(VIEW_PERMISSION)}
    assert may_view([person.pk for person in everyone]) == expected
    assert expected == {users["staff"].pk, users["manager"].pk, users["admin"].pk, direct.pk,
                        superuser.pk}


def test_one_person_holds_only_so_many_streams_and_a_closed_one_frees_its_place(
        simulator_process, running, users):
    """One session opened 800 streams, all held open by the web process; then a probe,
    capped per session, signed in again for 30 more each time."""
    server = start_web_server(simulator_process, LIVE_STREAMS_PER_PERSON="2",
                              SSE_HEARTBEAT_SECONDS="1")
    _, cookies = signed_in(users["manager"])
    _, second_session = signed_in(users["manager"])
    _, others = signed_in(users["staff"])
    streams = []
    try:
        streams += [Stream(url_of(server, running), cookies) for _ in range(2)]
        for stream in streams:
            stream.next(event=f"detail-{running.pk}")
        for session in (cookies, second_session):
            client = httpx.Client(cookies=session, timeout=5)
            refused = client.send(client.build_request("GET", url_of(server, running)),
                                  stream=True)
            refused.close()  # an admitted stream would never end: read its status alone
            assert refused.status_code == 429
        assert "close some tabs" in httpx.get(url_of(server, running), cookies=cookies).text
        streams.append(Stream(url_of(server, running), others))  # another person's own
        assert streams[-1].status == 200
        streams.pop(0).close()
        deadline = time.monotonic() + 10
        while (answer := Stream(url_of(server, running), second_session)).status != 200:
            answer.close()
            assert time.monotonic() < deadline, "the closed stream's place was not freed"
            time.sleep(0.2)
        streams.append(answer)
    finally:
        for stream in streams:
            stream.close()
        server.process.stop()


def test_streams_asked_for_all_at_once_are_capped_too(simulator_process, running, users):
    """A probe opened 150 streams of one person at once and every one got in (the cap 30):
    each saw the count as it was before any of them was counted."""
    server = start_web_server(simulator_process, LIVE_STREAMS_PER_PERSON="3")
    _, cookies = signed_in(users["manager"])

    async def all_at_once(count: int) -> list[int]:
        async with httpx.AsyncClient(cookies=cookies, timeout=15,
                                     limits=httpx.Limits(max_connections=count)) as client:
            answers = await asyncio.gather(*(
                client.send(client.build_request("GET", url_of(server, running)), stream=True)
                for _ in range(count)))
            for answer in answers:
                await answer.aclose()
            return [answer.status_code for answer in answers]

    try:
        statuses = run_coroutine(all_at_once(20))
    finally:
        server.process.stop()
    assert sorted(statuses) == [200] * 3 + [429] * 17
