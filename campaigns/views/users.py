"""People and roles, for admins: add someone, change their role, deactivate them; and for
everyone, changing their own password.

Every check is made here on the server (`require_perm`) and again in `accounts` (nobody
but a superuser touches a superuser); every change lands in the activity log.
"""

import ipaddress
from contextlib import contextmanager

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from campaigns import accounts
from campaigns.forms import (
    USERNAME_TAKEN,
    OwnPasswordChangeForm,
    PersonPasswordForm,
    UserChangeForm,
    UserCreateForm,
)
from campaigns.models import FormerAdmin
from campaigns.permissions import ADMIN, ROLE_LABELS, require_perm, role_of
from campaigns.ratelimit import atoms_free
from campaigns.views.shared import form_page

USERS_PERMISSION = "auth.change_user"
users_required = require_perm(USERS_PERMISSION, "Managing users", audit_as="manage_user")


def _page(request, form, status=200):
    people = []
    former_admins = set(FormerAdmin.objects.values_list("user_id", flat=True))
    # As people read a list: "admin" before "P3_alice", whatever the case.
    for user in (get_user_model().objects.prefetch_related("groups")
                 .order_by(Lower("username"), "username")):
        role = role_of(user)
        people.append({"user": user, "role": role,
                       "role_label": ROLE_LABELS.get(role, "No role"),
                       # Their password is reset on the server (models.FormerAdmin).
                       "former_admin": user.pk in former_admins})
    paused = accounts.sign_in_paused_until(p["user"].get_username() for p in people)
    for person in people:
        person["paused_until"] = paused.get(person["user"].get_username())
        # Nobody but a superuser touches a superuser (accounts checks it again).
        person["may_change"] = not person["user"].is_superuser or request.user.is_superuser
    addresses = accounts.addresses_paused_until()
    tried = accounts.names_tried_from(addresses)
    paused_addresses = [{"address": address, "until": until, "names": tried[address]}
                        for address, until in sorted(addresses.items())]
    # "Another admin changes your role" said to the only one: nobody here could.
    admins = sum(1 for p in people if p["role"] == ADMIN and p["user"].is_active)
    return render(request, "campaigns/users.html",
                  {"nav": "users", "people": people, "form": form, "roles": ROLE_LABELS,
                   "paused_addresses": paused_addresses, "other_admins": admins > 1},
                  status=status)


@contextmanager
def _refusal_logged(actor):
    """A refusal from `accounts` is written to the activity log, then shown (403)."""
    try:
        yield
    except PermissionDenied as refusal:
        accounts.record_refusal(actor, str(refusal))
        raise


def _still_manages_users(user) -> bool:
    """Read afresh: the permissions cached on the request's user were read before an
    admin who demoted this one meanwhile committed."""
    return get_user_model().objects.get(pk=user.pk).has_perm(USERS_PERMISSION)


@atoms_free
@require_http_methods(["GET", "HEAD", "POST"])
@users_required
def user_list(request):
    """The list of people; POST adds one."""
    if request.method != "POST":  # GET, or HEAD (answered as GET)
        return _page(request, UserCreateForm())
    form = UserCreateForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        user = accounts.create_user(request.user, **form.cleaned_data)
    except IntegrityError:  # the same name, added by another admin a moment ago
        form.add_error("username", USERNAME_TAKEN)
        return _page(request, form, status=400)
    except PermissionDenied as refusal:  # the admin role: said beside it, the form kept
        accounts.record_refusal(request.user, str(refusal))
        form.add_error("role", str(refusal))
        return _page(request, form, status=403)
    messages.success(request, f"{user.get_username()} can now sign in as "
                              f"{ROLE_LABELS[form.cleaned_data['role']]}.")
    return redirect("user_list")


