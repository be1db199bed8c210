"""Roles (staff, manager, admin) and the checks every view makes on the server.

A role is a Django group holding model permissions; `ROLE_PERMISSIONS` is the single
statement of who may do what, used by the migration that creates the groups, by the
decorators on the views and by the templates (through `role_context`).
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied

from campaigns import audit, ratelimit

STAFF = "staff"
MANAGER = "manager"
ADMIN = "admin"

# Highest first: a user in several groups is shown the most powerful role.
ROLES = (ADMIN, STAFF, MANAGER)

ROLE_LABELS = {STAFF: "Staff", MANAGER: "Manager", ADMIN: "Admin"}

_VIEW = ["campaigns.view_campaign", "campaigns.view_metricsnapshot"]
_STAFF = [*_VIEW, "campaigns.add_campaign", "campaigns.start_campaign",
          "campaigns.manage_audiences"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: _VIEW,
    STAFF: _STAFF,
    ADMIN: [
        *_STAFF,
        "campaigns.pause_campaign",
        "campaigns.delete_campaign",
        # Taking a number off the do-not-call list, with a reason kept in the activity log.
        "campaigns.delete_suppressednumber",
        "campaigns.view_auditentry",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.delete_user",
        "auth.view_group",
    ],
}

# What to tell someone who lacks a permission: the role that has it.
_NEEDED_ROLE = {
    "campaigns.add_campaign": "staff or admin",
    "campaigns.start_campaign": "staff or admin",
    "campaigns.manage_audiences": "staff or admin",
    "campaigns.pause_campaign": "admin",
    "campaigns.delete_campaign": "admin",
    "campaigns.delete_suppressednumber": "admin",
    "campaigns.view_auditentry": "admin",
    "auth.change_user": "admin",
}


def sync_role_groups(group_model, permission_model) -> dict:
    """Make each role's group hold exactly its permissions; returns {role: group}.

    Takes the models as arguments: post_migrate passes the ones of its app registry.
    """
    groups = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(permission_model.objects.get(
                content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
        groups[role] = group
    return groups


def role_of(user) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = {group.name for group in user.groups.all()}
    return next((role for role in ROLES if role in names), None)


def needed_role(perm: str) -> str:
    return _NEEDED_ROLE.get(perm, "manager, staff or admin")


def require_perm(perm: str, action: str, *, audit_as: str | None = None) -> Callable:
    """Refuse the view with a 403 that names the role needed, e.g. "Pausing … needs admin".

    With `audit_as`, a refused attempt is written to the activity log too: admins see who
    tried what they were not allowed to.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                message = f"{action} needs the {needed_role(perm)} role."
                # Once per burst: 50 refused clicks are one entry, not 50.
                if (audit_as and request.method == "POST"
                        and ratelimit.first_of_burst(request.user, f"refused:{audit_as}")):
                    audit.record_refusal(request.user, audit_as, message, kwargs.get("pk"))
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        # Read by ratelimit's middleware: a request this refuses never reaches Atoms, so it
        # is not counted against the person's Atoms limit, and is told 403, not 429.
        wrapped.required_perms = (*getattr(view, "required_perms", ()), perm)
        return wrapped

    return decorator


def signed_in_user(request):
    """The request's signed-in user, or None. A request refused before the sign-in
    middleware ran (one for another host) has no user at all, and its error page, which
    runs the context processors, must still render."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def role_context(request) -> dict:
    """Template context: the viewer's role and what they may do, for showing controls.

    Showing is only a courtesy; every action is checked again by `require_perm`.
    """
    user = signed_in_user(request)
    if user is None:
        return {}
    role = role_of(user)
    return {
        "role": role,
        "role_label": ROLE_LABELS.get(role, "No role"),
        "may": {
            "create": user.has_perm("campaigns.add_campaign"),
            "start": user.has_perm("campaigns.start_campaign"),
            "pause": user.has_perm("campaigns.pause_campaign"),
            "delete": user.has_perm("campaigns.delete_campaign"),
            "audit": user.has_perm("campaigns.view_auditentry"),
            "audiences": user.has_perm("campaigns.manage_audiences"),
            "unlist": user.has_perm("campaigns.delete_suppressednumber"),
            "users": user.has_perm("auth.change_user"),
            # Django's admin is for superusers only (dashboard/admin.py).
            "admin_site": user.is_superuser,
        },
    }
