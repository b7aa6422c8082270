"""The database cache's table, so that `migrate` alone leaves no request failing for want of it.

Throttle and sign-in counters live in the cache (settings.CACHES); without Redis that is
the table `layerloom_cache`. createcachetable skips tables that exist and caches that are
not in the database, so this is safe to run anywhere, as is running the command again.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    atomic = False
    dependencies = []
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=True)]
