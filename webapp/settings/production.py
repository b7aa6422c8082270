"""Production settings: secrets come from the environment with no default.

A missing SECRET_KEY or ALLOWED_HOSTS stops the process with a message naming it.
"""

from __future__ import annotations

from webapp.settings.base import *  # noqa: F403
from webapp.settings.env import env_bool, env_int, env_list, env_str

SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
DEBUG = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The demo account's password is public: off unless an operator turns it on, and even then
# ensure_demo_user only creates a missing account, never resets a changed password.
LAYERLOOM_DEMO_ACCOUNT = env_bool("LAYERLOOM_DEMO_ACCOUNT", False)
LAYERLOOM_DEMO_RESETS_PASSWORD = False

# Keep database connections between requests (checked before reuse): opening one per
# request costs more than a whole prediction of a small model.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
