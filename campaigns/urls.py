from django.urls import path, register_converter

from campaigns import catalog_views, stream, views


class AtomsIdConverter:
    """Atoms ids are 24-hex ObjectIds; anything else is a 404 before Atoms is asked."""

    regex = "[0-9a-f]{24}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AtomsIdConverter, "atoms_id")

urlpatterns = [
    path("", views.home, name="home"),
    path("board/", views.board, name="board"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/actions/", views.campaign_actions, name="campaign_actions"),
    path("campaigns/<int:pk>/live/<str:kind>/", views.campaign_fragment,
         name="campaign_fragment"),
    path("campaigns/<int:pk>/start/", views.campaign_start, name="campaign_start"),
    path("campaigns/<int:pk>/pause/", views.campaign_pause, name="campaign_pause"),
    path("campaigns/<int:pk>/delete/", views.campaign_delete, name="campaign_delete"),
    path("activity/", views.activity, name="activity"),
    path("live/", stream.stream, name="live_stream"),
    path("audiences/", catalog_views.audience_list, name="audience_list"),
    path("audiences/new/", catalog_views.audience_new, name="audience_new"),
    path("audiences/<atoms_id:audience_id>/", catalog_views.audience_detail,
         name="audience_detail"),
    path("phone-numbers/", catalog_views.phone_number_list, name="phone_number_list"),
]
