"""The suite's own clean-up between transactional tests (tests/conftest.py): every table a
test writes is empty for the next test, and the tables migrations fill survive it, also
when a test changed them. The tests of each pair run in file order, on one worker."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from campaigns.audit import Action, Outcome, record
from campaigns.models import AuditEntry, Campaign
from campaigns.permissions import ROLE_PERMISSIONS
from tests.campaign_factory import campaign_row

pytestmark = pytest.mark.django_db(transaction=True)


def roles() -> dict[str, set[str]]:
    return {group.name: {f"{p.content_type.app_label}.{p.codename}"
                         for p in group.permissions.all()}
            for group in Group.objects.all()}


def test_a_transactional_test_leaves_rows_behind(users):
    record(users["admin"], Action.DELETE, Outcome.OK,
           campaign=campaign_row(users["staff"], name="Leftover"), message="written by a test")


def test_the_next_test_finds_every_written_table_empty_and_the_roles_intact(
        django_user_model):
    assert not django_user_model.objects.exists()
    assert not Campaign.objects.exists()
    assert not AuditEntry.objects.exists()
    assert roles() == {role: set(perms) for role, perms in ROLE_PERMISSIONS.items()}
    assert ContentType.objects.filter(app_label="campaigns", model="campaign").exists()


def test_a_transactional_test_changes_a_role_and_a_content_type():
    Group.objects.get(name="staff").permissions.clear()
    Group.objects.create(name="made up")
    Permission.objects.filter(codename="view_campaign").delete()


def test_the_next_test_finds_the_roles_as_migrated():
    assert roles() == {role: set(perms) for role, perms in ROLE_PERMISSIONS.items()}
    assert Permission.objects.filter(codename="view_campaign").exists()
