"""Alerts to a team's channel: admins name webhook URLs (Slack's incoming webhooks, or any
receiver of the same JSON, `{"text": ...}`) and the alert kinds each wants.

Each alert episode becomes one `WebhookDelivery` per webhook that wants it (a unique pair,
so never posted twice), sent by the beat's alert task. A receiver that fails (no answer,
5xx, 429) is tried again after a growing wait (`BACKOFF`) and given up after the last; one
that refuses (another 4xx: a revoked or mistyped URL) is given up at once. Every failure's
reason is kept and shown on the alert routing page.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from campaigns import audit
from campaigns.models import Alert, AlertWebhook, WebhookDelivery

log = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, ... failed try; after the last, it is given up.
BACKOFF = (30, 120, 600, 1800, 7200)
TIMEOUT_SECONDS = 5
# A claimed delivery is left alone this long, so two workers never post it twice at once.
CLAIM_SECONDS = 60
# Answers that say "later": the receiver may take it next time.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


# Receivers over plain HTTP only on this machine (a local relay); anywhere else, HTTPS.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


# IPv4's "IETF protocol assignments": Python 3.11 calls most of it global (192.0.0.8 is),
# though none of it is a public receiver's.
IETF_PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
# IPv4-compatible IPv6 (::a.b.c.d, deprecated): a stack that still takes it reaches the IPv4.
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# NAT64's well-known prefix: 64:ff9b::a.b.c.d is a.b.c.d, reached through the network's
# translator.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# NAT64 for one network's own use (RFC 8215): never public, and where its IPv4 sits depends
# on the prefix length that network chose, so it is refused whole rather than unwrapped.
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def is_public(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a post may connect to `address`: the one place this is decided, when a URL
    is added and before every post. Python's `is_global` alone says yes to addresses that
    reach this machine or its network (192.0.0.8, site-local fec0::1, and IPv6 forms that
    carry an IPv4 address, such as ::7f00:1 for 127.0.0.1 or 64:ff9b::a9fe:a9fe for
    169.254.169.254), so IPv6 is unwrapped and what it carries is judged too."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    # An IPv4-mapped address (::ffff:a.b.c.d) is a.b.c.d itself: judged as that below,
    # whatever this Python's is_global says of the IPv6 form.
    mapped = ip.version == 6 and ip.ipv4_mapped
    if not mapped and (ip.is_multicast or not ip.is_global):
        return False
    if ip.version == 4:
        return ip not in IETF_PROTOCOL_ASSIGNMENTS
    if ip.is_site_local or ip in LOCAL_NAT64:
        return False
    return all(is_public(carried) for carried in _carried_ipv4(ip))


def _carried_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped, IPv4-compatible, 6to4, NAT64
    and Teredo (its server and its client)."""
    carried = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in IPV4_COMPATIBLE or ip in NAT64:
        carried.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in carried if address is not None]


def refused_address(url: str) -> str:
    """Why alerts may not be posted to `url`, or "" (see `checked_address`)."""
    return checked_address(url)[0]


