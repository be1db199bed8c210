"""People and their roles: create, change role, deactivate, each written to the activity log.

The one place that gives a user a role (the `create_user` command and the /users/ page
both come here). No path through it makes or edits a superuser or touches what a role
may do: roles are fixed in `permissions.ROLE_PERMISSIONS`.
"""

from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime

from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from axes.utils import reset as reset_sign_in_failures
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.backends import AllowAllUsersModelBackend
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from campaigns import audit, known_devices
from campaigns.models import FormerAdmin, PasswordChosenByAdmin
from campaigns.permissions import ADMIN, ROLE_LABELS, ROLES, role_of, sync_role_groups


class UnknownRole(ValueError):
    pass


class SaysDeactivatedBackend(AllowAllUsersModelBackend):
    """Checks a deactivated person's password too, so that with the right one the sign-in
    form says "This account is inactive." rather than "wrong password" (only someone who
    knows the password learns it). Their sessions stay refused: `get_user` admits only
    active people, as Django's ModelBackend does."""

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def authenticate(self, request, username=None, password=None, **kwargs):
        # One transaction: a password stored again as they sign in (below) and its
        # lineage's new hash are seen together, by a promotion too.
        with transaction.atomic():
            user = super().authenticate(request, username=username, password=password,
                                        **kwargs)
            if user is not None and password is not None:
                _follow_rehash(user, password)
        return user


def _follow_rehash(user, password: str) -> None:
    """After `password` was found right for `user`. Django stores the same password again
    under a new hash (and salt) as they sign in when its hasher's settings changed, as a
    Django upgrade does (more iterations): that must not pass for a reset on the server
    (see PasswordChosenByAdmin), so the lineage moves to the new hash. A password that is
    not the lineage's was set on the server: the lineage had ended, and its row goes (else
    each sign-in would check the password twice). One query per sign-in otherwise."""
    if not (PasswordChosenByAdmin.objects.filter(user=user)
            .exclude(password_hash=user.password).exists()):
        return
    # Read again with their account locked, as an admin's new password and their own
    # change lock it: neither is half-done meanwhile.
    current = (get_user_model().objects.select_for_update().filter(pk=user.pk)
               .values_list("password", flat=True).first())
    chosen = PasswordChosenByAdmin.objects.filter(user=user).first()
    if current != user.password or chosen is None or chosen.password_hash == current:
        return  # changed since `password` was checked, or nothing to follow
    if check_password(password, chosen.password_hash):
        chosen.password_hash = current
        chosen.save(update_fields=["password_hash"])
    else:
        chosen.delete()


def _group(role: str) -> Group:
    if role not in ROLES:
        raise UnknownRole(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    # The groups come from a migration; a flushed test database may have lost them.
    return Group.objects.filter(name=role).first() or sync_role_groups(Group, Permission)[role]


def ensure_user(username: str, role: str, password: str, email: str = ""):
    """Create or update `username` so that it has exactly `role`; returns the user.

    For the command line (no actor, no audit): whoever runs it already owns the server.
    """
    group = _group(role)
    User = get_user_model()
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
        if role != ADMIN and role_of(user) == ADMIN:  # see FormerAdmin, as in set_role
            FormerAdmin.objects.update_or_create(
                user=user, defaults={"demoted_by": None, "demoted_at": timezone.now()})
        user.email = email or user.email
        # Django's admin is for superusers only; a role never needs is_staff.
        user.is_staff = False
        user.set_password(password)
        user.save()
        user.groups.set([group])
    return user


def end_sessions(user, *, keep: str | None = None) -> int:
    """Sign `user` out everywhere (but in the session `keep`): their open live streams
    close within a heartbeat too (the stream checks its session). Sessions are in the
    database (Django's default engine, which settings keep); this reads every live one:
    a rare action."""
    ended = [session.session_key
             for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
             if session.get_decoded().get(SESSION_KEY) == str(user.pk)
             and session.session_key != keep]
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


def _refuse_superuser_target(actor, user) -> None:
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can change a superuser's account.")


def create_user(actor, *, username: str, password: str, role: str, email: str = ""):
    """Someone new, with a first password `actor` chose: like a password an admin sets
    (set_password), it keeps them from the admin role through the site until it is reset
    on the server (see PasswordChosenByAdmin); so no admin is made here but by a superuser.
    Made without it, a new account was made an admin at once or later, its creator knowing
    its password (a probe)."""
    group = _group(role)
    if role == ADMIN and not actor.is_superuser:
        raise PermissionDenied(
            f"Not added: an admin's password is theirs alone, and you would know this one. "
            f"Add {username} as Staff or Manager; then ask whoever runs the server to give "
            f"them a password with the command: python manage.py changepassword {username} "
            "(told to them in person), and make them an admin here.")
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email,
                                                    password=password)
        user.groups.set([group])
        PasswordChosenByAdmin.objects.create(user=user, chosen_by=actor,
                                             password_hash=user.password)
        audit.record(actor, audit.Action.MANAGE_USER, audit.Outcome.OK,
                     message=f"Added {username} as {ROLE_LABELS[role]}.")
    return user


