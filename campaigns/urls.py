from django.urls import path, register_converter

from campaigns.live import stream
from campaigns.views import (
    activity,
    alert_routing,
    audiences,
    board,
    calls,
    campaigns,
    notifications,
    numbers,
    users,
)


class AtomsIdConverter:
    """Atoms ids are 24-hex ObjectIds; anything else is a 404 before Atoms is asked."""

    regex = "[0-9a-f]{24}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AtomsIdConverter, "atoms_id")


class CallIdConverter(AtomsIdConverter):
    """Atoms call ids look like CALL-1741771800000-a1b2c3."""

    regex = "CALL-[0-9]{6,20}-[0-9a-zA-Z]{3,32}"


register_converter(CallIdConverter, "call_id")

urlpatterns = [
    path("", campaigns.home, name="home"),
    path("board/", board.board, name="board"),
    path("campaigns/", campaigns.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaigns.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/actions/", campaigns.campaign_actions, name="campaign_actions"),
    path("campaigns/<int:pk>/activity/", campaigns.campaign_activity,
         name="campaign_activity"),
    path("campaigns/rows/", campaigns.campaign_rows, name="campaign_rows"),
    path("campaigns/<int:pk>/live/<str:kind>/", campaigns.campaign_fragment,
         name="campaign_fragment"),
    path("campaigns/<int:pk>/calls/", calls.campaign_calls, name="campaign_calls"),
    path("campaigns/<int:pk>/calls/<call_id:call_id>/", calls.campaign_call,
         name="campaign_call"),
    path("campaigns/<int:pk>/calls/<call_id:call_id>/recording/", calls.call_recording,
         name="call_recording"),
    path("campaigns/<int:pk>/calls/<call_id:call_id>/live/", calls.call_live,
         name="call_live"),
    path("campaigns/<int:pk>/export/<str:kind>.csv", calls.campaign_export,
         name="campaign_export"),
    path("campaigns/<int:pk>/preflight/", campaigns.campaign_preflight,
         name="campaign_preflight"),
    path("campaigns/<int:pk>/calling-hours/", campaigns.campaign_calling_hours,
         name="campaign_calling_hours"),
    path("campaigns/<int:pk>/start/", campaigns.campaign_start, name="campaign_start"),
    path("campaigns/<int:pk>/start-filtered/", campaigns.campaign_start_filtered,
         name="campaign_start_filtered"),
    path("campaigns/<int:pk>/cancel-held-start/", campaigns.campaign_cancel_held_start,
         name="campaign_cancel_held_start"),
    path("campaigns/<int:pk>/pause/", campaigns.campaign_pause, name="campaign_pause"),
    path("campaigns/<int:pk>/delete/", campaigns.campaign_delete, name="campaign_delete"),
    path("campaigns/<int:pk>/delete/outcome/", campaigns.campaign_delete_outcome,
         name="campaign_delete_outcome"),
    path("activity/", activity.activity, name="activity"),
    path("alerts/", notifications.notification_list, name="notification_list"),
    path("alerts/badge/", notifications.notification_badge, name="notification_badge"),
    path("alerts/routing/", alert_routing.alert_routing, name="alert_routing"),
    path("alerts/routing/people/<int:pk>/", alert_routing.alert_choice, name="alert_choice"),
    path("alerts/routing/webhooks/<int:pk>/remove/", alert_routing.webhook_remove,
         name="webhook_remove"),
    path("users/", users.user_list, name="user_list"),
    path("users/<int:pk>/", users.user_change, name="user_change"),
    path("users/<int:pk>/password/", users.user_password, name="user_password"),
    path("users/<int:pk>/let-sign-in/", users.user_let_sign_in, name="user_let_sign_in"),
    path("users/addresses/let-sign-in/", users.address_let_sign_in,
         name="address_let_sign_in"),
    path("accounts/password/", users.own_password_change, name="password_change"),
    path("live/", stream.stream_needs_asgi, name="live_stream"),
    path("audiences/", audiences.audience_list, name="audience_list"),
    path("audiences/new/", audiences.audience_new, name="audience_new"),
    path("audiences/uploads/<uuid:token>/", audiences.audience_upload, name="audience_upload"),
    path("audiences/uploads/<uuid:token>/confirm/", audiences.audience_upload_confirm,
         name="audience_upload_confirm"),
    path("audiences/uploads/<uuid:token>/progress/", audiences.audience_upload_progress,
         name="audience_upload_progress"),
    path("audiences/uploads/<uuid:token>/rejected.csv", audiences.audience_upload_rejected,
         name="audience_upload_rejected"),
    path("audiences/<atoms_id:audience_id>/", audiences.audience_detail,
         name="audience_detail"),
    path("audiences/<atoms_id:audience_id>/members/add/", audiences.audience_member_add,
         name="audience_member_add"),
    path("audiences/<atoms_id:audience_id>/members/remove/", audiences.audience_members_remove,
         name="audience_members_remove"),
    path("audiences/<atoms_id:audience_id>/delete/", audiences.audience_delete,
         name="audience_delete"),
    path("do-not-call/", audiences.suppression_list, name="suppression_list"),
    path("do-not-call/add/", audiences.suppression_add, name="suppression_add"),
    path("do-not-call/import/", audiences.suppression_import, name="suppression_import"),
    path("do-not-call/<int:pk>/remove/", audiences.suppression_remove,
         name="suppression_remove"),
    path("do-not-call/from-call/", audiences.suppression_from_call,
         name="suppression_from_call"),
    path("phone-numbers/", numbers.phone_number_list, name="phone_number_list"),
]
