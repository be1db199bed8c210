"""Django's admin site: where admins manage users and roles. Campaign data is shown
read-only there, because every change to a campaign must go through Atoms."""

from django.contrib import admin

from campaigns.models import AuditEntry, Campaign


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "atoms_id", "contacts_called", "contacts_connected",
                    "total_participants", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "atoms_id")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_name", "action", "campaign_name", "outcome", "message")
    list_filter = ("action", "outcome")
    search_fields = ("campaign_name", "actor_name", "atoms_id")
