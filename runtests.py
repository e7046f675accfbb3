#!/usr/bin/env python
"""Run the test suite with Django's test runner.

    python runtests.py                       # everything (browser tests need Chromium)
    python runtests.py tests.core            # one package, module, class or method
    python runtests.py --exclude-tag browser # skip the real-browser tests
    python runtests.py --parallel 1          # in one process (any DiscoverRunner option works)
    python runtests.py --slowest             # then the 15 slowest test classes (--slowest N)

Test classes run in parallel processes, two per CPU core by default: about half of the
suite's time is spent waiting on purpose (timeouts, deadlines, stalls, subprocesses), so one
process waits while another computes. ``--parallel N`` or ``DJANGO_TEST_PROCESSES=N`` sets the
count (``--parallel auto``: one per core, as Django's ``test`` command).
The slowest classes (``SLOW_FIRST``) start first, and the garbage collector is tuned once the
tests are imported (``tune_gc``): see docs/development.md.

Plain ``pytest`` runs the same tests (configured in pyproject.toml and conftest.py).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import unittest
import warnings
from typing import Any

# Test classes that take several seconds (a browser, subprocesses, real waits), slowest first.
# A parallel run starts them first, so that no long one runs alone at the end while the other
# processes have nothing left to do. `runtests.py --slowest` measures them; a class missing
# here only starts in its usual place.
SLOW_FIRST = [
    "tests.browser.test_admin_browser.RunsAdminInABrowserTests",
    "tests.conformance.test_emulator_fuzz.EmulatorFuzzTests",
    "tests.example.test_demo_command.SetupOnlyTests",
    "tests.reliability.test_fault_injection.FaultInjectionTests",
    "tests.example.test_demo_command.ServerTests",
    "tests.core.test_limits.DeadlineTests",
    "tests.conformance.test_sdk_parity.SdkParityTests",
    "tests.docs.test_snippets.DocumentationSnippetTests",
    "tests.emulator.test_pytest_plugin.PytestPluginTests",
    "tests.core.test_sessions.SessionReadTests",
    "tests.core.test_stream_read.ReadTests",
    "tests.admin.test_runs.RunChangelistTests",
    "tests.core.test_shared_rate_limit.TwoProcessesTests",
    "tests.commands.test_command.ProcessExitCodeTests",
    "tests.browser.test_chat_browser.ChatInABrowserTests",
    "tests.core.test_offload.AsyncOffloadTests",
    "tests.core.test_offload.SyncOffloadTests",
    "tests.core.test_async_client.SyncScenarios",
    "tests.core.test_async_client.AsyncScenarios",
    "tests.emulator.test_cli.CliTests",
    "tests.admin.test_schedules.ScheduleAdminTests",
    "tests.views.test_stream_relay.RelayTests",
    "tests.test_startup.StartupTests",
    "tests.core.test_retry.RetryRuleTests",
    "tests.core.test_poll.PollTests",
    "tests.emulator.test_reset.ResetEquivalenceTests",
    "tests.core.test_realtime.SubscribeToRunTests",
    "tests.admin.test_overview.OverviewTests",
    "tests.core.test_record_parser.EveryRecordClassTests",
    "tests.commands.test_runs_export.RunsExportTests",
]


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


def tune_gc() -> None:
    """Once the tests are imported, before any runs (and before the parallel workers fork):
    the garbage collector leaves everything alive now (Django, the test modules) out of its
    full passes, and runs its young pass less often. The suite makes many short-lived objects
    (each emulator reset unpickles a world); most of the collector's CPU went to walking
    long-lived objects again and again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 20, 20)


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its finished subprocesses."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _class_of(suite: unittest.TestSuite) -> type:
    return type(next(iter(suite)))