def set_role(actor, user, role: str) -> bool:
    """Gives `user` the role; False, with nothing changed or logged, when they have it
    already (the log would otherwise show a change that was none)."""
    _refuse_superuser_target(actor, user)
    # Giving up one's own admin role could leave nobody able to manage people; another
    # admin must do it.
    if user.pk == actor.pk and role != role_of(user):
        raise PermissionDenied("You cannot change your own role; ask another admin.")
    group = _group(role)
    if role_of(user) == role:
        return False
    if role == ADMIN:
        _refuse_password_chosen_by_admin(actor, user)
    with transaction.atomic():
        if role_of(user) == ADMIN:  # no longer one: see FormerAdmin
            FormerAdmin.objects.update_or_create(
                user=user, defaults={"demoted_by": actor, "demoted_at": timezone.now()})
        user.groups.set([group])
        audit.record(actor, audit.Action.MANAGE_USER, audit.Outcome.OK,
                     message=f"Gave {user.get_username()} the {ROLE_LABELS[role]} role.")
    return True


def _refuse_password_chosen_by_admin(actor, user) -> None:
    """No admin role, through the site, for someone whose password descends from one an
    admin set here (see PasswordChosenByAdmin): a change made on the site from it proves
    nothing, as whoever set it could have signed in as them and made it. A superuser may."""
    chosen = PasswordChosenByAdmin.objects.filter(user=user).first()
    if chosen is None or actor.is_superuser:
        return
    if chosen.password_hash != user.password:  # reset on the server since: theirs
        PasswordChosenByAdmin.objects.filter(
            user=user, password_hash=chosen.password_hash).delete()
        return
    name = user.get_username()
    raise PermissionDenied(
        f"{name}'s password was set by an admin on this site, so they cannot be made an "
        "admin here, even after changing it here: whoever set it could have signed in as "
        "them and changed it. First ask whoever runs the server to give them a new password "
        f"with the command: python manage.py changepassword {name} (and to tell it to {name} "
        "in person); then give them the role.")


def set_active(actor, user, active: bool) -> None:
    _refuse_superuser_target(actor, user)
    if user.pk == actor.pk and not active:
        raise PermissionDenied("You cannot deactivate your own account.")
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            end_sessions(user)
        verb = "Reactivated" if active else "Deactivated"
        audit.record(actor, audit.Action.MANAGE_USER, audit.Outcome.OK,
                     message=f"{verb} {user.get_username()}.")


def _lock_and_check_actor(actor, user) -> None:
    """In a transaction: lock `actor`'s and `user`'s accounts until it ends (in the order
    of their ids, so that two such changes wait for each other instead of deadlocking),
    then make sure `actor` is still an active admin, read again from the database rather
    than from what their request loaded; `user` is read again too."""
    User = get_user_model()
    for pk in sorted({actor.pk, user.pk}):
        User.objects.select_for_update().filter(pk=pk).first()
    fresh = User.objects.filter(pk=actor.pk).first()
    if fresh is None or not fresh.is_active or role_of(fresh) != ADMIN:
        raise PermissionDenied(
            "You are no longer an admin: another admin changed your role or account a "
            "moment ago, so this change was not made.")
    user.refresh_from_db()


