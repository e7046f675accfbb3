"""Every error class, produced by the emulator's real answers (or its faults), and refusals
that happen before anything is sent."""

from __future__ import annotations

import pickle

from django_trigger.exceptions import (
    ApiError,
    ApiSchemaValidationError,
    AuthenticationError,
    BadRequestError,
    ConfigurationRefusalError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

from .base import ClientTestCase

NO_RETRY = {"retry": {"max_attempts": 1}}


class StatusErrorTests(ClientTestCase):
    def test_unknown_key_is_401_with_the_server_message(self):
        client = self.make_client("tr_dev_" + "a" * 24)
        with self.assertRaises(AuthenticationError) as ctx:
            client.runs.list(limit=1)
        self.assertEqual(ctx.exception.message, "Invalid API key")
        self.assertEqual(ctx.exception.error, "Invalid API key")
        self.assertEqual(str(ctx.exception), "401 Invalid API key (GET /api/v1/runs)")

    def test_400_from_the_server(self):
        run = self.trigger.tasks.trigger("send-email", {})
        with self.assertRaises(BadRequestError) as ctx:
            self.trigger.runs.reschedule(run.id, delay="1h")
        self.assertEqual(ctx.exception.message, "Cannot reschedule a run that is not delayed")

    def test_404_of_an_action(self):
        with self.assertRaises(NotFoundError) as ctx:
            self.trigger.runs.cancel("run_doesnotexist0000000000")
        self.assertEqual(ctx.exception.status, 404)

    def test_422_too_many_tags(self):
        run = self.trigger.tasks.trigger("send-email", {}, tags=[f"t{i}" for i in range(8)])
        with self.assertRaises(UnprocessableEntityError) as ctx:
            self.trigger.runs.add_tags(run.id, ["x1", "x2", "x3"])
        self.assertIn("Runs can only have 10 tags", ctx.exception.message)

    def test_statuses_map_to_classes(self):
        cases = {
            403: PermissionDeniedError,
            429: RateLimitError,
            500: InternalServerError,
            502: InternalServerError,
            405: ApiError,
        }
        for status, error_class in cases.items():
            with self.subTest(status=status):
                self.emulator.faults.fail_next(1, status)
                with self.assertRaises(error_class) as ctx:
                    self.trigger.runs.list(limit=1, request_options=NO_RETRY)
                self.assertEqual(ctx.exception.status, status)

    def test_pat_on_a_secret_key_route_is_refused_before_sending(self):
        client = self.pat_client()
        with self.assertRaises(InvalidRequestError) as ctx:
            client.runs.retrieve("run_abc")
        self.assertIn("needs a secret key", str(ctx.exception))
        with self.assertRaises(InvalidRequestError):
            client.tasks.trigger("send-email", {})
        with self.assertRaises(InvalidRequestError):
            client.schedules.list()
        self.assertEqual(self.journal.count(), 0)

    def test_pat_without_project_ref_is_refused_before_sending(self):
        client = self.make_client(self.emulator.access_token, project_ref=None, environment="dev")
        with self.assertRaises(InvalidRequestError) as ctx:
            client.runs.list()
        self.assertIn("project ref", str(ctx.exception))
        self.assertEqual(self.journal.count(), 0)

    def test_pat_without_environment_is_refused_before_sending(self):
        client = self.make_client(self.emulator.access_token)
        with self.assertRaises(InvalidRequestError):
            client.runs.list()
        self.assertEqual(self.journal.count(), 0)

    def test_configuration_refusals_have_their_own_class_and_reason(self):
        # ConfigurationRefusalError: what the admin (and users) tell apart from a bad argument
        # by class, not by wording; still an InvalidRequestError for existing except clauses.
        emu = self.emulator
        secret_key_client = self.make_client(project_ref=None)
        cases = [
            ("token_kind", lambda: self.pat_client().runs.retrieve("run_abc")),
            ("token_kind", lambda: self.make_client().environments.resume()),
            ("project_ref", lambda: secret_key_client.envvars.list()),
            ("environment", lambda: self.make_client(emu.access_token).runs.list()),
            ("environment", lambda: self.make_client(emu.access_token).envvars.list()),
        ]
        for reason, call in cases:
            with self.subTest(reason), self.assertRaises(ConfigurationRefusalError) as ctx:
                call()
            self.assertEqual(ctx.exception.reason, reason)
            self.assertIsInstance(ctx.exception, InvalidRequestError)
            copy = pickle.loads(pickle.dumps(ctx.exception))  # e.g. across test processes
            self.assertEqual((str(copy), copy.reason), (str(ctx.exception), reason))
        # A bad argument is not a configuration refusal.
        with self.assertRaises(InvalidRequestError) as ctx:
            self.trigger.runs.retrieve("../envvars")
        self.assertNotIsInstance(ctx.exception, ConfigurationRefusalError)
        self.assertEqual(self.journal.count(), 0)

    def test_server_answer_for_a_pat_when_forced(self):
        # What the server says if the refusal were skipped: the emulator is faithful.
        client = self.pat_client()
        with self.assertRaises(AuthenticationError) as ctx:
            client._transport.request("GET", "/api/v1/runs")
        self.assertEqual(ctx.exception.message, "Invalid API key")


class SchemaValidationTests(ClientTestCase):
    def test_a_2xx_of_the_wrong_shape(self):
        self.emulator.faults.respond_next(1, body={"id": "run_x", "status": 7})
        with self.assertRaises(ApiSchemaValidationError) as ctx:
            self.trigger.runs.retrieve("run_abc")
        error = ctx.exception
        self.assertEqual(error.status, 200)
        self.assertIn("unexpected response shape", error.message)
        self.assertEqual(error.body, {"id": "run_x", "status": 7})
        self.assertEqual(self.journal.count(), 1)  # a 2xx is never retried

    def test_a_2xx_that_is_not_json(self):
        self.emulator.faults.respond_next(
            1, text="<html>gateway</html>", headers={"Content-Type": "text/html"}
        )
        with self.assertRaises(ApiSchemaValidationError) as ctx:
            self.trigger.runs.list(limit=1)
        self.assertIn("not JSON", ctx.exception.message)

    def test_a_page_without_pagination(self):
        self.emulator.faults.respond_next(1, body={"data": []})
        with self.assertRaises(ApiSchemaValidationError):
            self.trigger.runs.list(limit=1)


class BadInputTests(ClientTestCase):
    def test_bad_arguments_never_reach_the_api(self):
        calls = [
            lambda: self.trigger.runs.list(status="NOPE"),
            lambda: self.trigger.runs.list(limit=0),
            lambda: self.trigger.runs.list(limit=101),
            lambda: self.trigger.runs.list(machine="huge"),
            lambda: self.trigger.runs.list(period="yesterday"),
            lambda: self.trigger.runs.list(is_test="yes"),
            lambda: self.trigger.runs.list(after="a", before="b"),
            lambda: self.trigger.runs.list(project_ref="proj_x"),
            lambda: self.trigger.runs.list(tag=["a,b"]),
            lambda: self.trigger.runs.add_tags("run_abc", []),
            lambda: self.trigger.runs.add_tags("run_abc", ["x" * 129]),
            lambda: self.trigger.runs.reschedule("run_abc", delay="soon"),
            lambda: self.trigger.runs.update_metadata("run_abc"),
            lambda: self.trigger.tasks.trigger("t", object()),
            lambda: self.trigger.tasks.trigger("t", {}, tags=[str(i) for i in range(11)]),
            lambda: self.trigger.tasks.trigger("t", {}, machine="huge"),
            lambda: self.trigger.tasks.trigger("t", {}, idempotency_key_ttl="1 day"),
            lambda: self.trigger.tasks.trigger("t", {}, nonsense=1),
            lambda: self.trigger.tasks.batch_trigger([]),
            lambda: self.trigger.tasks.batch_trigger([{"task": "t"}, {"payload": 1}]),
            lambda: self.trigger.schedules.create(
                task="t", cron="* * * * * *", deduplication_key="k"
            ),
            lambda: self.trigger.schedules.create(
                task="t", cron="every day", deduplication_key="k"
            ),
            lambda: self.trigger.schedules.list(per_page=101),
            lambda: self.trigger.envvars.create("BAD-NAME", "v"),
            lambda: self.trigger.envvars.create("TRIGGER_SECRET_KEY", "v"),
            lambda: self.trigger.envvars.list(environment="prod"),
            lambda: self.trigger.envvars.list(environment="qa"),
            lambda: self.trigger.queues.retrieve("send-email"),
            lambda: self.trigger.queues.override_concurrency_limit("queue_x"),
            lambda: self.trigger.bulk_actions.create("delete", run_ids=["run_a"]),
            lambda: self.trigger.bulk_actions.create("cancel", filter={}),
            lambda: self.trigger.deployments.list(status="DONE"),
        ]
        for index, call in enumerate(calls):
            with self.subTest(call=index), self.assertRaises(InvalidRequestError):
                call()
        self.assertEqual(self.journal.count(), 0)

    def test_invalid_request_error_is_a_value_error(self):
        with self.assertRaises(ValueError):
            self.trigger.runs.list(limit=-1)