def _label(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _timed_subsuite(args: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
    """Django's ``_run_subsuite`` (one test class, in a worker), timed."""
    from django.test.runner import ParallelTestSuite

    wall, cpu = time.perf_counter(), _cpu()
    index, events = ParallelTestSuite.run_subsuite(args)
    timing = ("class_timing", -1, time.perf_counter() - wall, _cpu() - cpu)
    return index, [*events, timing]


def make_runner(runner_class: type, slowest: int | None) -> type:
    """``runner_class`` that tunes the garbage collector, starts the classes of
    ``SLOW_FIRST`` first in a parallel run, times every class (set-up and tear-down included)
    and, with ``slowest``, prints that many of the slowest and the totals after the run."""
    from django.test.runner import ParallelTestSuite, partition_suite_by_case

    timings: dict[str, tuple[float, float]] = {}

    class ParallelSuite(ParallelTestSuite):
        run_subsuite = _timed_subsuite

        def handle_event(self, result: Any, tests: Any, event: Any) -> None:
            if event[0] == "class_timing":
                timings[_label(type(tests[0]))] = event[2:]
            else:
                super().handle_event(result, tests, event)

    class SerialSuite(unittest.TestSuite):
        """The suite, one class at a time, each a whole run (its tear-down timed with it)."""

        def run(self, result: Any, debug: bool = False) -> Any:
            for suite in partition_suite_by_case(unittest.TestSuite(list(self))):
                label = _label(_class_of(suite))  # a suite forgets its tests as they run
                result._testRunEntered = False
                wall, cpu = time.perf_counter(), _cpu()
                suite.run(result)
                timings[label] = (time.perf_counter() - wall, _cpu() - cpu)
            return result

    class Runner(runner_class):
        parallel_test_suite = ParallelSuite

        def build_suite(self, *args: Any, **kwargs: Any) -> Any:
            suite = super().build_suite(*args, **kwargs)
            if not isinstance(suite, ParallelSuite):
                return SerialSuite(suite) if slowest is not None else suite
            # Slow classes first, each within its kind: Django runs every TestCase class
            # before the TransactionTestCase ones, which empty the database.
            rank = {label: index for index, label in enumerate(SLOW_FIRST)}
            kinds = (*self.reorder_by, object)
            suite.subsuites = [
                subsuite
                for _, _, _, subsuite in sorted(
                    (
                        next(n for n, kind in enumerate(kinds) if issubclass(cls, kind)),
                        rank.get(_label(cls), len(rank)),
                        index,
                        subsuite,
                    )
                    for index, subsuite in enumerate(suite.subsuites)
                    for cls in [_class_of(subsuite)]
                )
            ]
            return suite

        def run_suite(self, suite: Any, **kwargs: Any) -> Any:
            tune_gc()
            wall = time.perf_counter()
            result = super().run_suite(suite, **kwargs)
            if slowest is not None:
                self.report(slowest, time.perf_counter() - wall)
            return result

        def report(self, show: int, elapsed: float) -> None:
            ranked = sorted(timings.items(), key=lambda item: -item[1][0])
            print(f"\nThe {min(show, len(ranked))} slowest test classes", file=sys.stderr)
            print("   wall     CPU  (seconds)", file=sys.stderr)
            for label, (wall, cpu) in ranked[:show]:
                print(f"{wall:7.2f} {cpu:7.2f}  {label}", file=sys.stderr)
            print(
                f"{len(timings)} classes: {sum(t[0] for t in timings.values()):.1f} s, "
                f"{sum(t[1] for t in timings.values()):.1f} s of CPU; "
                f"the run {elapsed:.1f} s",
                file=sys.stderr,
            )

    return Runner


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
    parser.add_argument(
        "--slowest",
        type=int,
        nargs="?",
        const=15,
        metavar="N",
        help="after the run, list the N slowest test classes (15 by default: wall and CPU "
        "seconds, set-up included) and the totals",
    )
    parser.set_defaults(parallel=None)
    options = vars(parser.parse_args(argv))
    labels = options.pop("labels")
    runner_class = make_runner(runner_class, options.pop("slowest"))
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