def change_user(actor, user, *, role: str | None, active: bool | None) -> bool:
    """A new role, a new active state, or both; both or neither, so that a refused half
    does not leave the other applied. True when the role changed (see `set_role`).

    Two admins demoting each other at the same moment both passed the checks (each still
    an admin when their request began) and left nobody able to manage people: hence
    `_lock_and_check_actor` first. With the actor an active admin still, and their own
    role and account not theirs to change, one admin always remains."""
    with transaction.atomic():
        _lock_and_check_actor(actor, user)
        role_changed = bool(role) and set_role(actor, user, role)
        if active is not None:
            set_active(actor, user, active)
    return role_changed


def check_password_settable(actor, user) -> None:
    """Raises PermissionDenied when `actor` may not set `user`'s password (asked before the
    form is shown, too)."""
    _refuse_superuser_target(actor, user)
    if user.pk == actor.pk:
        raise PermissionDenied("Change your own password on your password page.")
    name = user.get_username()
    reset_on_server = ("If they forgot it, ask whoever runs the server to reset it with the "
                       f"command: python manage.py changepassword {name}")
    if role_of(user) == ADMIN:
        # It would let one admin sign in as another, whose name then goes on what they do.
        raise PermissionDenied(f"{name} is another admin, whose password is theirs to "
                               f"change. {reset_on_server}")
    if not actor.is_superuser and FormerAdmin.objects.filter(user=user).exists():
        # Set here, then changed "as them" by whoever set it, it would be taken for theirs
        # when another admin makes them an admin again (see FormerAdmin).
        raise PermissionDenied(f"{name} was an admin before, so their password is not set "
                               f"on this page. {reset_on_server}")


def set_password(actor, user, password: str) -> None:
    """An admin gives someone who forgot theirs a new password (to tell them in person):
    their sessions end, their wrong passwords are forgotten (a lockout from the sign-in
    throttling, which nobody on the site could lift otherwise, ends: they sign in with it
    at once), and the activity log says who did it. Never one's own (that asks for the old
    one first) nor a superuser's. No admin role for them until it is reset on the server
    (see PasswordChosenByAdmin)."""
    with transaction.atomic():
        # Checked again with both accounts locked: not made an admin meanwhile.
        _lock_and_check_actor(actor, user)
        check_password_settable(actor, user)
        user.set_password(password)
        user.save(update_fields=["password"])
        PasswordChosenByAdmin.objects.update_or_create(
            user=user, defaults={"chosen_by": actor, "chosen_at": timezone.now(),
                                 "password_hash": user.password})
        end_sessions(user)
        # By name, from every address: the wrong passwords typed for it (see settings).
        reset_sign_in_failures(username=user.get_username())
        audit.record(actor, audit.Action.MANAGE_USER, audit.Outcome.OK,
                     message=f"Set a new password for {user.get_username()}.")


def sign_in_paused_until(usernames) -> dict[str, datetime]:
    """Whose sign-in the throttling pauses now for wrong passwords typed for their name,
    and until when; one query for all: the failures recorded for the name within the
    cool-off, from every address (see `_paused_until`)."""
    return _paused_until("username", AccessAttempt.objects.filter(username__in=list(usernames)))


def addresses_paused_until() -> dict[str, datetime]:
    """The addresses from which every sign-in is paused now, whatever the name, and until
    when: wrong passwords for several names from one address (an office behind one
    address, or someone trying names) pause everyone behind it."""
    return _paused_until("ip_address", AccessAttempt.objects.exclude(ip_address=None))


def names_tried_from(addresses) -> dict[str, list[str]]:
    """The names wrong passwords were typed for from each address within the cool-off:
    one person's typos, or someone trying names, told apart at a glance."""
    names: dict[str, list[str]] = defaultdict(list)
    for address, username in AccessAttempt.objects.filter(
            ip_address__in=list(addresses),
            attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME).order_by(
            "username").values_list("ip_address", "username").distinct():
        names[address].append(username)
    return names


