"""A mixed workload under ~30 % injected faults of every kind, with the emulator answering as
the real service does (request idempotency only where the service honours it).

Every call must end with the right result, or with ``OutcomeUnknownError`` where the client
cannot know whether the server acted; afterwards the emulator's state is checked through the
API: no duplicated run, batch, schedule, bulk action or variable, and no empty batch reported
as a success. Calls that the client can always make safe (the server deduplicates them, or they
are idempotent) must never end unknown.

The faults are queued per operation on the route it calls (a seeded choice, so every run of the
suite sees the same sequence): 5xx before or after the handler ran, a connection dropped
before or after the handler ran, a stall past the client's read timeout (the handler then runs
late), 408/409, and a 429 with the rate limiter's headers.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django_trigger.exceptions import OutcomeUnknownError

from ..core.base import ClientTestCase

FAULT_SHARE = 0.3
OPERATIONS = 200
READ_TIMEOUT = 1.0  # of the client that meets a stall (the others keep the default)
STALL = 1.5  # past READ_TIMEOUT: the client gives up, then the server acts (released then)

# (name, how to queue it on the emulator's faults for one route)
FAULT_KINDS: list[tuple[str, Callable[[Any, str, str, int], None]]] = [
    ("500 before", lambda f, m, p, n: f.fail_next(n, 500, path=p, method=m)),
    ("502 before", lambda f, m, p, n: f.fail_next(n, 502, path=p, method=m)),
    ("503 before", lambda f, m, p, n: f.fail_next(n, 503, path=p, method=m)),
    ("500 after", lambda f, m, p, n: f.fail_next(1, 500, path=p, method=m, after_processing=True)),
    ("503 after", lambda f, m, p, n: f.fail_next(1, 503, path=p, method=m, after_processing=True)),
    ("drop before", lambda f, m, p, n: f.drop_next(n, path=p, method=m)),
    ("drop after", lambda f, m, p, n: f.drop_next(1, path=p, method=m, after_processing=True)),
    ("stall", lambda f, m, p, n: f.stall_next(1, STALL, path=p, method=m)),
    ("408", lambda f, m, p, n: f.fail_next(n, 408, path=p, method=m)),
    ("409", lambda f, m, p, n: f.fail_next(n, 409, path=p, method=m)),
    ("429", lambda f, m, p, n: f.rate_limit_next(n, reset_after=0.02, path=p, method=m)),
]


@dataclass
class Outcome:
    operation: str
    fault: str | None
    unknown: bool


class FaultInjectionTests(ClientTestCase):
    emulator_options = {"runs": 40}

    def setUp(self) -> None:
        super().setUp()
        self.rng = random.Random(20261130)
        retry = {"min_delay": 0.001, "max_delay": 0.01}
        # The short read timeout only where a stall is queued: on a loaded machine an answer
        # with no fault can take longer than that, and the call ended unknown with no fault.
        self.steady_client = self.make_client(retry=retry)
        self.stall_client = self.make_client(timeout=READ_TIMEOUT, retry=retry)
        self.client_under_test = self.steady_client
        self.observer = self.make_client(retry={"max_attempts": 1})
        self.task = self.emulator.tasks[0]
        self.started_ms = int(time.time() * 1000)
        self.outcomes: list[Outcome] = []
        self.triggered: list[str] = []  # run ids created by the workload, known to exist
        self.live: set[str] = set()  # of those, the ones not cancelled
        self.variables: dict[str, str] = {}
        self.schedules: list[str] = []  # deduplication keys
        self.seeded_runs = [run.id for run in self.observer.runs.list(limit=20)]

    # -- fault queueing ---------------------------------------------------------------------

    def maybe_fault(self, method: str, path: str) -> str | None:
        if self.rng.random() >= FAULT_SHARE:
            return None
        name, queue = self.rng.choice(FAULT_KINDS)
        queue(self.emulator.faults, method, path, self.rng.choice((1, 1, 2)))
        return name

    def run_op(
        self,
        operation: str,
        method: str,
        path: str,
        call: Callable[[], Any],
        *,
        may_be_unknown: bool,
    ) -> tuple[Any, bool, str | None]:
        stalled = self.stalled()
        fault = self.maybe_fault(method, path)
        self.client_under_test = self.stall_client if fault == "stall" else self.steady_client
        try:
            result, unknown = call(), False
        except OutcomeUnknownError as exc:
            message = str(exc)
            self.assertNotIn(self.emulator.secret_key, message)
            self.assertTrue(may_be_unknown, f"{operation} ({fault}) ended unknown: {message}")
            result, unknown = exc, True
        if fault == "stall":  # let the stalled handler finish before looking at the state
            self.emulator.faults.release_stalls()  # the client gave up: the server acts late
            deadline = time.monotonic() + 30
            while self.stalled() == stalled:
                self.assertLess(time.monotonic(), deadline, "the stalled request never ended")
                time.sleep(0.02)
        self.emulator.faults.clear()
        self.outcomes.append(Outcome(operation, fault, unknown))
        return result, unknown, fault

    def stalled(self) -> int:
        """Stalled requests the emulator has finished (journalled once handled)."""
        return sum(entry.fault == "stall" for entry in self.emulator.journal.entries)

    # -- state through the API (no faults pending) ------------------------------------------

    def new_runs(self, since_ms: int) -> list[Any]:
        return list(self.observer.runs.list(from_=since_ms))

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    # -- operations ---------------------------------------------------------------------------

    def op_trigger(self, index: int) -> None:
        since = self.now_ms()
        tag = f"op-{index}"
        # Without a run idempotency key the service does not deduplicate a trigger (its
        # request-idempotency store ignores the SDK's header), so a lost answer is unknown.
        result, unknown, fault = self.run_op(
            "tasks.trigger",
            "POST",
            f"/api/v1/tasks/{self.task}/trigger",
            lambda: self.client_under_test.tasks.trigger(self.task, {"n": index}, tags=[tag]),
            may_be_unknown=True,
        )
        runs = [run for run in self.new_runs(since) if tag in run.tags]
        if unknown:
            self.assertLessEqual(len(runs), 1, f"trigger duplicated with {fault}")
            return
        self.assertEqual([run.id for run in runs], [result.id], f"trigger with {fault}")
        self.triggered.append(result.id)
        self.live.add(result.id)

    def op_trigger_keyed(self, index: int) -> None:
        # Every key is used twice: once new, once cached.
        use = self.keyed_uses = getattr(self, "keyed_uses", -1) + 1
        key = f"order-{use // 2}"
        since = self.now_ms()
        result, _, fault = self.run_op(
            "tasks.trigger keyed",
            "POST",
            f"/api/v1/tasks/{self.task}/trigger",
            lambda: self.client_under_test.tasks.trigger(self.task, {}, idempotency_key=key),
            may_be_unknown=False,
        )
        created = self.new_runs(since)
        if use % 2 == 0:
            self.assertEqual([run.id for run in created], [result.id], f"keyed with {fault}")
            self.triggered.append(result.id)
        else:
            self.assertEqual(created, [], f"the second trigger with a key ({fault}) made a run")
            self.assertTrue(result.is_cached)

    def op_batch(self, index: int, keyed: bool) -> None:
        since = self.now_ms()
        items = [{"task": self.task, "payload": {"i": i}} for i in range(self.rng.randint(1, 3))]
        key = f"batch-{index}" if keyed else None
        route = self.rng.choice(("/api/v3/batches", "/api/v3/batches/*/items"))
        handle, unknown, fault = self.run_op(
            "batch_trigger keyed" if keyed else "batch_trigger",
            "POST",
            route,
            lambda: self.client_under_test.tasks.batch_trigger(items, idempotency_key=key),
            may_be_unknown=not keyed,
        )
        created = self.new_runs(since)
        if unknown:
            self.assertIn(len(created), (0, len(items)), f"batch, {fault}")
            return
        self.assertEqual(handle.run_count, len(items))
        in_batch = list(self.observer.runs.list(batch=handle.id))
        self.assertEqual(len(in_batch), len(items), f"batch reported as a success, {fault}")
        self.assertEqual(len(created), len(items), f"duplicated batch runs, {fault}")
        self.triggered.extend(run.id for run in in_batch)

    def op_replay(self, index: int) -> None:
        source = self.rng.choice(self.seeded_runs)
        since = self.now_ms()
        result, unknown, fault = self.run_op(
            "runs.replay",
            "POST",
            f"/api/v1/runs/{source}/replay",
            lambda: self.client_under_test.runs.replay(source),
            may_be_unknown=True,
        )
        created = self.new_runs(since)
        if unknown:
            self.assertLessEqual(len(created), 1, f"replay duplicated with {fault}")
        else:
            self.assertEqual([run.id for run in created], [result.id], f"replay, {fault}")

    def op_cancel(self, index: int) -> None:
        if not self.triggered:
            return
        run_id = self.rng.choice(self.triggered)
        self.live.discard(run_id)
        self.run_op(
            "runs.cancel",
            "POST",
            f"/api/v2/runs/{run_id}/cancel",
            lambda: self.client_under_test.runs.cancel(run_id),
            may_be_unknown=False,
        )
        status = self.observer.runs.retrieve(run_id).status
        self.assertIn(str(getattr(status, "value", status)), ("CANCELED", "COMPLETED", "FAILED"))

    def op_tags(self, index: int) -> None:
        if not self.triggered:
            return
        run_id = self.rng.choice(self.triggered)
        tag = f"t{index}"
        _, unknown, fault = self.run_op(
            "runs.add_tags",
            "POST",
            f"/api/v1/runs/{run_id}/tags",
            lambda: self.client_under_test.runs.add_tags(run_id, [tag]),
            may_be_unknown=True,
        )
        tags = self.observer.runs.retrieve(run_id).tags
        if not unknown:
            self.assertIn(tag, tags, f"tags, {fault}")
        self.assertLessEqual(tags.count(tag), 1)

    def op_metadata(self, index: int) -> None:
        if not self.live:
            return  # a finished run's metadata cannot change (422)
        run_id = self.rng.choice(sorted(self.live))
        metadata = {"step": index}
        _, unknown, fault = self.run_op(
            "runs.update_metadata",
            "PUT",
            f"/api/v1/runs/{run_id}/metadata",
            lambda: self.client_under_test.runs.update_metadata(run_id, metadata),
            may_be_unknown=True,
        )
        if not unknown:
            self.assertEqual(self.observer.runs.retrieve(run_id).metadata, metadata, fault)

    def op_schedule(self, index: int) -> None:
        key = f"sched-{index // 2}"
        result, _, fault = self.run_op(
            "schedules.create",
            "POST",
            "/api/v1/schedules",
            lambda: self.client_under_test.schedules.create(
                task=self.emulator.scheduled_tasks[0], cron="0 * * * *", deduplication_key=key
            ),
            may_be_unknown=False,
        )
        same_key = [s for s in self.observer.schedules.list() if s.deduplication_key == key]
        self.assertEqual([s.id for s in same_key], [result.id], f"schedule, {fault}")
        if key not in self.schedules:
            self.schedules.append(key)

    def op_schedule_delete(self, index: int) -> None:
        if not self.schedules:
            return
        key = self.schedules.pop(self.rng.randrange(len(self.schedules)))
        schedule_id = next(
            s.id for s in self.observer.schedules.list() if s.deduplication_key == key
        )
        self.run_op(
            "schedules.delete",
            "DELETE",
            f"/api/v1/schedules/{schedule_id}",
            lambda: self.client_under_test.schedules.delete(schedule_id),
            may_be_unknown=True,
        )
        remaining = [s for s in self.observer.schedules.list() if s.deduplication_key == key]
        # Unknown or not, a delete that reached the server leaves nothing; one that did not
        # may leave the schedule (then it is known again for later deletes).
        if remaining:
            self.assertTrue(self.outcomes[-1].unknown, "schedule still there after a success")
            self.schedules.append(key)

    def envvars_path(self, suffix: str = "") -> str:
        return f"/api/v1/projects/{self.emulator.project_ref}/envvars/*{suffix}"

    def remote_variables(self) -> dict[str, str]:
        return {v.name: v.value for v in self.observer.envvars.list()}

    def op_envvar_create(self, index: int) -> None:
        name, value = f"FI_VAR_{index}", f"value-{index}"
        self.run_op(
            "envvars.create",
            "POST",
            self.envvars_path(),
            lambda: self.client_under_test.envvars.create(name, value),
            may_be_unknown=False,
        )
        self.assertEqual(self.remote_variables().get(name), value)
        self.variables[name] = value

    def op_envvar_import(self, index: int) -> None:
        values = {f"FI_IMPORT_{index}_{i}": f"v{index}.{i}" for i in range(2)}
        _, unknown, fault = self.run_op(
            "envvars.upload",
            "POST",
            self.envvars_path("/import"),
            lambda: self.client_under_test.envvars.upload(values),
            may_be_unknown=True,
        )
        remote = self.remote_variables()
        present = {name: remote.get(name) for name in values}
        if unknown:
            self.assertIn(list(present.values()), ([None, None], list(values.values())))
        else:
            self.assertEqual(present, values, f"import, {fault}")
        self.variables.update({k: v for k, v in present.items() if v is not None})

    def op_envvar_delete(self, index: int) -> None:
        if not self.variables:
            return
        name = self.rng.choice(sorted(self.variables))
        _, unknown, fault = self.run_op(
            "envvars.delete",
            "DELETE",
            self.envvars_path(f"/{name}"),
            lambda: self.client_under_test.envvars.delete(name),
            may_be_unknown=True,
        )
        still_there = name in self.remote_variables()
        if not unknown:
            self.assertFalse(still_there, f"delete reported done, {fault}")
        if not still_there:
            del self.variables[name]

    def op_bulk_cancel(self, index: int) -> None:
        if not self.triggered:
            return
        run_ids = self.rng.sample(self.triggered, min(2, len(self.triggered)))
        self.live.difference_update(run_ids)
        since = self.now_ms()
        name = f"bulk-{index}"
        result, unknown, fault = self.run_op(
            "bulk_actions.create",
            "POST",
            "/api/v1/bulk-actions",
            lambda: self.client_under_test.bulk_actions.create(
                "cancel", run_ids=run_ids, name=name
            ),
            may_be_unknown=True,
        )
        mine = [
            action
            for action in self.observer.bulk_actions.list()
            if action.name == name and action.created_at.timestamp() * 1000 >= since - 1000
        ]
        self.assertFalse(unknown, "a cancel bulk action is retried (idempotent)")
        self.assertIn(result.id, [a.id for a in mine], f"bulk action, {fault}")
        # A retried cancel may leave a second action record that cancels nothing more (the
        # service has no key to deduplicate it; docs/client.md "Retry safety per method").
        self.assertLessEqual(len(mine), 2 if fault else 1, f"bulk action records, {fault}")
        for run_id in run_ids:
            status = self.observer.runs.retrieve(run_id).status
            self.assertEqual(str(getattr(status, "value", status)), "CANCELED")

    def op_retrieve(self, index: int) -> None:
        run_id = self.rng.choice(self.seeded_runs)
        run, _, _ = self.run_op(
            "runs.retrieve",
            "GET",
            f"/api/v3/runs/{run_id}",
            lambda: self.client_under_test.runs.retrieve(run_id),
            may_be_unknown=False,
        )
        self.assertEqual(run.id, run_id)

    # -- the workload -------------------------------------------------------------------------

    def test_mixed_workload_under_faults(self) -> None:
        operations: list[tuple[int, Callable[[int], None]]] = [
            (4, self.op_trigger),
            (3, self.op_trigger_keyed),
            (2, lambda i: self.op_batch(i, keyed=True)),
            (2, lambda i: self.op_batch(i, keyed=False)),
            (3, self.op_replay),
            (2, self.op_cancel),
            (2, self.op_tags),
            (2, self.op_metadata),
            (2, self.op_schedule),
            (1, self.op_schedule_delete),
            (2, self.op_envvar_create),
            (2, self.op_envvar_import),
            (2, self.op_envvar_delete),
            (1, self.op_bulk_cancel),
            (2, self.op_retrieve),
        ]
        weights = [weight for weight, _ in operations]
        for index in range(OPERATIONS):
            ((_, operation),) = self.rng.choices(operations, weights=weights)
            with self.subTest(index=index):
                operation(index)

        faulted = [o for o in self.outcomes if o.fault]
        share = len(faulted) / len(self.outcomes)
        self.assertGreater(share, 0.2)
        kinds = Counter(o.fault for o in faulted)
        self.assertEqual(set(kinds), {name for name, _ in FAULT_KINDS}, "every kind injected")
        # Unknown outcomes happen only where a fault could have hidden the server's answer.
        self.assertEqual([o for o in self.outcomes if o.unknown and not o.fault], [])
        self.summary = {
            "operations": len(self.outcomes),
            "faulted": len(faulted),
            "unknown": sum(o.unknown for o in self.outcomes),
            "kinds": dict(kinds),
        }
