"""Retry safety: which calls are retried after which failures, so that a lost answer never
duplicates or loses work. Every rule runs over real HTTP against the emulator, with the
service's request-idempotency behaviour (the header deduplicates nothing), and counts what
exists afterwards."""

from __future__ import annotations

import inspect
import socket
import time
from pathlib import Path

from django.test import SimpleTestCase

from django_trigger.client import TriggerClient
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiTimeoutError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    OutcomeUnknownConnectionError,
    OutcomeUnknownError,
    OutcomeUnknownServerError,
    OutcomeUnknownTimeoutError,
    UnprocessableEntityError,
)
from django_trigger.resources._base import Resource, RetrySafety, retry_safety

from .base import ClientTestCase

POST = {"method": "POST"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SafetyCase(ClientTestCase):
    def runs_of(self, task: str) -> list[str]:
        return [run.id for run in self.trigger.runs.list(task_identifier=task, period="1h")]

    def posts(self, path_prefix: str = "/") -> int:
        return sum(
            1 for e in self.journal.entries if e.method != "GET" and e.path.startswith(path_prefix)
        )

    def assertNoSecret(self, error: Exception) -> None:
        text = f"{error} {error!r}"
        self.assertNotIn(self.emulator.secret_key, text)
        self.assertNotIn("Bearer", text)


class UnsafeCallTests(SafetyCase):
    """``runs.replay`` and a trigger without a key: retried only when provably not sent."""

    def setUp(self) -> None:
        super().setUp()
        self.run_id = self.trigger.tasks.trigger("replay-me", {"n": 1}).id
        self.journal.clear()

    def test_dropped_after_processing(self):
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        with self.assertRaises(OutcomeUnknownConnectionError) as ctx:
            self.trigger.runs.replay(self.run_id)
        error = ctx.exception
        self.assertIsInstance(error, ApiConnectionError)  # old handlers still catch it
        self.assertIn("connection was dropped after the request was sent", str(error))
        self.assertIn("may have acted", str(error))
        self.assertIn(f"for a replay of {self.run_id}", str(error))
        self.assertIsInstance(error.cause, ApiConnectionError)
        self.assertNoSecret(error)
        self.assertEqual(self.posts(), 1)
        self.assertEqual(len(self.runs_of("replay-me")), 2)  # the original + one replay

    def test_500_after_processing(self):
        self.emulator.faults.fail_next(1, 500, after_processing=True, **POST)
        with self.assertRaises(OutcomeUnknownServerError) as ctx:
            self.trigger.runs.replay(self.run_id)
        self.assertIsInstance(ctx.exception, InternalServerError)
        self.assertEqual(ctx.exception.status, 500)
        self.assertIn("the server answered 500", str(ctx.exception))
        self.assertEqual(self.posts(), 1)
        self.assertEqual(len(self.runs_of("replay-me")), 2)

    def test_read_timeout(self):
        # The stall ends after the client gave up; the emulator then replays the run.
        self.emulator.faults.stall_next(1, seconds=0.6, **POST)
        with self.assertRaises(OutcomeUnknownTimeoutError) as ctx:
            self.trigger.runs.replay(self.run_id, request_options={"timeout": 0.2})
        self.assertIsInstance(ctx.exception, ApiTimeoutError)
        self.assertIn("read timeout (0.2 s)", str(ctx.exception))
        time.sleep(0.6)
        self.assertEqual(self.posts(), 1)
        self.assertEqual(len(self.runs_of("replay-me")), 2)

    def test_should_retry_false_after_processing(self):
        # The server's "do not retry" on a 500 does not say it did nothing.
        self.emulator.faults.fail_next(
            1, 500, headers={"x-should-retry": "false"}, after_processing=True, **POST
        )
        with self.assertRaises(OutcomeUnknownServerError):
            self.trigger.runs.replay(self.run_id)
        self.assertEqual(len(self.runs_of("replay-me")), 2)

    def test_answers_that_prove_nothing_happened_are_retried(self):
        for name, arm in (
            ("429", lambda: self.emulator.faults.rate_limit_next(1, reset_after=0.01, **POST)),
            ("408", lambda: self.emulator.faults.fail_next(1, 408, **POST)),
            (
                "x-should-retry",
                lambda: self.emulator.faults.fail_next(
                    1, 503, headers={"x-should-retry": "true"}, **POST
                ),
            ),
        ):
            with self.subTest(name):
                before = len(self.runs_of("replay-me"))
                arm()
                self.trigger.runs.replay(self.run_id)
                self.assertEqual(len(self.runs_of("replay-me")), before + 1)

    def test_connection_refused_is_retried_and_nothing_happened(self):
        client = self.make_client(
            base_url=f"http://127.0.0.1:{free_port()}",
            retry={"max_attempts": 3, "min_delay": 0.001},
        )
        with self.assertLogs("django_trigger.http", "INFO") as logs:
            with self.assertRaises(ApiConnectionError) as ctx:
                client.runs.replay(self.run_id)
        self.assertNotIsInstance(ctx.exception, OutcomeUnknownError)
        self.assertEqual(len(logs.output), 2)  # two retries after three refused connections

    def test_tls_handshake_failure_is_retried_and_nothing_happened(self):
        # https:// to the emulator's plain HTTP port: the handshake fails before any request.
        client = self.make_client(
            base_url=self.emulator.base_url.replace("http:", "https:"),
            retry={"max_attempts": 2, "min_delay": 0.001},
        )
        with self.assertLogs("django_trigger.http", "INFO") as logs:
            with self.assertRaises(ApiConnectionError) as ctx:
                client.runs.replay(self.run_id)
        self.assertNotIsInstance(ctx.exception, OutcomeUnknownError)
        self.assertIn("SSLError", logs.output[0])
        self.assertEqual(len(self.runs_of("replay-me")), 1)

    def test_trigger_without_a_key(self):
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        with self.assertRaises(OutcomeUnknownError) as ctx:
            self.trigger.tasks.trigger("send-report", {"n": 1})
        self.assertIn("list the runs of task 'send-report' created at or after", str(ctx.exception))
        self.assertIn("idempotency_key=", str(ctx.exception))
        self.assertEqual(len(self.runs_of("send-report")), 1)

    def test_trigger_with_a_key_is_retried(self):
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        result = self.trigger.tasks.trigger("send-report", {"n": 1}, idempotency_key="order-42")
        self.assertTrue(result.is_cached)  # the retry found the run the lost attempt started
        self.assertEqual(self.runs_of("send-report"), [result.id])
        self.assertEqual(self.posts(), 2)

    def test_metadata_operations(self):
        self.emulator.faults.drop_next(1, after_processing=True, **POST | {"method": "PUT"})
        with self.assertRaises(OutcomeUnknownError):
            self.trigger.runs.update_metadata(
                self.run_id, operations=[{"type": "increment", "key": "n", "value": 1}]
            )
        self.assertEqual(self.trigger.runs.retrieve(self.run_id).metadata, {"n": 1})
        self.emulator.faults.drop_next(1, after_processing=True, method="PUT")
        self.assertEqual(self.trigger.runs.update_metadata(self.run_id, {"n": 5}), {"n": 5})


class IdempotentCallTests(SafetyCase):
    def test_cancel_after_a_lost_answer(self):
        run_id = self.trigger.tasks.trigger("slow", {}, delay="1h").id
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        self.assertEqual(self.trigger.runs.cancel(run_id).id, run_id)
        self.assertEqual(self.trigger.runs.retrieve(run_id).status, "CANCELED")

    def test_envvar_create_update(self):
        self.emulator.faults.fail_next(1, 502, after_processing=True, **POST)
        self.trigger.envvars.create("RETRIED_VAR", "one")
        self.emulator.faults.stall_next(1, seconds=0.4, method="PUT")
        self.trigger.envvars.update("RETRIED_VAR", "two", request_options={"timeout": 0.2})
        names = [v.name for v in self.trigger.envvars.list()]
        self.assertEqual(names.count("RETRIED_VAR"), 1)
        self.assertEqual(self.trigger.envvars.retrieve("RETRIED_VAR").value, "two")

    def test_schedule_create_is_deduplicated_by_its_key(self):
        task = self.emulator.scheduled_tasks[0]
        before = self.trigger.schedules.list().count
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        created = self.trigger.schedules.create(
            task=task, cron="0 9 * * *", deduplication_key="lost-answer"
        )
        self.assertEqual(self.trigger.schedules.list().count, before + 1)
        self.assertEqual(self.trigger.schedules.retrieve("lost-answer").id, created.id)

    def test_bulk_cancel_is_retried_bulk_replay_is_not(self):
        def types():
            return sorted(a.type for a in self.trigger.bulk_actions.list())

        before = types()
        run_ids = [self.trigger.tasks.trigger("bulk", {}, delay="1h").id for _ in range(2)]
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        self.trigger.bulk_actions.create("cancel", run_ids=run_ids)
        self.assertEqual(types(), sorted([*before, "CANCEL", "CANCEL"]))  # a harmless twin
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        with self.assertRaises(OutcomeUnknownError) as ctx:
            self.trigger.bulk_actions.create("replay", run_ids=run_ids)
        self.assertIn("client.bulk_actions.list()", str(ctx.exception))
        self.assertEqual(types(), sorted([*before, "CANCEL", "CANCEL", "REPLAY"]))


class VerifiedCallTests(SafetyCase):
    """A retry's answer after a lost answer is read for what it means."""

    def test_envvar_delete(self):
        self.trigger.envvars.create("GONE_VAR", "x")
        self.emulator.faults.drop_next(1, after_processing=True, method="DELETE")
        self.assertTrue(self.trigger.envvars.delete("GONE_VAR").success)
        self.assertNotIn("GONE_VAR", [v.name for v in self.trigger.envvars.list()])
        # Without a lost answer, deleting what is not there is still an error.
        with self.assertRaises(Exception):
            self.trigger.envvars.delete("GONE_VAR")

    def test_envvar_import_without_override(self):
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        self.assertTrue(self.trigger.envvars.upload({"IMPORTED_A": "1", "IMPORTED_B": "2"}).success)
        values = {v.name: v.value for v in self.trigger.envvars.list()}
        self.assertEqual((values["IMPORTED_A"], values["IMPORTED_B"]), ("1", "2"))
        self.assertEqual(self.posts(), 2)

    def test_envvar_import_conflict_is_still_reported(self):
        self.trigger.envvars.create("TAKEN", "theirs")
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        self.trigger.envvars.create("OTHER_TAKEN", "x")  # the lost answer is a different call
        with self.assertRaises(BadRequestError):
            self.trigger.envvars.upload({"TAKEN": "mine"})
        self.assertEqual(self.trigger.envvars.retrieve("TAKEN").value, "theirs")

    def test_envvar_file_import_without_override_is_unsafe(self):
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        with self.assertRaises(OutcomeUnknownError) as ctx:
            self.trigger.envvars.upload("FROM_FILE_X=1\n")
        self.assertIn("override=True", str(ctx.exception))
        self.assertNotIn("FROM_FILE_X=1", str(ctx.exception))

    def test_schedule_update(self):
        task = self.emulator.scheduled_tasks[0]
        created = self.trigger.schedules.create(
            task=task, cron="0 9 * * *", deduplication_key="to-update"
        )
        before = self.trigger.schedules.list().count
        self.emulator.faults.drop_next(1, after_processing=True, method="PUT")
        updated = self.trigger.schedules.update(created.id, task=task, cron="0 10 * * *")
        self.assertEqual((updated.id, updated.cron), (created.id, "0 10 * * *"))
        self.assertEqual(self.trigger.schedules.list().count, before)
        # An unknown id: the API creates a schedule, so a repeat would create a second one.
        self.emulator.faults.drop_next(1, after_processing=True, method="PUT")
        with self.assertRaises(OutcomeUnknownError) as ctx:
            self.trigger.schedules.update("sched_doesnotexist0000000", task=task, cron="0 9 * * *")
        self.assertIn("may have created a new schedule", str(ctx.exception))
        self.assertEqual(self.trigger.schedules.list().count, before + 1)

    def test_schedule_delete(self):
        task = self.emulator.scheduled_tasks[0]
        created = self.trigger.schedules.create(
            task=task, cron="0 9 * * *", deduplication_key="to-delete"
        )
        before = self.trigger.schedules.list().count
        self.emulator.faults.drop_next(1, after_processing=True, method="DELETE")
        self.assertEqual(self.trigger.schedules.delete(created.id).id, created.id)
        self.assertEqual(self.trigger.schedules.list().count, before - 1)

    def test_queue_reset(self):
        self.trigger.queues.override_concurrency_limit(
            "send-email", type="task", concurrency_limit=3
        )
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        queue = self.trigger.queues.reset_concurrency_limit("send-email", type="task")
        self.assertIsNone(queue.concurrency.override)

    def test_bulk_action_abort(self):
        pending = next(a for a in self.trigger.bulk_actions.list() if a.status == "PENDING")
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        self.assertEqual(self.trigger.bulk_actions.abort(pending.id).id, pending.id)
        self.assertEqual(self.trigger.bulk_actions.retrieve(pending.id).status, "ABORTED")
        statuses = [e.status for e in self.journal.entries if e.method == "POST"]
        self.assertEqual(statuses[:2], [None, 409])
        # Without a lost answer, aborting an aborted action is still the service's 409.
        with self.assertRaises(ConflictError):
            self.trigger.bulk_actions.abort(pending.id)

    def test_deployment_promote(self):
        client = self.make_client(self.emulator.secret_keys["prod"])
        older = [d for d in client.deployments.list() if d.status == "DEPLOYED"][-1]
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        promoted = client.deployments.promote(older.version, allow_rollbacks=True)
        self.assertEqual((promoted.id, promoted.version), (older.id, older.version))
        # The retry was refused "already the current deployment": done.
        self.assertEqual(
            [e.status for e in self.journal.entries if e.method == "POST"], [None, 400]
        )
        self.assertEqual(client.deployments.current().version, older.version)

    def test_idempotency_key_reset(self):
        self.trigger.tasks.trigger("keyed", {}, idempotency_key="k-1")
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        self.trigger.idempotency_keys.reset("keyed", "k-1")
        again = self.trigger.tasks.trigger("keyed", {}, idempotency_key="k-1")
        self.assertFalse(again.is_cached)
        self.assertEqual(len(self.runs_of("keyed")), 2)


class BatchTests(SafetyCase):
    items = [{"task": "nightly", "payload": {"n": i}} for i in range(3)]

    def batch_ids(self) -> set[str]:
        with self.emulator.state.lock:
            return set(self.emulator.state.batches.by_id)

    def test_lost_create_without_a_key(self):
        before = self.batch_ids()
        self.emulator.faults.drop_next(1, after_processing=True, path="/api/v3/batches")
        with self.assertRaises(OutcomeUnknownError) as ctx:
            self.trigger.tasks.batch_trigger(self.items)
        self.assertIn("no run was triggered", str(ctx.exception))
        self.assertIn("idempotency_key=", str(ctx.exception))
        self.assertEqual(len(self.batch_ids() - before), 1)  # one empty batch
        self.assertEqual(self.runs_of("nightly"), [])

    def test_lost_create_with_a_key(self):
        # The retry is refused (the key is taken by the batch the lost attempt created, whose
        # id never reached us): the items go to a new batch, keyed per item, once.
        before = self.batch_ids()
        self.emulator.faults.drop_next(1, after_processing=True, path="/api/v3/batches")
        handle = self.trigger.tasks.batch_trigger(self.items, idempotency_key="nightly-1")
        self.assertEqual(len(self.runs_of("nightly")), 3)
        self.assertEqual(
            sorted(self.trigger.batches.retrieve(handle.id).runs), sorted(self.runs_of("nightly"))
        )
        self.assertEqual(len(self.batch_ids() - before), 2)  # + the empty one
        # Calling again with the key is refused by the service, as for the official SDK.
        with self.assertRaises(UnprocessableEntityError):
            self.trigger.tasks.batch_trigger(self.items, idempotency_key="nightly-1")
        self.assertEqual(len(self.runs_of("nightly")), 3)

    def test_a_lost_fallback_batch_says_to_call_without_the_key(self):
        # (Faults cannot skip the refused keyed retry, so the fallback create is called alone.)
        self.emulator.faults.drop_next(1, after_processing=True, path="/api/v3/batches")
        with self.assertRaises(OutcomeUnknownError) as ctx:
            create = retry_safety(RetrySafety.UNSAFE, why="as in batch_trigger")(
                type(self.trigger.tasks)._create_batch
            )
            create(
                self.trigger.tasks,
                {"runCount": 3, "taskIdentifiers": ["nightly"]},
                None,
                after_refusal=True,
            )
        self.assertIn("call without idempotency_key", str(ctx.exception))
        self.assertIn("no run starts twice", str(ctx.exception))

    def test_lost_items_answer(self):
        self.emulator.faults.drop_next(1, after_processing=True, path="/api/v3/batches/*/items")
        handle = self.trigger.tasks.batch_trigger(self.items)
        self.assertEqual(len(self.trigger.batches.retrieve(handle.id).runs), 3)
        self.assertEqual(len(self.runs_of("nightly")), 3)


class DocumentedServiceBatchTests(BatchTests):
    """Against a service that deduplicates as API.md §4.5 documents."""

    emulator_options = {"request_idempotency": "documented"}

    def test_lost_create_with_a_key(self):
        # The retry is answered isCached with the batch the lost attempt created; it was never
        # sealed, so its items are sent to it.
        before = self.batch_ids()
        self.emulator.faults.drop_next(1, after_processing=True, path="/api/v3/batches")
        handle = self.trigger.tasks.batch_trigger(self.items, idempotency_key="nightly-1")
        self.assertTrue(handle.is_cached)
        self.assertEqual(self.batch_ids() - before, {handle.id})
        self.assertEqual(
            sorted(self.trigger.batches.retrieve(handle.id).runs), sorted(self.runs_of("nightly"))
        )
        self.assertEqual(len(self.runs_of("nightly")), 3)
        # Again with the key: cached and sealed, nothing is sent.
        self.journal.clear()
        again = self.trigger.tasks.batch_trigger(self.items, idempotency_key="nightly-1")
        self.assertEqual(again.id, handle.id)
        self.assertEqual(self.posts("/api/v3/batches/"), 0)
        self.assertEqual(len(self.runs_of("nightly")), 3)

    def test_trigger_without_a_key_still_not_retried(self):
        # Even where the service deduplicates, the client does not count on it.
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        with self.assertRaises(OutcomeUnknownError):
            self.trigger.tasks.trigger("send-report", {})
        self.assertEqual(len(self.runs_of("send-report")), 1)


class DeclarationTests(SimpleTestCase):
    def test_a_write_without_a_declaration_is_refused(self):
        class Undeclared(Resource):
            def write(self):
                return self._request("POST", "/api/v1/runs/run_x/replay", operation="x", parse=dict)

            @retry_safety(RetrySafety.IDEMPOTENT, RetrySafety.UNSAFE, why="test")
            def ambiguous(self):
                return self._request("POST", "/api/v1/runs/run_x/replay", operation="x", parse=dict)

            @retry_safety(RetrySafety.IDEMPOTENT, why="test")
            def undeclared_class(self):
                return self._request(
                    "POST",
                    "/api/v1/runs/run_x/replay",
                    operation="x",
                    parse=dict,
                    retry_safety=RetrySafety.UNSAFE,
                )

        # A closed port: a TypeError (not a connection error) shows nothing was attempted.
        client = TriggerClient("tr_dev_" + "a" * 20, base_url=f"http://127.0.0.1:{free_port()}")
        self.addCleanup(client.close)
        resource = Undeclared(client)
        for call in (resource.write, resource.ambiguous, resource.undeclared_class):
            with self.subTest(call.__name__), self.assertRaises(TypeError):
                call()

    def public_methods(self):
        client = TriggerClient("tr_dev_" + "a" * 20, project_ref="proj_abcd")
        # getmembers reads every attribute: resources are created on first access, and nested
        # resources (query.dashboards.widgets) are properties of their parent
        pending = inspect.getmembers(client, lambda v: isinstance(v, Resource))
        while pending:
            name, resource = pending.pop()
            for method_name, method in inspect.getmembers(type(resource), inspect.isfunction):
                if not method_name.startswith("_"):
                    yield f"{name}.{method_name}", method
            pending += [
                (f"{name}.{child}", child_resource)
                for child, child_resource in inspect.getmembers(
                    resource, lambda v: isinstance(v, Resource)
                )
                if not child.startswith("_") and child != "with_raw_response"
            ]

    def test_every_resource_method_declares_its_retry_safety(self):
        methods = dict(self.public_methods())
        self.assertGreater(len(methods), 40)
        missing = [
            name for name, method in methods.items() if not getattr(method, "retry_safety", None)
        ]
        self.assertEqual(missing, [])
        for name, method in methods.items():
            with self.subTest(name):
                self.assertTrue(all(isinstance(s, RetrySafety) for s in method.retry_safety))
                self.assertTrue(method.retry_safety_why)

    def test_the_docs_table_lists_every_writing_method(self):
        page = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text()
        table = page.split("## Retry safety per method", 1)[1].split("\n## ", 1)[0]
        for name, method in self.public_methods():
            if method.retry_safety != (RetrySafety.READ,):
                with self.subTest(name):
                    self.assertIn(f"`{name}`", table)
