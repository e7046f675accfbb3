#!/usr/bin/env python
"""Run the test suite with Django's test runner.

    python runtests.py                       # everything (browser tests need Chromium)
    python runtests.py tests.core            # one package, module, class or method
    python runtests.py --exclude-tag browser # skip the real-browser tests
    python runtests.py --parallel 1          # in one process (any DiscoverRunner option works)

Test classes run in parallel processes, two per CPU core by default: about half of the
suite's time is spent waiting on purpose (timeouts, deadlines, stalls, subprocesses), so one
process waits while another computes. ``--parallel N`` or ``DJANGO_TEST_PROCESSES=N`` sets the
count (``--parallel auto``: one per core, as Django's ``test`` command).

Plain ``pytest`` runs the same tests (configured in pyproject.toml and conftest.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings


def error_warnings() -> list[tuple[type[Warning], str]]:
    """``(category, module regex)`` of the warnings the suite turns into errors (here and in
    conftest.py for pytest). Our own code must not use anything Django has deprecated, nor
    anything Python or a library has deprecated: a deprecation warning raised from our own code
    (the package, its tests, the example project) is an error, so the next Python or Django
    release does not surprise users."""
    from django.utils import deprecation

    django_removals = [
        category
        for name, category in vars(deprecation).items()
        if isinstance(category, type)
        and issubclass(category, Warning)
        and name.startswith("RemovedInDjango")
    ]
    ours = r"(django_trigger|tests|example_project|dashboard)(\.|$)"
    return [(category, "") for category in django_removals] + [
        (DeprecationWarning, ours),
        (PendingDeprecationWarning, ours),
    ]


def main(argv: list[str]) -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

    import django
    from django.conf import settings
    from django.test.runner import get_max_test_processes
    from django.test.utils import get_runner

    for category, module in error_warnings():
        warnings.filterwarnings("error", category=category, module=module)

    django.setup()
    runner_class = get_runner(settings)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("labels", nargs="*", default=["tests"], help="test labels (default: tests)")
    runner_class.add_arguments(parser)
    parser.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3])
    parser.set_defaults(parallel=None)
    options = vars(parser.parse_args(argv))
    labels = options.pop("labels")
    if options["pdb"]:
        options["parallel"] = options["parallel"] or 1
    elif options["parallel"] is None:
        configured = os.environ.get("DJANGO_TEST_PROCESSES")
        cores = get_max_test_processes()  # 1 where Django cannot run tests in parallel
        options["parallel"] = int(configured) if configured else (2 * cores if cores > 1 else 1)
    if options["parallel"] == "auto":  # resolved by Django's `test` command, so here too
        options["parallel"] = get_max_test_processes()
    runner = runner_class(**options)
    failures = runner.run_tests(labels)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