def checked_address(url: str) -> tuple[str, list[str]]:
    """Why alerts may not be posted to `url` (or ""), and the addresses to connect to (none
    if the name is not found now). Checked when it is added and before every post: only
    public addresses, unless WEBHOOKS_MAY_REACH_PRIVATE_ADDRESSES, since an admin's URL
    must not let the dashboard reach, and report the answers of, services on its own
    machine or network. The post goes to an address checked (`pinned`), not to whatever
    the name resolves to a moment later, which a hostile name server could make this
    machine (DNS rebinding)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # over 65535: refused, never "not found, so allowed" below
        port = 0
    if port == 0:  # ":0" is no port either, not the default one
        return "That port is not a port number: use one from 1 to 65535.", []
    port = port or 443
    private_ok = settings.WEBHOOKS_MAY_REACH_PRIVATE_ADDRESSES
    if parts.scheme != "https" and not (
            private_ok and parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        return "Use an https:// address.", []
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):  # ValueError: a NUL in the name
        return "", []  # not found now: posting it fails, and says so
    addresses = list(dict.fromkeys(address[0] for *_, address in found))
    if not private_ok:
        for address in addresses:
            if not is_public(address.split("%")[0]):
                return (f"{parts.hostname} is on this machine or a private network: alerts "
                        "go only to public addresses."), []
    # A link-local address's zone ("%eth0") cannot go into a URL; such an address is
    # private, reached only where that is allowed, and then by another of the name's.
    return "", [address for address in addresses if "%" not in address]


def pinned(url: str, address: str) -> dict:
    """The arguments of a request to `url` sent to `address`: the URL with its host
    replaced, and the Host header and TLS server name (which the certificate is checked
    against) that keep it the same request to the same site."""
    parts = urlsplit(url)
    userinfo, _, host_and_port = parts.netloc.rpartition("@")
    host = f"[{address}]" if ":" in address else address
    netloc = (f"{userinfo}@" if userinfo else "") + (
        host if parts.port is None else f"{host}:{parts.port}")
    return {"url": urlunsplit(parts._replace(netloc=netloc)),
            "headers": {"Host": host_and_port}, "extensions": {"sni_hostname": parts.hostname}}


def holder_of(url: str) -> AlertWebhook | None:
    """The webhook already posting to `url`, written however (another would post each
    alert there a second time)."""
    wanted = _comparable(url)
    return next((hook for hook in AlertWebhook.objects.order_by("pk")
                 if _comparable(hook.url) == wanted), None)


def _comparable(url: str) -> tuple:
    """`url` as the post sees it: scheme and host in any case, the default port written or
    not, an empty path or "/", a host's closing dot, and a #fragment (never sent) alike."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        host = str(ipaddress.ip_address(host))  # [0:0::1] is [::1]
    except ValueError:
        with contextlib.suppress(UnicodeError):  # a name the codec cannot take: as written
            host = host.encode("idna").decode("ascii")  # bücher.example is xn--bcher-kva...
    try:
        port = parts.port
    except ValueError:
        port = parts.netloc.rpartition(":")[2]  # never saved (refused); compared as written
    if port == {"https": 443, "http": 80}.get(scheme):
        port = None
    userinfo = parts.netloc.rpartition("@")[0]
    return scheme, userinfo, host, port, parts.path or "/", parts.query


def add(actor, *, name: str, url: str, kinds: list[str]) -> AlertWebhook:
    hook = AlertWebhook.objects.create(name=name, url=url, kinds=kinds, created_by=actor)
    audit.record(actor, audit.Action.ALERT_ROUTING, audit.Outcome.OK,
                 message=f"Alert webhook “{name}” added ({describe_kinds(kinds)})")
    return hook


def remove(actor, hook: AlertWebhook) -> None:
    audit.record(actor, audit.Action.ALERT_ROUTING, audit.Outcome.OK,
                 message=f"Alert webhook “{hook.name}” removed")
    hook.delete()


def describe_kinds(kinds: list[str]) -> str:
    return ", ".join(label for value, label in Alert.Kind.choices if value in kinds) or (
        "every kind")


def failing_count(within: timedelta = timedelta(days=1)) -> int:
    """Deliveries of the last day being retried or given up: admins are shown them."""
    return WebhookDelivery.objects.filter(
        Q(state=WebhookDelivery.State.FAILED)
        | Q(state=WebhookDelivery.State.PENDING, attempts__gt=0),
        created_at__gte=timezone.now() - within).count()


def enqueue(alert: Alert) -> int:
    """One delivery per webhook that wants this alert's kind; returns how many."""
    deliveries = [WebhookDelivery(webhook=hook, alert=alert)
                  for hook in AlertWebhook.objects.all() if hook.wants(alert.kind)]
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return len(deliveries)


def payload(alert: Alert) -> dict:
    """Slack's incoming-webhook JSON: the text, with a link when the site's address is set."""
    text = f"*{alert.get_kind_display()}*: {alert.message}"
    if settings.SITE_URL:
        page, words = ((reverse("campaign_detail", args=[alert.campaign_id]), "Open the campaign")
                       if alert.campaign_id else (reverse("board"), "Open the board"))
        text += f" <{settings.SITE_URL.rstrip('/')}{page}|{words}>"
    return {"text": text}