def _paused_until(key: str, attempts) -> dict[str, datetime]:
    """As django-axes counts them: the failures recorded per `key` within the cool-off,
    against the limit. A pause lifts when enough of them have aged out of the cool-off to
    leave fewer than the limit."""
    now = timezone.now()
    cool_off, limit = settings.AXES_COOLOFF_TIME, settings.AXES_FAILURE_LIMIT
    failures: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for value, at, count in attempts.filter(attempt_time__gte=now - cool_off).values_list(
            key, "attempt_time", "failures_since_start"):
        failures[value].append((at, count))
    paused = {}
    for value, recorded in failures.items():
        left = sum(count for _, count in recorded)
        for at, count in sorted(recorded):
            if left < limit:
                break
            left -= count
            if left < limit:
                paused[value] = at + cool_off
    return paused


def let_sign_in(actor, user) -> None:
    """An admin lifts the pause of someone's sign-in: the wrong passwords typed for their
    name, from every address, are forgotten. The lockout page tells people to ask an
    admin; before, only setting them a new password did this."""
    with transaction.atomic():
        _lock_and_check_actor(actor, user)
        _refuse_superuser_target(actor, user)
        reset_sign_in_failures(username=user.get_username())
        audit.record(actor, audit.Action.MANAGE_USER, audit.Outcome.OK,
                     message=f"Let {user.get_username()} sign in again: the wrong passwords "
                             "typed for their username are forgotten.")


def let_address_sign_in(actor, address: str) -> None:
    """An admin lifts the pause of an address: the wrong passwords typed from it, for every
    name, are forgotten."""
    with transaction.atomic():
        _lock_and_check_actor(actor, actor)
        reset_sign_in_failures(ip=address)
        audit.record(actor, audit.Action.MANAGE_USER, audit.Outcome.OK,
                     message=f"Let {address} sign in again: the wrong passwords typed from "
                             "that address are forgotten.")


@contextmanager
def own_password_change(request, *, old_password: str):
    """Around saving the password someone signed in (`request.user`) chose for themselves,
    `old_password` checked: in one transaction, with their account locked (as an admin's
    new password locks it), then `own_password_changed`."""
    user = request.user
    with transaction.atomic():
        before = (get_user_model().objects.select_for_update().filter(pk=user.pk)
                  .values_list("password", flat=True).first())
        chosen = PasswordChosenByAdmin.objects.filter(user=user).first()
        if (chosen is not None and chosen.password_hash != before
                and not check_password(old_password, chosen.password_hash)):
            # Reset on the server since an admin set it: theirs, and the new one too.
            chosen.delete()
        yield
        own_password_changed(user, current_session=request.session.session_key)


def own_password_changed(user, *, current_session: str) -> None:
    """After someone changed their own password: their other sessions end now, live
    streams included (a stream holds no page request that would notice the new hash). A
    new password made on the site from one an admin set stays in its lineage (see
    PasswordChosenByAdmin): whoever set it could have made the change."""
    end_sessions(user, keep=current_session)
    PasswordChosenByAdmin.objects.filter(user=user).update(password_hash=user.password)
    audit.record(user, audit.Action.MANAGE_USER, audit.Outcome.OK,
                 message=f"{user.get_username()} changed their own password.")


def record_refusal(actor, message: str) -> None:
    audit.record(actor, audit.Action.MANAGE_USER, audit.Outcome.REFUSED,
                 message=f"Not allowed: {message}")


def forget_own_failed_sign_ins(sender, request, user, **kwargs) -> None:
    """On signing in (user_logged_in), forget the wrong passwords typed for this name from
    this address, and no one else's (see AXES_RESET_ON_SUCCESS in settings)."""
    if request is not None and known_devices.passed_lockout(request):
        return  # let through a lockout: the wrong passwords that caused it may be a guesser's
    address = get_client_ip_address(request) if request is not None else None
    if address:  # without one, axes' reset would forget the name's guesses from everywhere
        reset_sign_in_failures(ip=address, username=user.get_username())
