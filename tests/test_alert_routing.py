"""Alert routing: each person told of what an admin chose (or their role's default), and
teams' webhooks posted Slack's JSON once per episode, over real HTTP to a real receiver,
retried with backoff while it fails, given up when it refuses, every failure shown."""

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from campaigns import alerts, webhooks
from campaigns.models import (
    Alert,
    AlertChoice,
    AlertWebhook,
    AuditEntry,
    Notification,
    WebhookDelivery,
)
from dashboard.processes import free_port
from tests.campaign_factory import campaign_row

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver on this machine: records each body, answers the planned statuses
    in turn (then 200), optionally slowly."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.hosts: list[str] = []  # each post's Host header
        self.answers: list[int] = []
        self.delay = 0.0
        self.error_body = b"no_service"  # the body of an answer other than 200
        self.error_phrase: str | None = None  # its reason phrase; None: the usual one
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.bodies.append(json.loads(body))
                receiver.hosts.append(self.headers["Host"])
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status, None if status == 200 else receiver.error_phrase)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else receiver.error_body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_MAY_REACH_PRIVATE_ADDRESSES = True  # it listens on this machine
    server = Receiver()
    yield server
    server.close()


def open_alert(campaign, kind: str = "completed") -> Alert:
    alert = Alert.objects.create(campaign=campaign, kind=kind,
                                 message=f"“{campaign.name}” {kind}.")
    alerts.notify(alert)
    return alert


def hook(url: str, *kinds: str, name: str = "Sales on Slack") -> AlertWebhook:
    return AlertWebhook.objects.create(name=name, url=url, kinds=list(kinds))


def delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.get()


def test_each_alert_is_posted_once_to_each_webhook_that_wants_its_kind(receiver, users,
                                                                       settings):
    settings.SITE_URL = "https://campaigns.example.com/"
    campaign = campaign_row(users["staff"], "completed")
    hook(receiver.url, name="Everything")
    hook(receiver.url, "stalled", name="Stalls only")
    open_alert(campaign, "completed")
    assert webhooks.deliver_due() == {"sent": 1, "retrying": 0, "failed": 0}
    assert receiver.bodies == [{"text": f"*Finished*: “Spring renewals” completed. "
                                        f"<https://campaigns.example.com/campaigns/"
                                        f"{campaign.pk}/|Open the campaign>"}]
    # The same episode told again (a second worker, a rerun) posts nothing more.
    alerts.notify(Alert.objects.get())
    assert webhooks.deliver_due() == {"sent": 0, "retrying": 0, "failed": 0}
    assert len(receiver.bodies) == 1


def test_a_failing_receiver_is_retried_with_growing_waits_until_it_takes_it(receiver, users):
    receiver.answers = [500, 429]
    hook(receiver.url)
    open_alert(campaign_row(users["staff"], "completed"))
    start = timezone.now()
    assert webhooks.deliver_due(start)["retrying"] == 1
    first = delivery()
    assert (first.attempts, first.last_error) == (1, "The receiver answered 500 Internal "
                                                     "Server Error.")
    assert first.next_attempt_at == start + timedelta(seconds=webhooks.BACKOFF[0])

    # Not before its time; then the 429 waits longer; then it is taken.
    assert webhooks.deliver_due(start + timedelta(seconds=29))["retrying"] == 0
    second_try = start + timedelta(seconds=30)
    assert webhooks.deliver_due(second_try)["retrying"] == 1
    assert delivery().next_attempt_at == second_try + timedelta(seconds=webhooks.BACKOFF[1])
    assert webhooks.deliver_due(second_try + timedelta(seconds=120))["sent"] == 1
    done = delivery()
    assert (done.state, done.attempts, done.last_error) == ("sent", 3, "")
    assert len(receiver.bodies) == 3


def test_a_receiver_that_never_recovers_is_given_up_after_the_last_wait(receiver, users):
    receiver.answers = [503] * 10
    hook(receiver.url)
    open_alert(campaign_row(users["staff"], "completed"))
    now = timezone.now()
    for wait in (0, *webhooks.BACKOFF):
        now += timedelta(seconds=wait)
        webhooks.deliver_due(now)
    gave_up = delivery()
    assert (gave_up.state, gave_up.attempts) == ("failed", len(webhooks.BACKOFF) + 1)
    webhooks.deliver_due(now + timedelta(days=1))
    assert len(receiver.bodies) == len(webhooks.BACKOFF) + 1


