"""URL configuration. Feature apps add their own include() lines here."""

from django.contrib import admin
from django.urls import include, path

from builder import architecture_views, dataset_views
from builder import views as builder_views
from serving import pages as serving_pages
from webapp import accounts, health, views
from workers import views as job_views

# The admin's log-in meets the same sign-in limits as the site's.
admin.site.login_form = accounts.AdminLoginForm

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("datasets/demo/", builder_views.add_demo_dataset, name="add_demo_dataset"),
    path("accounts/signup/", accounts.signup, name="signup"),
    # Before django.contrib.auth's own: log-in with sign-in limits, reset only with e-mail.
    path("accounts/login/", accounts.login_view, name="login"),
    path("accounts/password_reset/", accounts.password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("datasets/", dataset_views.dataset_list, name="dataset_list"),
    path("datasets/upload/", dataset_views.dataset_upload, name="dataset_upload"),
    path("datasets/<int:pk>/", dataset_views.dataset_detail, name="dataset_detail"),
    path("datasets/<int:pk>/thumbs/<str:name>", dataset_views.dataset_thumbnail, name="dataset_thumbnail"),
    path("jobs/", job_views.job_list, name="job_list"),
    path("jobs/new/", job_views.job_new, name="job_new"),
    path("jobs/compare/", job_views.job_compare, name="job_compare"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job_detail"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("sweeps/", include("sweeps.urls")),
    path("architectures/", architecture_views.architecture_list, name="architecture_list"),
    path("architectures/new/", architecture_views.architecture_new, name="architecture_new"),
    path("architectures/<int:pk>/", architecture_views.architecture_detail, name="architecture_detail"),
    # The predict page; its script calls POST /api/jobs/<id>/predict/.
    path("jobs/<int:pk>/predict/", serving_pages.predict_page, name="job_predict"),
]
