"""The three roles exist as groups with their permissions; users get roles by command."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.permissions import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def perms_of(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_the_migration_creates_the_three_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"staff", "manager", "admin"}


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_each_group_holds_exactly_its_roles_permissions(role):
    assert perms_of(Group.objects.get(name=role)) == set(ROLE_PERMISSIONS[role])


def test_staff_create_and_start_but_never_pause_or_delete():
    staff = perms_of(Group.objects.get(name="staff"))
    assert {"campaigns.add_campaign", "campaigns.start_campaign"} <= staff
    assert not staff & {"campaigns.pause_campaign", "campaigns.delete_campaign"}


def test_managers_only_view():
    manager = perms_of(Group.objects.get(name="manager"))
    assert all(p.split(".")[1].startswith("view_") for p in manager)


def test_admins_can_pause_delete_and_manage_users():
    admin = perms_of(Group.objects.get(name="admin"))
    assert {"campaigns.pause_campaign", "campaigns.delete_campaign", "auth.change_user",
            "campaigns.view_auditentry"} <= admin


def test_the_command_creates_a_user_with_a_role(django_user_model):
    call_command("create_user", "rita", role="manager", password="a-long-enough-passphrase")
    user = django_user_model.objects.get(username="rita")
    assert [g.name for g in user.groups.all()] == ["manager"]
    assert user.check_password("a-long-enough-passphrase")
    assert user.has_perm("campaigns.view_campaign")
    assert not user.has_perm("campaigns.add_campaign")


def test_an_admin_created_by_the_command_manages_users_in_the_product_not_djangos_admin(
        django_user_model):
    call_command("create_user", "ann", role="admin", password="a-long-enough-passphrase")
    ann = django_user_model.objects.get(username="ann")
    assert ann.has_perm("auth.change_user")
    assert not ann.is_staff and not ann.is_superuser


def test_the_command_refuses_an_unknown_role(django_user_model):
    with pytest.raises(CommandError, match="Unknown role 'boss'"):
        call_command("create_user", "bob", role="boss", password="a-long-enough-passphrase")
    assert not django_user_model.objects.filter(username="bob").exists()


def test_the_command_refuses_a_weak_password(django_user_model):
    with pytest.raises(CommandError, match="Password refused"):
        call_command("create_user", "bob", role="staff", password="123")
    assert not django_user_model.objects.filter(username="bob").exists()


def test_demo_users_are_refused_outside_demo_mode(settings, django_user_model):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        call_command("demo_users")
    assert not django_user_model.objects.filter(username="staff").exists()


def test_demo_mode_creates_one_user_per_role(settings, django_user_model):
    settings.DEMO_MODE = True
    call_command("demo_users")
    for role in ("staff", "manager", "admin"):
        user = django_user_model.objects.get(username=role)
        assert [g.name for g in user.groups.all()] == [role]