def deliver_due(now: datetime | None = None) -> dict[str, int]:
    """Post every delivery that is due; returns how many were sent, will be retried and
    were given up."""
    now = now or timezone.now()
    report = {"sent": 0, "retrying": 0, "failed": 0}
    due = (WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING,
                                          next_attempt_at__lte=now)
           .select_related("webhook", "alert", "alert__campaign").order_by("next_attempt_at"))
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        for delivery in due[:100]:
            if not _claim(delivery, now):
                continue  # another worker has it
            report[_send(client, delivery, now)] += 1
    return report


def _claim(delivery: WebhookDelivery, now: datetime) -> bool:
    return bool(WebhookDelivery.objects.filter(
        pk=delivery.pk, state=WebhookDelivery.State.PENDING,
        next_attempt_at=delivery.next_attempt_at,
    ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)))


def _send(client: httpx.Client, delivery: WebhookDelivery, now: datetime) -> str:
    url = delivery.webhook.url
    refusal, addresses = checked_address(url)
    if refusal:  # never connected to: given up at once
        return _failed(delivery, now, f"Not sent: {refusal}", retry=False)
    if not addresses:
        return _failed(delivery, now, f"Could not connect: {urlsplit(url).hostname} was not "
                       "found (is the address spelt right?)", retry=True)
    try:
        response = _post(client, url, addresses, payload(delivery.alert))
    except httpx.TimeoutException:
        return _failed(delivery, now, f"No answer within {TIMEOUT_SECONDS} s", retry=True)
    except httpx.HTTPError as failure:
        return _failed(delivery, now, _connection_failed(failure, urlsplit(url).hostname),
                       retry=True)
    if response.is_success:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.SENT, sent_at=now, attempts=F("attempts") + 1,
            last_error="")
        return "sent"
    retry = response.status_code >= 500 or response.status_code in RETRYABLE_STATUSES
    return _failed(delivery, now, _answered(response.status_code), retry=retry)


def _answered(status: int) -> str:
    """A receiver's refusal in words: its status and that status's usual name, never the
    body nor the phrase it sent, since the routing page would make an internal service's
    error text readable to whoever can set a webhook URL."""
    phrase = httpx.codes.get_reason_phrase(status)
    return f"The receiver answered {status} {phrase}." if phrase else (
        f"The receiver answered {status}.")


def _connection_failed(failure: httpx.HTTPError, host: str) -> str:
    """Why a post got no answer, in words an admin can act on (not "[Errno 111] ...")."""
    if "certificate" in str(failure).lower():  # ssl's CERTIFICATE_VERIFY_FAILED and kin
        return f"Could not connect to {host} securely: its certificate could not be verified."
    if isinstance(failure, httpx.ConnectError):
        return (f"Could not connect to {host}: nothing answered there, or it refused the "
                "connection.")
    return f"The connection to {host} broke off before it answered."


def _post(client: httpx.Client, url: str, addresses: list[str], body: dict) -> httpx.Response:
    """Post to the first of the checked addresses that takes the connection, in the order
    the name gave them, as connecting to the name itself would."""
    for address in addresses[:-1]:
        try:
            return client.post(**pinned(url, address), json=body)
        except httpx.ConnectError:
            continue
    return client.post(**pinned(url, addresses[-1]), json=body)


def _failed(delivery: WebhookDelivery, now: datetime, error: str, *, retry: bool) -> str:
    """Keep why, and try again after the next wait unless it was refused or is the last."""
    attempts = delivery.attempts + 1
    give_up = not retry or attempts > len(BACKOFF)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts, last_error=error[:300],
        state=WebhookDelivery.State.FAILED if give_up else WebhookDelivery.State.PENDING,
        next_attempt_at=now if give_up else now + timedelta(seconds=BACKOFF[attempts - 1]))
    log.warning("Alert webhook %r: %s (try %d%s)", delivery.webhook.name, error, attempts,
                ", given up" if give_up else "")
    return "failed" if give_up else "retrying"