def test_a_refusal_is_given_up_at_once_and_admins_see_why(receiver, users, login_as):
    receiver.answers = [404]
    hook(receiver.url)
    dead_port = free_port()
    hook(f"http://127.0.0.1:{dead_port}/hook", name="Ops relay")
    open_alert(campaign_row(users["staff"], "completed"))
    assert webhooks.deliver_due() == {"sent": 0, "retrying": 1, "failed": 1}

    admin = login_as("admin")
    listing = admin.get(reverse("notification_list")).content.decode()
    assert "2 webhook deliveries are failing" in listing
    page = admin.get(reverse("alert_routing")).content.decode()
    assert "Gave up</strong> to Sales on Slack: Finished, “Spring renewals”, 1 try. " \
           "Last error: The receiver answered 404 Not Found." in page
    assert "Retrying</strong> to Ops relay" in page
    assert ("Could not connect to 127.0.0.1: nothing answered there, or it refused the "
            "connection.") in page and "Errno" not in page
    # Times under a minute in words, not "0 minutes" (a retry in 30 s, an alert just opened).
    assert "Next try in under a minute" in page and "0 minutes" not in page
    assert "just now" in listing and "0 minutes" not in listing


def test_a_receivers_error_text_is_not_shown_only_its_status(receiver, users, login_as):
    """The routing page showed the first 200 characters of a failing receiver's body
    ("HTTP 500: {"error": ...}"): a URL pointed at an internal service made its error text
    readable there. Only the status and its usual name are kept; the phrase the receiver
    sent is not trusted either."""
    receiver.answers = [500]
    receiver.error_body = b'{"error": "AUTH failed for user billing", "host": "10.0.0.7"}'
    receiver.error_phrase = "Database 10.0.0.7 refused billing"
    hook(receiver.url)
    open_alert(campaign_row(users["staff"], "completed"))
    assert webhooks.deliver_due()["retrying"] == 1
    assert delivery().last_error == "The receiver answered 500 Internal Server Error."
    page = login_as("admin").get(reverse("alert_routing")).content.decode()
    assert "Last error: The receiver answered 500 Internal Server Error." in page
    assert "10.0.0.7" not in page and "billing" not in page


def test_each_delivery_error_on_the_page_ends_with_one_full_stop(receiver, users, login_as):
    """The page read "…or it refused the connection.. Next try in under a minute": the
    reason kept its own stop and the page added another. Reasons kept with a stop and
    without one (as "No answer within 5 s") both read as one sentence each."""
    hook(f"http://127.0.0.1:{free_port()}/hook", name="Ops relay")  # nothing listens
    receiver.delay = webhooks.TIMEOUT_SECONDS + 0.5
    hook(receiver.url, name="Slow relay")
    open_alert(campaign_row(users["staff"], "completed"))
    assert webhooks.deliver_due()["retrying"] == 2
    page = login_as("admin").get(reverse("alert_routing")).content.decode()
    assert ("Last error: Could not connect to 127.0.0.1: nothing answered there, or it "
            "refused the connection. Next try in under a minute.") in page
    assert (f"Last error: No answer within {webhooks.TIMEOUT_SECONDS} s. "
            "Next try in under a minute.") in page
    assert ".." not in page.split('data-testid="deliveries"')[1].split("</ul>")[0]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_post_a_delivery_once(receiver, users):
    receiver.delay = 0.3
    hook(receiver.url)
    open_alert(campaign_row(users["staff"], "completed"))
    reports = []

    def worker():
        try:
            reports.append(webhooks.deliver_due())
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(r["sent"] for r in reports) == [0, 1]
    assert len(receiver.bodies) == 1


