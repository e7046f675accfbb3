"""The runs admin against a plain DB-backed admin with the same columns, side by side.

    python bench/admin_bench.py                  # 30 rounds
    python bench/admin_bench.py --rounds 60

One process: Django configured here (SQLite in memory, the contrib admin, django_trigger and
``bench/plainadmin``, a ModelAdmin over an ordinary table with the runs admin's list columns,
display functions, filters on the same fields and the detail's fields). The emulator runs in
a child process (10,000 runs), so the CPU time measured here is the admin's and the client's,
never the emulator's; the plain admin's SQLite queries run in this process and count.

The plain table holds the same 100 runs the API's first page returns. Both changelists show
100 rows (``list_per_page`` = 100), both details are read-only. Each round requests the four
pages in ABBA order with a logged-in superuser (Django's test client); CPU per request
(``time.process_time``), medians over rounds, their ratio (runs / plain) against the goal
(<= 1.0), and the spread of the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from client_bench import start_emulator  # noqa: E402


def configure(api_url: str, secret_key: str) -> None:
    import django
    from django.conf import settings

    urls = types.ModuleType("admin_bench_urls")
    sys.modules["admin_bench_urls"] = urls
    settings.configure(
        DEBUG=False,
        SECRET_KEY="admin-bench",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        ROOT_URLCONF="admin_bench_urls",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django_trigger",
            "plainadmin",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        STATIC_URL="/static/",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        TRIGGER={"default": {"ACCESS_TOKEN": secret_key, "API_URL": api_url}},
    )
    django.setup()
    from django.contrib import admin
    from django.urls import path

    urls.urlpatterns = [path("admin/", admin.site.urls)]  # type: ignore[attr-defined]


def fill_plain_table() -> tuple[str, str]:
    """The API's first 100 runs as PlainRun rows; the ids of the first run (both sides)."""
    from plainadmin.models import PlainRun

    from django_trigger import get_client

    client = get_client()
    page = client.runs.list(limit=100)
    run = client.runs.retrieve(page.data[0].id)
    rows = []
    for item in page.data:
        rows.append(
            PlainRun(
                id=item.id,
                task_identifier=item.task_identifier,
                status=item.status.value,
                is_test=item.is_test,
                version=item.version,
                idempotency_key=item.idempotency_key,
                created_at=item.created_at,
                updated_at=item.updated_at,
                started_at=item.started_at,
                finished_at=item.finished_at,
                delayed_until=item.delayed_until,
                expired_at=item.expired_at,
                ttl=item.ttl,
                duration_ms=item.duration_ms,
                cost_in_cents=item.cost_in_cents,
                base_cost_in_cents=item.base_cost_in_cents,
                region=item.region,
                depth=item.depth,
                tags=list(item.tags),
                payload=run.payload if item.id == run.id else None,
                output=run.output if item.id == run.id else None,
                metadata=run.metadata if item.id == run.id else None,
                attempts=run.attempts if item.id == run.id else [],
                trigger_function=run.trigger_function if item.id == run.id else None,
            )
        )
    PlainRun.objects.bulk_create(rows)
    return page.data[0].id, run.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    server = start_emulator(args.runs)
    try:
        configure(server.base_url, server.secret_key)
        from django.contrib import admin
        from django.contrib.admin.utils import quote
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.test import Client

        from django_trigger.models import Run

        call_command("migrate", run_syncdb=True, verbosity=0)
        admin.site._registry[Run].list_per_page = 100  # the same 100 rows as the plain admin
        first_id, _ = fill_plain_table()
        browser = Client()
        browser.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
        pages = {
            "changelist, runs admin": "/admin/django_trigger/run/",
            "changelist, plain admin": "/admin/plainadmin/plainrun/",
            "detail, runs admin": f"/admin/django_trigger/run/{quote(first_id)}/change/",
            "detail, plain admin": f"/admin/plainadmin/plainrun/{quote(first_id)}/change/",
        }
        for name, url in pages.items():  # warm up, and check both show the same rows
            response = browser.get(url)
            assert response.status_code == 200, (name, response.status_code)
            if name.startswith("changelist"):
                rows = response.content.count(b'class="field-task_identifier"')
                assert rows == 100, (name, rows)
        cpu: dict[str, list[float]] = {name: [] for name in pages}
        names = list(pages)
        for index in range(args.rounds):
            for name in names if index % 2 == 0 else names[::-1]:
                started = time.process_time()
                browser.get(pages[name])
                cpu[name].append((time.process_time() - started) * 1000)
    finally:
        server.stop()
    median = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"CPU per request in this process, median of {args.rounds} rounds (ABBA):")
    for kind in ("changelist", "detail"):
        ours, plain = cpu[f"{kind}, runs admin"], cpu[f"{kind}, plain admin"]
        ratio = median[f"{kind}, runs admin"] / median[f"{kind}, plain admin"]
        q1, _, q3 = statistics.quantiles([a / b for a, b in zip(ours, plain, strict=True)], n=4)
        label = f"{kind} ({'100 rows' if kind == 'changelist' else 'one run'})"
        print(
            f"  {label:<22} runs admin {statistics.median(ours):6.1f} ms, plain admin "
            f"{statistics.median(plain):6.1f} ms, ratio {ratio:.2f} (paired ratios "
            f"interquartile {q1:.2f}-{q3:.2f}) => goal <= 1.0: {'met' if ratio <= 1 else 'NOT met'}"
        )
    print(f"(load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
