"""The unmanaged models' migration is complete, and creates no table."""

from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test import TestCase


class MigrationTests(TestCase):
    def test_no_missing_migration(self):
        out = StringIO()
        # --check exits non-zero when the models changed without a migration.
        call_command("makemigrations", "django_trigger", check=True, dry_run=True, stdout=out)
        self.assertIn("No changes detected", out.getvalue())

    def test_no_table(self):
        tables = connection.introspection.table_names()
        self.assertFalse([t for t in tables if t.startswith("django_trigger")])
