from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from campaigns.views.signin import SignInView

urlpatterns = [
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("campaigns.urls")),
]

# Friendly error pages (campaigns/errors.py), also in the demo: Django's debug pages list
# every URL and its own production pages say nothing useful.
handler400 = "campaigns.errors.handler400"
handler403 = "campaigns.errors.handler403"
handler404 = "campaigns.errors.handler404"
handler500 = "campaigns.errors.handler500"
