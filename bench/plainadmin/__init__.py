"""A plain DB-backed admin with the runs admin's columns and detail fields, for
``bench/admin_bench.py`` to compare against (not part of the package)."""
