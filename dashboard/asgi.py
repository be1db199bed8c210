"""ASGI entry point: uvicorn serves the pages and the live stream (server-sent events).

`/live/` goes to a lean ASGI app (campaigns.live.stream.asgi_stream) rather than through
Django's handler, which would hold a thread and a database connection per open stream
for as long as someone watches.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

django_application = get_asgi_application()

from django.urls import reverse  # noqa: E402 - after Django is set up

from campaigns.health import PATHS as HEALTH_PATHS  # noqa: E402
from campaigns.health import asgi_health  # noqa: E402
from campaigns.live.stream import asgi_stream  # noqa: E402

LIVE_PATH = reverse("live_stream")


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == LIVE_PATH:
        await asgi_stream(scope, receive, send)
    elif scope["type"] == "http" and scope["path"] in HEALTH_PATHS:
        await asgi_health(scope, receive, send)
    else:
        await django_application(scope, receive, send)
