from django.urls import path, re_path

from papers import feeds, views

app_name = "papers"

urlpatterns = [
    path("", views.paper_list, name="list"),
    # Before the paper pattern below, which would take "week/2026-W19" for an old-style arXiv id.
    path("week/", views.paper_latest_week, name="latest-week"),
    path("week/<str:week>/", views.paper_week, name="week"),
    path("month/", views.paper_latest_month, name="latest-month"),
    path("month/<str:month>/", views.paper_month, name="month"),
    path("feed/", feeds.paper_feed, name="feed"),
    # `path`: a name may hold a slash ("A/B Testing Group"); reverse() percent-encodes the rest.
    path("authors/<path:name>/", views.paper_author, name="author"),
    # New-style (2401.12345) and old-style (hep-th/9901001) arXiv ids, with an optional version
    # suffix that the view strips by redirecting.
    re_path(r"^(?P<arxiv_id>[A-Za-z0-9.\-/]+?)(?P<version>v\d+)?/$", views.paper_detail, name="detail"),
]