def test_each_person_is_told_what_an_admin_chose_or_their_roles_default(users, login_as):
    campaign = campaign_row(users["admin"], "running")  # not staff's own campaign
    admin = login_as("admin")
    admin.post(reverse("alert_choice", args=[users["staff"].pk]), {"kinds": ["stalled"]})
    admin.post(reverse("alert_choice", args=[users["manager"].pk]), {})  # nothing at all

    open_alert(campaign, "stalled")
    open_alert(campaign, "failure_spike")
    told = sorted(Notification.objects.values_list("user__username", "alert__kind"))
    assert told == [("ada-admin", "failure_spike"), ("ada-admin", "stalled"),
                    ("sam-staff", "stalled")]
    assert AuditEntry.objects.filter(action="alert_routing",
                                     message="mia-manager is told of no alerts").exists()

    # Back to the role's default: the manager hears of everything again.
    admin.post(reverse("alert_choice", args=[users["manager"].pk]), {"by_role": "on"})
    open_alert(campaign, "completed")
    assert Notification.objects.filter(user=users["manager"], alert__kind="completed").exists()
    # Kinds ticked while "By role" is still ticked (as the page draws it): the kinds win,
    # and the page says so in full.
    both = admin.post(reverse("alert_choice", args=[users["manager"].pk]),
                      {"by_role": "on", "kinds": ["stalled"]}, follow=True)
    assert AlertChoice.objects.get(user=users["manager"]).kinds == ["stalled"]
    assert [str(m) for m in both.context["messages"]][-1] == (
        "Saved: mia-manager is told of Stalled (the kinds ticked, not their role's default).")
    twice = admin.post(reverse("alert_choice", args=[users["manager"].pk]),
                       {"kinds": ["stalled", "stalled"]})
    assert twice.status_code == 302
    assert AlertChoice.objects.get(user=users["manager"]).kinds == ["stalled"]
    by_role = admin.post(reverse("alert_choice", args=[users["manager"].pk]), {"by_role": "on"},
                         follow=True)
    assert [str(m) for m in by_role.context["messages"]][-1] == (
        "Saved: mia-manager is told of what their role is told of, again.")
    nothing = admin.post(reverse("alert_choice", args=[users["manager"].pk]), {}, follow=True)
    assert [str(m) for m in nothing.context["messages"]] == [
        "Saved: mia-manager is told of no alerts."]  # the earlier ones were shown above


def test_a_choice_saved_again_as_it_was_is_not_logged_again(users, login_as):
    admin = login_as("admin")
    url = reverse("alert_choice", args=[users["staff"].pk])
    for _ in range(2):
        saved = admin.post(url, {"kinds": ["completed", "stalled"]}, follow=True)
        assert [str(m) for m in saved.context["messages"]][-1] == (
            "Saved: sam-staff is told of Finished, Stalled.")
    admin.post(url, {"kinds": ["stalled", "completed"]})  # the same, in another order
    admin.post(url, {"by_role": "on"})
    admin.post(url, {"by_role": "on"})
    logged = list(AuditEntry.objects.filter(action="alert_routing")
                  .order_by("pk").values_list("message", flat=True))
    assert logged == ["sam-staff is told of Finished, Stalled",
                      "sam-staff is told of what their role is told of, again"]


def test_the_webhooks_table_says_what_each_gets_in_words(login_as):
    hook("https://hooks.example/one", "completed")
    hook("https://hooks.example/two", "completed", "stalled", name="Two kinds")
    hook("https://hooks.example/all", name="All")
    page = login_as("admin").get(reverse("alert_routing")).content.decode()
    assert "<td>Finished</td>" in page and "<td>Every kind</td>" in page
    assert "Finished;" not in page


def test_webhooks_are_added_and_removed_by_admins_only_with_clear_errors(login_as, users):
    admin = login_as("admin")
    refused = admin.post(reverse("alert_routing"), {"name": "  ", "url": "http://example.com/x",
                                                    "kinds": ["nonsense"]})
    assert refused.status_code == 422
    errors = refused.context["form"].errors
    assert errors["url"] == ["Use an https:// address."]
    assert errors["name"] == ["Give the webhook a name."]
    assert "nonsense" in errors["kinds"][0]
    assert 'value="http://example.com/x"' in refused.content.decode()  # what was typed stays

    admin.post(reverse("alert_routing"), {"name": "Sales on Slack", "kinds": ["completed"],
                                          "url": "https://hooks.slack.com/services/T/B/X"})
    added = AlertWebhook.objects.get()
    assert (added.kinds, added.url) == (["completed"], "https://hooks.slack.com/services/T/B/X")

    for role in ("staff", "manager"):
        other = login_as(role)
        assert other.get(reverse("alert_routing")).status_code == 403
        assert other.post(reverse("webhook_remove", args=[added.pk])).status_code == 403
    assert AlertWebhook.objects.exists()
    login_as("admin").post(reverse("webhook_remove", args=[added.pk]))
    assert not AlertWebhook.objects.exists()
    assert AuditEntry.objects.filter(action="alert_routing",
                                     message="Alert webhook “Sales on Slack” removed").exists()