@atoms_free
@require_POST
@users_required
def user_change(request, pk: int):
    """Change one person's role or whether their account is active."""
    user = get_object_or_404(get_user_model(), pk=pk)
    form = UserChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles, or active or deactivated.")
        return redirect("user_list")
    role, active = form.cleaned_data["role"], form.cleaned_data["active"]
    try:
        role_changed = accounts.change_user(request.user, user, role=role, active=active)
    except PermissionDenied as refusal:
        accounts.record_refusal(request.user, str(refusal))
        if not _still_manages_users(request.user):
            raise  # demoted meanwhile: the refusal page, not the list of people
        # Said on the Users page, as it now is, not on a page with only a way out.
        messages.error(request, str(refusal))
        return _page(request, UserCreateForm(), status=403)
    if role and role_changed:
        messages.success(request, f"{user.get_username()} now has the {ROLE_LABELS[role]} role.")
    elif role:
        messages.info(request, f"{user.get_username()} already has the {ROLE_LABELS[role]} role.")
    if active is not None:
        state = "active" if active else "deactivated"
        messages.success(request, f"{user.get_username()}'s account is {state}.")
    return redirect("user_list")


@atoms_free
@require_POST
@users_required
def user_let_sign_in(request, pk: int):
    """Lift the pause wrong passwords put on someone's sign-in."""
    person = get_object_or_404(get_user_model(), pk=pk)
    with _refusal_logged(request.user):
        accounts.let_sign_in(request.user, person)
    messages.success(request, f"{person.get_username()} can sign in again: the wrong "
                              "passwords typed for their username are forgotten.")
    # Back to their row, not the top of a long list (a phone's screen showed other people).
    return redirect(f"{reverse('user_list')}#user-{person.pk}")


@atoms_free
@require_POST
@users_required
def address_let_sign_in(request):
    """Lift the pause wrong passwords from one address put on everyone signing in from it."""
    address = request.POST.get("address", "")
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        messages.error(request, "Choose one of the paused addresses listed.")
        return redirect("user_list")
    with _refusal_logged(request.user):
        accounts.let_address_sign_in(request.user, address)
    messages.success(request, f"Signing in from {address} works again: the wrong passwords "
                              "typed from it are forgotten.")
    return redirect(f"{reverse('user_list')}#paused-addresses")


@atoms_free
@require_http_methods(["GET", "HEAD", "POST"])
@users_required
def user_password(request, pk: int):
    """An admin sets a new password for someone who forgot theirs."""
    person = get_object_or_404(get_user_model(), pk=pk)
    if person.pk == request.user.pk:  # one's own asks for the old one first
        return redirect("password_change")
    try:
        # Before the form, not only on saving it: typed for nothing, then refused.
        accounts.check_password_settable(request.user, person)
    except PermissionDenied as refusal:
        if request.method == "POST":
            accounts.record_refusal(request.user, str(refusal))
        raise
    form = PersonPasswordForm(person, request.POST or None)
    if request.method == "POST" and form.is_valid():
        with _refusal_logged(request.user):  # their role changed since the check above
            accounts.set_password(request.user, person, form.cleaned_data["new_password1"])
        # An address paused for wrong passwords stays paused (their own browser's pass
        # went with the old password): said, or "at once" was untrue (probe).
        paused = len(accounts.addresses_paused_until())
        unless = (f", except from {'the address' if paused == 1 else f'the {paused} addresses'}"
                  " paused for wrong passwords (listed on this page)" if paused else "")
        messages.success(request, f"{person.get_username()} has a new password and was signed "
                                  "out everywhere. They can sign in with it at once, even if "
                                  f"wrong passwords had paused their name{unless}. Tell it to "
                                  "them in person.")
        return redirect("user_list")
    return form_page(request, "campaigns/user_password.html",
                     {"nav": "users", "person": person, "form": form})


class OwnPasswordChange(auth_views.PasswordChangeView):
    """Anyone signed in changes their own password (the old one first). Their other
    sessions end at once, live streams included."""

    template_name = "registration/password_change.html"
    form_class = OwnPasswordChangeForm
    success_url = reverse_lazy("home")
    extra_context = {"title": "Change your password"}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        with accounts.own_password_change(self.request,
                                          old_password=form.cleaned_data["old_password"]):
            response = super().form_valid(form)  # keeps this session, under a new key
        messages.success(self.request, "Your password is changed.")
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 422
        return response


own_password_change = atoms_free(OwnPasswordChange.as_view())
