from newsletter.views import digests, preview, subscriptions, webhooks

app_name = "newsletter"

urlpatterns = [
    *subscriptions.urlpatterns,
    *preview.urlpatterns,
    *digests.urlpatterns,
    *webhooks.urlpatterns,
]
