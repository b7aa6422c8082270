from __future__ import annotations

from django.urls import path

from sweeps import views

urlpatterns = [
    path("", views.sweep_list, name="sweep_list"),
    path("new/", views.sweep_new, name="sweep_new"),
    path("<int:pk>/", views.sweep_detail, name="sweep_detail"),
]