@pytest.mark.parametrize("again", [
    "https://hooks.example.com/services/T/B/X", "HTTPS://Hooks.EXAMPLE.com/services/T/B/X",
    "https://hooks.example.com:443/services/T/B/X", "https://hooks.example.com./services/T/B/X",
    "https://hooks.example.com/services/T/B/X#team",
])
def test_a_url_already_on_the_list_is_refused_naming_its_webhook(login_as, again):
    """The same URL could be added again under another name, and every alert was then
    posted to it twice. It is refused beside the field, written any way that posts to
    the same place, and the webhook that has it is named."""
    admin = login_as("admin")
    admin.post(reverse("alert_routing"), {"name": "Sales on Slack",
                                          "url": "https://hooks.example.com/services/T/B/X"})
    refused = admin.post(reverse("alert_routing"), {"name": "Sales again", "url": again})
    assert refused.status_code == 422
    assert refused.context["form"].errors == {"url": [
        "“Sales on Slack” already has this URL, so each alert would be posted to it twice."]}
    assert list(AlertWebhook.objects.values_list("name", flat=True)) == ["Sales on Slack"]


def test_urls_that_post_to_different_places_are_not_taken_for_the_same():
    """The other side of the check above: an empty path is "/", but another path, query,
    port or scheme is another receiver."""
    hook("https://hooks.example.com")
    assert webhooks.holder_of("https://hooks.example.com/").name == "Sales on Slack"
    for other in ("https://hooks.example.com/x", "https://hooks.example.com/?team=2",
                  "https://hooks.example.com:8443/", "http://hooks.example.com/",
                  "https://other.example.com/"):
        assert webhooks.holder_of(other) is None, other


def test_a_webhook_url_too_long_is_refused_beside_the_field_not_cut_by_the_browser(login_as):
    """The page gave the field maxlength=500: Chromium cut a pasted 743-character address
    to its first 500 and it was saved, so alerts went to another URL without a word."""
    admin = login_as("admin")
    page = admin.get(reverse("alert_routing")).content.decode()
    url_input = page.split('name="url"')[0].rsplit("<input", 1)[1] + page.split(
        'name="url"')[1].split(">", 1)[0]
    assert "maxlength" not in url_input
    long_url = "https://relay.example.com/hook?token=" + "T" * 700 + "&end=1"
    refused = admin.post(reverse("alert_routing"), {"name": "Relay", "url": long_url})
    assert refused.status_code == 422
    (error,) = refused.context["form"].errors["url"]
    assert "at most 500 characters" in error
    assert escape(long_url) in refused.content.decode()  # what was pasted stays, whole
    assert not AlertWebhook.objects.exists()


PRIVATE = "is on this machine or a private network: alerts go only to public addresses."


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://localhost:8000/users/", "http://127.0.0.1:8765/_sim/reset",
    "https://169.254.169.254/latest/meta-data/", "https://[::ffff:127.0.0.1]/",
    "https://[::1]:6379/", "https://10.0.0.5/hook", "https://10.255.0.1/", "https://192.168.1.1/",
    "https://0.0.0.0/", "https://[::]/", "http://hooks.example.com/x",
    "https://127.0.0.1:84091/", "https://169.254.169.254:65979/",  # ports past 65535
    # 127.0.0.1 in decimal, hex and octal, and names ending with a dot: not valid URLs here.
    "https://2130706433/", "https://0x7f000001/", "https://0177.0.0.1/", "https://localhost./",
    "https://127.0.0.1./",
    # Python 3.11's is_global says yes to these, and each reaches this machine or its
    # network: IETF protocol assignments, deprecated site-local IPv6, and IPv6 carrying a
    # private IPv4 (IPv4-compatible, NAT64, 6to4, Teredo) or NAT64 for local use.
    "https://192.0.0.8/", "https://192.0.0.170/", "https://[fec0::1]/",
    "https://[::7f00:1]/", "https://[::a9fe:a9fe]/", "https://[::127.0.0.1]:6379/",
    "https://[64:ff9b::a00:1]/", "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b:1::808:808]/", "https://[2002:a9fe:a9fe::]/", "https://[2002:7f00:1::1]/",
    "https://[2001:0:a9fe:a9fe::1]/",  # Teredo, its server 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, its client 10.0.0.1
])
def test_a_webhook_may_not_reach_this_machine_or_a_private_network(login_as, url):
    """An admin's URL must not turn the dashboard into a client of internal services
    (whose answers the routing page would show as the last error). A probe saved
    https://192.0.0.8/, https://[fec0::1]/, https://[::7f00:1]/ (127.0.0.1),
    https://[64:ff9b::a9fe:a9fe]/ and https://[2002:a9fe:a9fe::]/ (169.254.169.254, the
    cloud's metadata service), and the worker connected to them: Python's is_global says
    yes to each, and only ::ffff:-mapped IPv4 was unwrapped."""
    refused = login_as("admin").post(reverse("alert_routing"), {"name": "Probe", "url": url})
    assert refused.status_code == 422
    (error,) = refused.context["form"].errors["url"]
    assert error in ("Use an https:// address.", "Enter a valid URL.",
                     "That port is not a port number: use one from 1 to 65535.") or error.endswith(
        PRIVATE)
    assert not AlertWebhook.objects.exists()


