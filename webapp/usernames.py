"""Usernames people cannot mistake for one another.

Unicode lets "аlice" (Cyrillic а) sit beside "alice"; rather than chase every look-alike,
new usernames are plain ASCII (letters, digits and @ . + - _). The rule is stated on the
forms. (Django's creation forms already refuse a name that differs only in letter case.)
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

RULE = "Letters a-z and A-Z, digits and @ . + - _ only (no accents or other scripts), at most 150 characters."
_ALLOWED = re.compile(r"[A-Za-z0-9@.+\-_]+")


def validate_new_username(username: str) -> None:
    """Raise ValidationError naming the problem unless `username` may be given to a new account."""
    if not _ALLOWED.fullmatch(username):
        raise ValidationError(f"This username has characters that are not allowed. {RULE}", code="invalid_username")
