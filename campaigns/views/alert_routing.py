"""Alert routing, for admins: which alerts each person is told of, and the teams' webhooks
with every delivery's fate (sent, retrying and why, given up and why)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from campaigns import alerts, webhooks
from campaigns.forms import AlertChoiceForm, AlertWebhookForm
from campaigns.models import Alert, AlertChoice, AlertWebhook, WebhookDelivery
from campaigns.permissions import ROLE_LABELS, require_perm, role_of
from campaigns.ratelimit import atoms_free

routing_required = require_perm("auth.change_user", "Routing alerts", audit_as="alert_routing")


def _page(request, form, status=200):
    chosen = dict(AlertChoice.objects.values_list("user_id", "kinds"))
    people = [{"user": person, "role_label": ROLE_LABELS.get(role_of(person), "No role"),
               "kinds": chosen.get(person.pk), "by_role": person.pk not in chosen}
              for person in get_user_model().objects.filter(is_active=True)
              .prefetch_related("groups").order_by("username")]
    hooks = AlertWebhook.objects.annotate(
        sent=Count("deliveries", filter=Q(deliveries__state=WebhookDelivery.State.SENT)),
        retrying=Count("deliveries", filter=Q(deliveries__state=WebhookDelivery.State.PENDING,
                                              deliveries__attempts__gt=0)),
        failed=Count("deliveries", filter=Q(deliveries__state=WebhookDelivery.State.FAILED)))
    hooks = list(hooks)
    for hook in hooks:
        hook.gets = webhooks.describe_kinds(hook.kinds)
    recent = (WebhookDelivery.objects.select_related("webhook", "alert", "alert__campaign")
              .exclude(state=WebhookDelivery.State.PENDING, attempts=0)[:30])
    return render(request, "campaigns/alert_routing.html", {
        "nav": "alerts", "people": people, "kinds": Alert.Kind.choices, "hooks": hooks,
        "recent": recent, "form": form,
    }, status=status)


@atoms_free
@require_http_methods(["GET", "HEAD", "POST"])
@routing_required
def alert_routing(request):
    """The page; POST adds a webhook."""
    if request.method != "POST":  # GET, or HEAD (answered as GET)
        return _page(request, AlertWebhookForm())
    form = AlertWebhookForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    hook = webhooks.add(request.user, **form.cleaned_data)
    messages.success(request, f"Alerts now go to “{hook.name}” "
                              f"({webhooks.describe_kinds(hook.kinds).lower()}).")
    return redirect("alert_routing")


@atoms_free
@require_POST
@routing_required
def alert_choice(request, pk: int):
    person = get_object_or_404(get_user_model(), pk=pk, is_active=True)
    form = AlertChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the alerts from the list.")
        return redirect("alert_routing")
    # Kinds ticked say what is wanted, even with "By role" left ticked from before (it is
    # ticked whenever the role's default applies): the role's default only when none are.
    kinds = form.cleaned_data["kinds"]
    by_role = form.cleaned_data["by_role"] and not kinds
    told = alerts.set_choice(request.user, person, None if by_role else kinds)
    # Said in full, so "By role" left ticked beside kinds, or nothing ticked, is no surprise.
    messages.success(request, f"Saved: {told}"
                              + (" (the kinds ticked, not their role's default)."
                                 if kinds and form.cleaned_data["by_role"] else "."))
    return redirect("alert_routing")


@atoms_free
@require_POST
@routing_required
def webhook_remove(request, pk: int):
    hook = get_object_or_404(AlertWebhook, pk=pk)
    webhooks.remove(request.user, hook)
    messages.success(request, f"Alerts no longer go to “{hook.name}”.")
    return redirect("alert_routing")