@pytest.mark.parametrize("url", ["https://example.com:0/", "https://hooks.example.com:00/x"])
def test_port_zero_is_refused_with_the_ports_message(login_as, url):
    """A probe saved https://example.com:0/ though the field's own message says ports run
    from 1 to 65535: ":0" was read as no port at all, and so the default one."""
    refused = login_as("admin").post(reverse("alert_routing"), {"name": "Zero", "url": url})
    assert refused.status_code == 422
    assert refused.context["form"].errors["url"] == [
        "That port is not a port number: use one from 1 to 65535."]
    assert not AlertWebhook.objects.exists()


@pytest.mark.parametrize("address", [
    "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
])
def test_public_addresses_stay_allowed_however_written(address):
    """The other side of the check above: a public IPv4, written plainly or carried in
    IPv6, is still a receiver alerts may go to."""
    assert webhooks.is_public(address)


def connections_refused(monkeypatch) -> list:
    """Where each post connects, recorded and refused: no network in these tests."""
    connected_to = []

    def no_network(address, *args, **kwargs):
        connected_to.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    return connected_to


def test_a_name_that_now_resolves_to_ipv4_carried_in_ipv6_is_not_posted_to(users,
                                                                           monkeypatch):
    """The check before each post is the same as when the URL was added: a name whose
    address became 64:ff9b::a9fe:a9fe (NAT64 for 169.254.169.254) is given up without
    connecting, as a name resolving to 169.254.169.254 itself is."""
    real_getaddrinfo = socket.getaddrinfo

    def nat64(host, port, *args, **kwargs):
        if host != "metadata.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a9fe:a9fe", port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", nat64)
    connected_to = connections_refused(monkeypatch)
    hook("https://metadata.example/latest/meta-data/")
    open_alert(campaign_row(users["staff"], "completed"))
    assert webhooks.deliver_due() == {"sent": 0, "retrying": 0, "failed": 1}
    assert connected_to == []
    assert delivery().last_error == f"Not sent: metadata.example {PRIVATE}"


def test_a_webhook_that_now_reaches_a_private_address_is_not_posted_to(receiver, users,
                                                                        settings):
    """Added while allowed (or a name that resolves elsewhere since): checked before each
    post, given up without connecting, and the reason shown."""
    hook(receiver.url.replace("http://", "https://"))
    settings.WEBHOOKS_MAY_REACH_PRIVATE_ADDRESSES = False
    open_alert(campaign_row(users["staff"], "completed"))
    assert webhooks.deliver_due() == {"sent": 0, "retrying": 0, "failed": 1}
    assert receiver.bodies == []
    assert WebhookDelivery.objects.get().last_error == (
        "Not sent: 127.0.0.1 is on this machine or a private network: alerts go only to "
        "public addresses.")


def test_a_post_goes_to_the_address_checked_not_where_the_name_points_a_moment_later(
        users, monkeypatch):
    """DNS rebinding: a hostile name server answers the check with a public address and
    the connection with this machine. The connection must go to the address checked."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["8.8.8.8", "127.0.0.1"])  # the check's answer, then any later one

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    connected_to = connections_refused(monkeypatch)
    hook("https://rebind.example/hook")
    open_alert(campaign_row(users["staff"], "completed"))
    assert webhooks.deliver_due() == {"sent": 0, "retrying": 1, "failed": 0}
    assert connected_to == [("8.8.8.8", 443)]
    assert delivery().last_error.startswith("Could not connect")


def test_a_pinned_post_keeps_its_host_and_tries_each_address_of_the_name(
        receiver, users, monkeypatch):
    """A name with two addresses, the first refusing: the post goes on to the next checked
    address, as a connection to the name would, and the receiver sees the name given."""
    real_getaddrinfo = socket.getaddrinfo

    def two_addresses(host, port, *args, **kwargs):
        if host != "localhost":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in ("127.0.0.2", "127.0.0.1")]  # it listens on the second

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    port = receiver.server.server_address[1]
    hook(f"http://localhost:{port}/hook")
    open_alert(campaign_row(users["staff"], "completed"))
    assert webhooks.deliver_due() == {"sent": 1, "retrying": 0, "failed": 0}
    assert receiver.hosts == [f"localhost:{port}"]
