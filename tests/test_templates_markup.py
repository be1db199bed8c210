"""Templates carry no inline styles: the look lives in static/css/app.css, where one edit
reaches every page (and a Content-Security-Policy without 'unsafe-inline' stays possible)."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


def test_no_template_has_a_style_attribute():
    found = [f"{path.relative_to(TEMPLATES)}:{number}"
             for path in sorted(TEMPLATES.rglob("*.html"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if STYLE_ATTRIBUTE.search(line)]
    assert found == []
    assert len(list(TEMPLATES.rglob("*.html"))) > 10  # the templates were found


def test_the_live_fragments_have_no_line_over_100_characters():
    lines = (TEMPLATES / "campaigns" / "live.html").read_text().splitlines()
    assert [number for number, line in enumerate(lines, 1) if len(line) > 100] == []


def test_every_short_comment_closes_on_its_own_line():
    """Django ends a {# comment #} at the end of its line: one spread over two lines is
    shown on the page as text (the detail chart showed its own comment to everyone)."""
    found = [f"{path.relative_to(TEMPLATES)}:{number}"
             for path in sorted(TEMPLATES.rglob("*.html"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if line.count("{#") != line.count("#}")]
    assert found == []
