"""Names and notes typed without a space (a pasted code, a joke, an attack) wrap inside
their cell: at desktop width a 150-character username once made the activity table 2,040 px
wide, and a 100-character webhook name pushed every webhook's counts and Remove out of view."""

import pytest

from campaigns.models import AlertWebhook, AuditEntry, SuppressedNumber
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "N" * 150


def overflowing_tables(page) -> list[int]:
    """How far each table scrolls sideways inside its box (0: it fits)."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.table-wrap'))"
        ".map(wrap => wrap.scrollWidth - wrap.clientWidth)")


def test_long_names_and_notes_wrap_inside_the_tables_at_desktop_width(users, new_page):
    AuditEntry.objects.create(actor_name=LONG, action="manage_user", outcome="refused",
                              message=f"{LONG} may not change roles.")
    AlertWebhook.objects.create(name="p " + "N" * 97, url="https://hooks.example.com/x")
    SuppressedNumber.objects.create(phone_number="+14155550100", note="N" * 200)
    page = sign_in(new_page(), users["admin"].username)
    page.set_viewport_size({"width": 1280, "height": 900})

    for path in ("/activity/", "/alerts/routing/", "/do-not-call/"):
        page.goto(path)
        assert LONG[:97] in page.content(), path
        widths = overflowing_tables(page)
        assert widths and all(width <= 1 for width in widths), (path, widths)
