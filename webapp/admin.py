"""Users added in the admin follow the same username rule as sign-up (webapp/usernames.py)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from webapp.accounts import AdminSignupForm

User = get_user_model()


class LayerloomUserAdmin(UserAdmin):
    add_form = AdminSignupForm


admin.site.unregister(User)
admin.site.register(User, LayerloomUserAdmin)
