"""URL configuration. Feature apps add their own include() lines here."""

from django.contrib import admin
from django.urls import include, path

from builder import dataset_views
from builder import views as builder_views
from webapp import accounts, health, views
from workers import views as job_views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("datasets/demo/", builder_views.add_demo_dataset, name="add_demo_dataset"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    # --- Pages: datasets and jobs (ui-pages) ---
    path("datasets/", dataset_views.dataset_list, name="dataset_list"),
    path("datasets/upload/", dataset_views.dataset_upload, name="dataset_upload"),
    path("datasets/<int:pk>/", dataset_views.dataset_detail, name="dataset_detail"),
    path("datasets/<int:pk>/thumbs/<str:name>", dataset_views.dataset_thumbnail, name="dataset_thumbnail"),
    path("jobs/", job_views.job_list, name="job_list"),
    path("jobs/new/", job_views.job_new, name="job_new"),
    path("jobs/compare/", job_views.job_compare, name="job_compare"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job_detail"),
    # --- end Pages: datasets and jobs
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]
