from django.urls import path, re_path

from papers import views

app_name = "papers"

urlpatterns = [
    path("", views.paper_list, name="list"),
    # New-style (2401.12345) and old-style (hep-th/9901001) arXiv ids, with an optional version
    # suffix that the view strips by redirecting.
    re_path(r"^(?P<arxiv_id>[A-Za-z0-9.\-/]+?)(?P<version>v\d+)?/$", views.paper_detail, name="detail"),
]
