"""The `local` filter and app.js agree on the styles of a time: a style one of them lacks
is a page that breaks (the filter) or a time left in the server's zone (app.js)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from campaigns.templatetags.when import LOCAL_STYLES, local

APP_JS = Path(settings.BASE_DIR) / "static" / "js" / "app.js"


def test_app_js_rewrites_every_style_the_filter_writes():
    block = re.search(r"var LOCAL_PARTS = \{(.*?)\n  \};", APP_JS.read_text(), re.S).group(1)
    assert set(re.findall(r'^\s*"([a-z-]+)":', block, re.M)) == set(LOCAL_STYLES)


@pytest.mark.parametrize("style", sorted(LOCAL_STYLES))
def test_each_style_is_written_in_the_servers_zone_and_says_so(style):
    html = local(datetime(2026, 12, 6, 13, 22, 5, tzinfo=UTC), style)
    assert f'data-local="{style}"' in html and 'datetime="2026-12-06T13:22:05+00:00"' in html
    assert html.endswith(" UTC</time>")
