from django.urls import path, register_converter

from campaigns.live import stream
from campaigns.views import activity, audiences, board, campaigns, numbers


class AtomsIdConverter:
    """Atoms ids are 24-hex ObjectIds; anything else is a 404 before Atoms is asked."""

    regex = "[0-9a-f]{24}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AtomsIdConverter, "atoms_id")

urlpatterns = [
    path("", campaigns.home, name="home"),
    path("board/", board.board, name="board"),
    path("campaigns/", campaigns.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaigns.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/actions/", campaigns.campaign_actions, name="campaign_actions"),
    path("campaigns/<int:pk>/live/<str:kind>/", campaigns.campaign_fragment,
         name="campaign_fragment"),
    path("campaigns/<int:pk>/start/", campaigns.campaign_start, name="campaign_start"),
    path("campaigns/<int:pk>/pause/", campaigns.campaign_pause, name="campaign_pause"),
    path("campaigns/<int:pk>/delete/", campaigns.campaign_delete, name="campaign_delete"),
    path("activity/", activity.activity, name="activity"),
    path("live/", stream.stream_needs_asgi, name="live_stream"),
    path("audiences/", audiences.audience_list, name="audience_list"),
    path("audiences/new/", audiences.audience_new, name="audience_new"),
    path("audiences/<atoms_id:audience_id>/", audiences.audience_detail,
         name="audience_detail"),
    path("phone-numbers/", numbers.phone_number_list, name="phone_number_list"),
]
