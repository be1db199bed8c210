"""The response headers every answer carries, pages and the live stream alike.

Pages get most of them from Django's SecurityMiddleware and XFrameOptionsMiddleware;
`HeadersMiddleware` adds what Django has no setting for (Permissions-Policy, no-store for
signed-in pages). The stream (campaigns/live/stream.py) is not behind Django's middleware,
so it takes the whole list from `stream_headers`, one definition for both.
"""

from django.conf import settings
from django.http.request import split_domain_port, validate_host

# No page uses any of these browser features; a script that got in could not either.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
    "microphone", "midi", "payment", "usb", "screen-wake-lock", "xr-spatial-tracking",
))


def stream_headers() -> list[tuple[bytes, bytes]]:
    """What Django's security middleware would add to a page, for the bare ASGI stream."""
    headers = {
        "x-content-type-options": "nosniff",
        "referrer-policy": settings.SECURE_REFERRER_POLICY,
        "cross-origin-opener-policy": settings.SECURE_CROSS_ORIGIN_OPENER_POLICY,
        "x-frame-options": settings.X_FRAME_OPTIONS,
        "permissions-policy": PERMISSIONS_POLICY,
    }
    if settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers["strict-transport-security"] = hsts
    return [(name.encode(), value.encode()) for name, value in headers.items() if value]


def host_allowed(host: str) -> bool:
    """Django's ALLOWED_HOSTS rule (HttpRequest.get_host) for a raw Host header."""
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def is_secure(scheme: str, header) -> bool:
    """Django's HttpRequest.is_secure for a bare ASGI request; `header(name)` reads one."""
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        forwarded = header(name.removeprefix("HTTP_").replace("_", "-").lower())
        if forwarded is not None:
            return forwarded.split(",")[0].strip() == value
    return scheme == "https"


class HeadersMiddleware:
    """Permissions-Policy on every page; `Cache-Control: no-store` on every signed-in one,
    so a shared computer's back button or a proxy never shows someone else's campaigns."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
