"""The REST API under /api/: serializers, views, permissions, errors and throttles."""
