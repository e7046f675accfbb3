"""``client.query`` over HTTP: TRQL results computed by the emulator from its runs, the time
window, CSV, errors with the server's message, scopes and auth, dashboards with revisions, lost
answers, and bad input refused before anything is sent."""

from __future__ import annotations

import datetime as dt

import requests

from django_trigger.exceptions import (
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
)
from django_trigger.testing.jwt import public_access_token
from django_trigger.types.query import Dashboard, QueryResult

from .base import ClientTestCase

TASK = "analytics-task"
BY_STATUS = (
    f"SELECT status, count() AS runs FROM runs WHERE task_identifier = '{TASK}' "
    "GROUP BY status ORDER BY runs DESC, status"
)
NUMBER = {"type": "bignumber", "column": "runs", "aggregation": "sum"}


class QueryCase(ClientTestCase):
    def jwt(self, scopes: list[str]) -> str:
        with self.emulator.state.lock:
            env = self.emulator.state.environment_for_key(self.emulator.secret_key)
            now = int(self.emulator.state.now().timestamp())
        return public_access_token(self.emulator.secret_key, env.id, scopes, now)[0]

    def runs(self, statuses: list[str], **changes) -> list[str]:
        ids = [self.trigger.tasks.trigger(TASK, {"n": n}).id for n in range(len(statuses))]
        with self.emulator.state.lock:
            for run_id, status in zip(ids, statuses):
                run = self.emulator.state.runs.set_status(run_id, status)
                for name, value in changes.items():
                    setattr(run, name, value)
        return ids

    def post(self, path: str, body, token: str | None = None, method: str = "POST"):
        headers = {"Authorization": f"Bearer {token or self.emulator.secret_key}"}
        return requests.request(
            method, self.emulator.base_url + path, json=body, headers=headers, timeout=5
        )


class ExecuteTests(QueryCase):
    def test_counts_by_status_from_the_emulators_runs(self):
        self.runs(["COMPLETED_SUCCESSFULLY"] * 3 + ["COMPLETED_WITH_ERRORS", "PENDING"])
        result = self.trigger.query.execute(BY_STATUS)
        self.assertIsInstance(result, QueryResult)
        self.assertEqual(result.format, "json")
        self.assertEqual(
            result.rows,
            [
                {"status": "Completed", "runs": 3},
                {"status": "Failed", "runs": 1},
                {"status": "Queued", "runs": 1},  # ties in the second key's order
            ],
        )
        self.assertEqual(
            self.journal.entries[-1].body,
            {"query": BY_STATUS, "scope": "environment", "format": "json"},
        )

    def test_durations_and_costs(self):
        self.runs(["COMPLETED_SUCCESSFULLY"] * 2, usage_duration_ms=1500, cost_in_cents=2.0)
        self.runs(["COMPLETED_SUCCESSFULLY"], usage_duration_ms=3000, cost_in_cents=5.0)
        rows = self.trigger.query.execute(
            "SELECT task_identifier, avg(usage_duration) AS avg_ms, sum(compute_cost) AS cost, "
            f"max(usage_duration), count() FROM runs WHERE task_identifier IN ('{TASK}') "
            "GROUP BY task_identifier"
        ).rows
        self.assertEqual(len(rows), 1)
        self.assertEqual(
            (rows[0]["avg_ms"], type(rows[0]["avg_ms"])), (2000, int)
        )  # as ClickHouse prints it
        self.assertAlmostEqual(rows[0]["cost"], 0.09)
        self.assertEqual((rows[0]["max(usage_duration)"], rows[0]["count()"]), (3000, 3))

    def test_time_buckets_and_rows(self):
        ids = self.runs(["EXECUTING", "PENDING"])
        rows = self.trigger.query.execute(
            f"SELECT timeBucket(), count() AS n FROM runs WHERE task_identifier = '{TASK}' "
            "GROUP BY timeBucket ORDER BY timeBucket",
            period="1h",
        ).rows
        self.assertEqual(sum(row["n"] for row in rows), 2)
        # one-minute buckets for a one-hour window, as ClickHouse renders DateTime64
        bucket = dt.datetime.strptime(rows[0]["timebucket"], "%Y-%m-%d %H:%M:%S.%f")
        self.assertEqual((bucket.second, bucket.microsecond), (0, 0))
        listed = self.trigger.query.execute(
            f"SELECT run_id, status FROM runs WHERE task_identifier = '{TASK}' "
            "ORDER BY run_id LIMIT 1"
        ).rows
        status = dict(zip(ids, ["Executing", "Queued"]))
        self.assertEqual(listed, [{"run_id": min(ids), "status": status[min(ids)]}])

    def test_order_by_puts_nulls_last_and_reads_unselected_columns(self):
        ids = self.runs(["COMPLETED_SUCCESSFULLY", "PENDING", "COMPLETED_SUCCESSFULLY"])
        with self.emulator.state.lock:
            for n, run_id in enumerate((ids[0], ids[2])):
                run = self.emulator.state.runs.get(run_id)
                run.completed_at = run.created_at + dt.timedelta(seconds=10 + n)
        where = f"FROM runs WHERE task_identifier = '{TASK}'"
        for direction, expected in (
            ("DESC", [ids[2], ids[0], ids[1]]),
            ("ASC", [ids[0], ids[2], ids[1]]),
        ):
            with self.subTest(direction):
                rows = self.trigger.query.execute(
                    f"SELECT run_id {where} ORDER BY completed_at {direction}"
                ).rows
                self.assertEqual([r["run_id"] for r in rows], expected)

    def test_csv(self):
        self.runs(["COMPLETED_SUCCESSFULLY", "CRASHED"])
        result = self.trigger.query.execute(
            f"SELECT status, count() AS n FROM runs WHERE task_identifier = '{TASK}' "
            "GROUP BY status ORDER BY status",
            format="csv",
        )
        self.assertEqual(result.csv, "status,n\nCompleted,1\nCrashed,1")
        with self.assertRaisesRegex(InvalidRequestError, "this result is CSV"):
            result.rows

    def test_the_window(self):
        self.runs(["PENDING"])
        now = self.emulator.state.now()
        later = self.trigger.query.execute(
            f"SELECT count() AS n FROM runs WHERE task_identifier = '{TASK}'",
            from_=now + dt.timedelta(minutes=1),
        )
        self.assertEqual(later.rows, [{"n": 0}])
        sent = self.journal.entries[-1].body["from"]
        self.assertRegex(sent, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        around = self.trigger.query.execute(
            f"SELECT count() AS n FROM runs WHERE task_identifier = '{TASK}'",
            from_=now - dt.timedelta(minutes=1),
            to=int((now + dt.timedelta(minutes=1)).timestamp() * 1000),
        )
        self.assertEqual(around.rows, [{"n": 1}])
        # a period wins over from/to on the server, so the route ignores them then
        answer = self.post(
            "/api/v1/query",
            {
                "query": f"SELECT count() AS n FROM runs WHERE task_identifier = '{TASK}'",
                "period": "1h",
                "from": (now + dt.timedelta(minutes=1)).isoformat(),
            },
        )
        self.assertEqual(answer.json()["results"], [{"n": 1}])

    def test_the_openapi_files_examples_run(self):
        self.runs(["COMPLETED_WITH_ERRORS", "COMPLETED_SUCCESSFULLY"])
        failed = self.trigger.query.execute(
            "SELECT COUNT(*) as count FROM runs WHERE status = 'Failed'", scope="project"
        ).rows
        self.assertEqual(list(failed[0]), ["count"])
        by_task = self.trigger.query.execute(
            "SELECT task_identifier, count() as runs, countIf(status = 'Failed') as failures "
            "FROM runs GROUP BY task_identifier",
            from_=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        ).rows
        self.assertIn({"task_identifier": TASK, "runs": 2, "failures": 1}, by_task)
        rows = self.trigger.query.execute("SELECT run_id, status FROM runs LIMIT 10").rows
        self.assertEqual(len(rows), 10)

    def test_server_errors_carry_the_servers_message(self):
        for query, message in (
            ("SELECT nope FROM runs", 'Unknown column "nope". Available columns: run_id'),
            ("SELECT created_at FROM runs", 'Did you mean "triggered_at"?'),
            ("SELECT count() FROM nope", "Unknown table `nope`."),
            ("SELECT status, count() FROM runs", "must appear in the GROUP BY clause"),
            ("SELECT output FROM runs", "not supported by the django-trigger emulator"),
            ("SELECT count() FROM metrics", "not supported by the django-trigger emulator"),
            ("SELECT countIf(status = 'Failed') FROM runs", "countIf() without AS"),
            (
                "SELECT count() FROM runs WHERE status = 'Failed' OR status = 'Crashed'",
                "OR is not supported",
            ),
        ):
            with self.subTest(query), self.assertRaises(BadRequestError) as ctx:
                self.trigger.query.execute(query)
            self.assertIn(message, str(ctx.exception))
        answer = self.post("/api/v1/query", {"query": "SELECT count() FROM nope"})
        self.assertEqual(answer.json(), {"error": "Unknown table `nope`."})

    def test_bad_input_is_refused_before_sending(self):
        execute = self.trigger.query.execute
        naive = dt.datetime(2026, 1, 1)
        aware = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
        for call, message in (
            (lambda: execute(""), "non-empty TRQL"),
            (lambda: execute(None), "non-empty TRQL"),
            (lambda: execute("SELECT 1", scope="team"), "scope must be"),
            (lambda: execute("SELECT 1", format="xml"), "format must be"),
            (lambda: execute("SELECT 1", period="7 days"), "period must look like"),
            (lambda: execute("SELECT 1", period="0d"), "period must look like"),
            (lambda: execute("SELECT 1", period=7), "period must look like"),
            (lambda: execute("SELECT 1", period="1d", to=aware), "either period or from_/to"),
            (lambda: execute("SELECT 1", from_=naive), "aware datetime"),
            (lambda: execute("SELECT 1", to="yesterday"), "aware datetime, a date or epoch"),
            (lambda: execute("SELECT 1", from_=aware, to=aware - dt.timedelta(1)), "not be after"),
        ):
            with self.subTest(message), self.assertRaisesRegex(InvalidRequestError, message):
                call()
        self.assertEqual(len(self.journal), 0)

    def test_the_route_checks_its_body(self):
        for body, message in (
            ({}, "Validation error"),
            ({"query": "SELECT 1", "scope": "team"}, "Invalid enum value"),
            ({"query": "SELECT 1", "format": "xml"}, "Invalid enum value"),
            ({"query": 5}, "Expected string"),
        ):
            with self.subTest(body):
                answer = self.post("/api/v1/query", body)
                self.assertEqual(answer.status_code, 400)
                self.assertIn(message, answer.json()["error"])

    def test_scopes_and_auth(self):
        self.runs(["PENDING"])
        query = f"SELECT count() AS n FROM runs WHERE task_identifier = '{TASK}'"
        with self.emulator.state.lock:
            prod = self.emulator.state.environments_by_public_slug(self.emulator.project_ref)[
                "prod"
            ]
        prod_client = self.make_client(prod.api_key)
        prod_client.tasks.trigger(TASK, {})
        self.assertEqual(prod_client.query.execute(query).rows, [{"n": 1}])
        self.assertEqual(self.trigger.query.execute(query, scope="project").rows, [{"n": 2}])
        self.assertEqual(self.trigger.query.execute(query, scope="organization").rows, [{"n": 2}])
        # public access tokens: environment scope only, and the query scope
        reader = self.make_client(self.jwt(["read:query"]))
        self.assertEqual(reader.query.execute(query).rows, [{"n": 1}])
        self.assertEqual(
            self.make_client(self.jwt(["read:query:runs"])).query.execute(query).rows, [{"n": 1}]
        )
        with self.assertRaisesRegex(InvalidRequestError, "scoped to one environment"):
            reader.query.execute(query, scope="project")
        answer = self.post(
            "/api/v1/query", {"query": query, "scope": "project"}, self.jwt(["read:query"])
        )
        self.assertEqual(answer.status_code, 403)
        self.assertIn("This token is scoped to one environment", answer.json()["error"])
        with self.assertRaises(PermissionDeniedError):
            self.make_client(self.jwt(["read:runs"])).query.execute(query)
        with self.assertRaisesRegex(InvalidRequestError, "needs a secret key"):
            self.pat_client().query.execute(query)
        self.assertEqual(
            self.post("/api/v1/query", {"query": query}, self.emulator.access_token).status_code,
            401,
        )

    def test_a_lost_answer_is_retried(self):
        self.runs(["PENDING"])
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        rows = self.trigger.query.execute(
            f"SELECT count() AS n FROM runs WHERE task_identifier = '{TASK}'"
        ).rows
        self.assertEqual(rows, [{"n": 1}])
        self.assertEqual(self.journal.count(method="POST", path="/api/v1/query"), 2)


class TimeAndQuantileTests(QueryCase):
    """What the admin's overview asks (quantiles, local hours and days) against values worked
    out here by hand, over HTTP."""

    def at(self, when: str | None, duration_ms: int, status: str = "COMPLETED_SUCCESSFULLY"):
        """A run triggered at ``when`` (the clock then stays there), else now."""
        if when is not None:
            self.freeze(when)
        (run_id,) = self.runs([status], usage_duration_ms=duration_ms)
        return run_id

    def freeze(self, when: str) -> None:
        clock = self.emulator.state.clock
        clock.freeze(dt.datetime.fromisoformat(when))
        self.addCleanup(clock.reset)

    def test_quantiles_interpolate_between_the_nearest_ranks(self):
        for ms in (100, 200, 300, 400, 1000):
            self.at(None, ms)
        self.at(None, 9000, "COMPLETED_WITH_ERRORS")
        self.at(None, 0, "PENDING")
        done = "status IN ('Completed') AND usage_duration > 0"
        rows = self.trigger.query.execute(
            "SELECT quantile(0.5)(usage_duration) AS p50, quantile(0.95)(usage_duration) AS p95, "
            f"quantileIf(0.95)(usage_duration, {done}) AS done95, median(usage_duration) AS med, "
            "quantiles(0.25, 0.75)(usage_duration) AS qs, "
            "quantileIf(0.5)(usage_duration, status = 'Canceled') AS none_, "
            f"countIf(status = 'Completed' AND usage_duration > 150) AS slow "
            f"FROM runs WHERE task_identifier = '{TASK}'"
        ).rows
        # 7 values 0 100 200 300 400 1000 9000: p50 at rank 3 = 300; p95 at 5.7: 1000 + 0.7 *
        # 8000; the completed five: 3.8 -> 400 + 0.8 * 600; p25 at 1.5, p75 at 4.5
        self.assertEqual(rows[0]["p50"], 300)
        self.assertAlmostEqual(rows[0]["p95"], 6600)
        self.assertAlmostEqual(rows[0]["done95"], 880)
        self.assertEqual(rows[0]["med"], 300)
        self.assertEqual(rows[0]["qs"], [150, 700])
        self.assertIsNone(rows[0]["none_"])  # ClickHouse's NaN, printed as null
        self.assertEqual(rows[0]["slow"], 4)

    def test_hours_and_days_in_a_half_hour_zone(self):
        self.at("2026-11-29T18:29:00+00:00", 1)  # 23:59 in Kolkata
        self.at("2026-11-30T10:10:00+00:00", 1)  # 15:40 the next day
        rows = self.trigger.query.execute(
            "SELECT toStartOfHour(toTimeZone(triggered_at, 'Asia/Kolkata')) AS hour, "
            "toStartOfDay(toTimeZone(triggered_at, 'Asia/Kolkata')) AS day, "
            "toUnixTimestamp(toStartOfHour(toTimeZone(triggered_at, 'Asia/Kolkata'))) AS epoch, "
            "toStartOfHour(triggered_at) AS utc_hour, count() AS n "
            f"FROM runs WHERE task_identifier = '{TASK}' "
            "GROUP BY hour, day, epoch, utc_hour ORDER BY epoch",
            from_=dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc),
        ).rows
        self.assertEqual(
            rows,
            [
                {
                    "hour": "2026-11-29 23:00:00",  # ClickHouse's DateTime, in the zone
                    "day": "2026-11-29 00:00:00",
                    "epoch": int(
                        dt.datetime(2026, 11, 29, 17, 30, tzinfo=dt.timezone.utc).timestamp()
                    ),
                    "utc_hour": "2026-11-29 18:00:00",
                    "n": 1,
                },
                {
                    "hour": "2026-11-30 15:00:00",
                    "day": "2026-11-30 00:00:00",
                    "epoch": int(
                        dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.timezone.utc).timestamp()
                    ),
                    "utc_hour": "2026-11-30 10:00:00",
                    "n": 1,
                },
            ],
        )

    def test_a_dst_day_has_twenty_five_hours(self):
        # New York falls back on 2026-11-01 at 06:00 UTC (02:00 EDT -> 01:00 EST)
        for when in ("04:10", "05:30", "06:30", "23:59"):
            self.at(f"2026-11-01T{when}:00+00:00", 1)
        rows = self.trigger.query.execute(
            "SELECT toUnixTimestamp(toStartOfHour(toTimeZone(triggered_at, 'America/New_York'))) "
            "AS hour, toStartOfHour(toTimeZone(triggered_at, 'America/New_York')) AS local, "
            "toUnixTimestamp(toStartOfDay(toTimeZone(triggered_at, 'America/New_York'))) AS day "
            f"FROM runs WHERE task_identifier = '{TASK}' ORDER BY hour",
            from_=dt.datetime(2026, 10, 31, tzinfo=dt.timezone.utc),
        ).rows
        utc = dt.timezone.utc
        midnight = int(dt.datetime(2026, 11, 1, 4, tzinfo=utc).timestamp())  # 00:00 EDT
        self.assertEqual(
            [(r["hour"], r["local"], r["day"]) for r in rows],
            [
                (
                    int(dt.datetime(2026, 11, 1, 4, tzinfo=utc).timestamp()),
                    "2026-11-01 00:00:00",
                    midnight,
                ),
                # the two local 01:00 hours: printed alike, distinct as instants
                (
                    int(dt.datetime(2026, 11, 1, 5, tzinfo=utc).timestamp()),
                    "2026-11-01 01:00:00",
                    midnight,
                ),
                (
                    int(dt.datetime(2026, 11, 1, 6, tzinfo=utc).timestamp()),
                    "2026-11-01 01:00:00",
                    midnight,
                ),
                (
                    int(dt.datetime(2026, 11, 1, 23, tzinfo=utc).timestamp()),
                    "2026-11-01 18:00:00",
                    midnight,
                ),
            ],
        )

    def test_what_the_emulator_does_not_model_or_the_server_refuses(self):
        for query, message in (
            ("SELECT nope(run_id) AS x FROM runs", "Unknown function: nope"),
            ("SELECT uniq(run_id) AS x FROM runs", "uniq() is not supported by the django-trigger"),
            (
                "SELECT toStartOfHour(triggered_at, 'UTC') AS h FROM runs",
                "Function 'toStartOfHour' expects 1 argument, found 2",
            ),
            (
                "SELECT quantileIf(0.5)(usage_duration) AS q FROM runs",
                "Aggregation 'quantileIf' expects 2 arguments, found 1",
            ),
            (
                "SELECT toTimeZone(triggered_at, 'Mars/Olympus') AS t FROM runs",
                "Cannot load time zone Mars/Olympus",
            ),
            ("SELECT quantile(0.5)(usage_duration) FROM runs", "quantile() without AS"),
            ("SELECT toStartOfDay(status) AS d FROM runs", "Illegal type of argument"),
            (
                "SELECT toStartOfHour(triggered_at) AS h, count() AS n FROM runs "
                "GROUP BY toStartOfHour(triggered_at)",
                "GROUP BY an expression",
            ),
        ):
            with self.subTest(query), self.assertRaises(BadRequestError) as ctx:
                self.trigger.query.execute(query)
            self.assertIn(message, str(ctx.exception))


class DashboardTests(QueryCase):
    def widget(self, title: str = "Runs", **extra):
        return {
            "title": title,
            "query": "SELECT count() AS runs FROM runs",
            "display": NUMBER,
            **extra,
        }

    def test_list_has_the_built_in_and_the_custom_dashboards(self):
        created = self.trigger.query.dashboards.create("Mine", widgets=[self.widget()])
        listed = self.trigger.query.dashboards.list()
        self.assertEqual(
            [(d.key, d.type) for d in listed], [("overview", "builtIn"), (created.id, "custom")]
        )
        overview = listed[0]
        # the built-in widgets' queries run on the emulator
        for widget in overview.widgets:
            with self.subTest(widget.title):
                self.assertIsInstance(self.trigger.query.execute(widget.query).rows, list)
        self.assertEqual([w.title for w in listed[1].widgets], ["Runs"])

    def test_create_retrieve_update_delete(self):
        dashboards = self.trigger.query.dashboards
        created = dashboards.create(
            "Email tasks",
            description="runs of the email tasks",
            widgets=[
                self.widget("Total", position={"x": 0, "y": 0, "w": 6, "h": 4}),
                {"title": "Section", "display": {"type": "title"}},
                self.widget("More"),
            ],
        )
        self.assertIsInstance(created, Dashboard)
        self.assertEqual(
            [(w.title, w.position.y, w.position.w) for w in created.widgets],
            [("Total", 0, 6), ("Section", 4, 12), ("More", 6, 12)],
        )
        self.assertEqual(created.widgets[0].display["abbreviate"], False)  # the schema default
        self.assertEqual(dashboards.retrieve(created.id).raw, created.raw)
        renamed = dashboards.update(created.id, title="Emails", revision=created.revision)
        self.assertEqual(renamed.title, "Emails")
        self.assertNotEqual(renamed.revision, created.revision)
        self.assertEqual(dashboards.delete(created.id).id, created.id)
        with self.assertRaises(NotFoundError):
            dashboards.retrieve(created.id)
        with self.assertRaises(NotFoundError):
            dashboards.retrieve("overview")  # built-ins are read-only

    def test_a_stale_revision_is_a_conflict(self):
        dashboards = self.trigger.query.dashboards
        created = dashboards.create("Mine", widgets=[self.widget()])
        dashboards.update(created.id, description="changed by someone else")
        for call in (
            lambda: dashboards.update(created.id, title="Mine 2", revision=created.revision),
            lambda: dashboards.replace(created.id, [self.widget("New")], revision=created.revision),
            lambda: dashboards.widgets.add(created.id, self.widget("B"), revision=created.revision),
            lambda: dashboards.widgets.update(
                created.id, created.widgets[0].id, title="X", revision=created.revision
            ),
            lambda: dashboards.widgets.delete(
                created.id, created.widgets[0].id, revision=created.revision
            ),
        ):
            with self.assertRaises(ConflictError) as ctx:
                call()
            self.assertIn("has changed since revision", str(ctx.exception))
        current = dashboards.retrieve(created.id)
        self.assertEqual((current.title, [w.title for w in current.widgets]), ("Mine", ["Runs"]))
        self.assertEqual(self.journal.last(method="DELETE").query, {"revision": [created.revision]})

    def test_replace_keeps_positions_and_places_new_widgets_below(self):
        dashboards = self.trigger.query.dashboards
        created = dashboards.create(
            "Mine", widgets=[self.widget("A", id="a", position={"x": 6, "y": 0, "w": 6, "h": 3})]
        )
        replaced = dashboards.replace(
            created.id,
            [self.widget("A again", id="a"), self.widget("B")],
            revision=created.revision,
        )
        sent = self.journal.last(method="PUT").body["widgets"]
        self.assertRegex(sent[1]["id"], r"^[A-Za-z0-9]{8}$")  # the client names new widgets
        self.assertEqual(
            [(w.id, w.title, w.position.x, w.position.y) for w in replaced.widgets],
            [("a", "A again", 6, 0), (sent[1]["id"], "B", 0, 3)],
        )

    def test_widgets_add_update_delete(self):
        widgets = self.trigger.query.dashboards.widgets
        created = self.trigger.query.dashboards.create("Mine")
        added = widgets.add(created.id, self.widget(), revision=created.revision)
        self.assertEqual([w.id for w in added.dashboard.widgets], [added.widget_id])
        updated = widgets.update(
            created.id,
            added.widget_id,
            title="Runs today",
            display={"type": "table"},
            position={"x": 0, "y": 2, "w": 4, "h": 4},
            revision=added.dashboard.revision,
        )
        widget = updated.widgets[0]
        self.assertEqual(
            (widget.title, widget.display["type"], widget.position.w), ("Runs today", "table", 4)
        )
        emptied = widgets.delete(created.id, added.widget_id, revision=updated.revision)
        self.assertEqual(emptied.widgets, [])
        with self.assertRaises(NotFoundError):
            widgets.delete(created.id, added.widget_id)

    def test_lost_answers(self):
        dashboards = self.trigger.query.dashboards
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        with self.assertRaises(OutcomeUnknownError):
            dashboards.create("Lost")
        lost = [d for d in dashboards.list() if d.title == "Lost"]
        self.assertEqual(len(lost), 1)  # created once, not retried
        dashboard_id = lost[0].key
        revision = dashboards.retrieve(dashboard_id).revision
        # add with a revision: the retry is refused (revision moved), the widget is there
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        added = dashboards.widgets.add(dashboard_id, self.widget(), revision=revision)
        self.assertEqual(len(added.dashboard.widgets), 1)
        # add without a revision: the retry is refused (the id exists), checked the same way
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        second = dashboards.widgets.add(dashboard_id, self.widget("Two"))
        self.assertEqual(len(second.dashboard.widgets), 2)
        self.emulator.faults.drop_next(1, after_processing=True, method="PATCH")
        renamed = dashboards.update(dashboard_id, title="Found", revision=second.dashboard.revision)
        self.assertEqual(renamed.title, "Found")
        self.emulator.faults.drop_next(1, after_processing=True, method="PUT")
        kept = [
            {**self.widget(), "id": added.widget_id},
            {**self.widget("Two"), "id": second.widget_id},
        ]
        replaced = dashboards.replace(dashboard_id, kept, revision=renamed.revision)
        self.assertEqual([w.id for w in replaced.widgets], [added.widget_id, second.widget_id])
        self.emulator.faults.drop_next(1, after_processing=True, method="PATCH")
        changed = dashboards.widgets.update(
            dashboard_id, second.widget_id, title="Second", revision=replaced.revision
        )
        self.assertEqual([w.title for w in changed.widgets], ["Runs", "Second"])
        self.emulator.faults.drop_next(1, after_processing=True, method="DELETE")
        left = dashboards.widgets.delete(dashboard_id, added.widget_id, revision=changed.revision)
        self.assertEqual([w.title for w in left.widgets], ["Second"])
        self.emulator.faults.drop_next(1, after_processing=True, method="DELETE")
        self.assertEqual(dashboards.delete(dashboard_id).id, dashboard_id)
        self.assertEqual([d.title for d in dashboards.list() if d.title in ("Lost", "Found")], [])

    def test_bad_input_is_refused_before_sending(self):
        dashboards = self.trigger.query.dashboards
        widget = self.widget
        for call, message in (
            (lambda: dashboards.create(""), "title must be 1 to 200"),
            (lambda: dashboards.create("   "), "title must be 1 to 200"),
            (lambda: dashboards.create("x" * 201), "title must be 1 to 200"),
            (lambda: dashboards.create("A", description="x" * 2001), "description must be"),
            (lambda: dashboards.create("A", widgets=widget()), "widgets must be a list"),
            (lambda: dashboards.create("A", widgets=[widget(colour="red")]), "unknown key"),
            (lambda: dashboards.create("A", widgets=[widget(display={})]), "display must be"),
            (lambda: dashboards.create("A", widgets=[widget(query="")]), "needs a query"),
            (lambda: dashboards.create("A", widgets=[widget(id="no spaces")]), "id may only"),
            (
                lambda: dashboards.create("A", widgets=[widget(id="a"), widget(id="a")]),
                "used more than once",
            ),
            (
                lambda: dashboards.create(
                    "A", widgets=[widget(position={"x": 12, "y": 0, "w": 1, "h": 1})]
                ),
                "position x must be an integer from 0 to 11",
            ),
            (
                lambda: dashboards.create("A", widgets=[widget(position={"x": 0, "y": 0})]),
                "position must be a mapping of x, y, w and h",
            ),
            (lambda: dashboards.update("d1"), "pass title, description or both"),
            (lambda: dashboards.update("d1", title="A", revision=""), "revision must be"),
            (lambda: dashboards.retrieve(""), "must not be empty"),
            (lambda: dashboards.retrieve(".."), "not allowed"),
            (lambda: dashboards.widgets.update("d1", "w1"), "pass at least one"),
            (lambda: dashboards.widgets.update("d1", "w 1", title="A"), "not a widget id"),
            (lambda: dashboards.widgets.update("d1", "w1", fill_gaps="yes"), "fill_gaps must be"),
        ):
            with self.subTest(message), self.assertRaisesRegex(InvalidRequestError, message):
                call()
        self.assertEqual(len(self.journal), 0)

    def test_the_routes_check_their_bodies(self):
        base = "/api/v1/query/dashboards"
        for body, message in (
            ({"title": "A", "colour": "red"}, "Unrecognized key(s) in object: 'colour'"),
            ({"title": "  "}, "at least 1 character"),
            (
                {"title": "A", "widgets": [{"title": "W", "display": {"type": "pie"}}]},
                "Invalid enum value",
            ),
            (
                {"title": "A", "widgets": [{"title": "W", "display": {"type": "table"}}]},
                "A query is required",
            ),
            (
                {
                    "title": "A",
                    "widgets": [{"title": "W", "query": "q", "display": {"type": "chart"}}],
                },
                "chartType",
            ),
        ):
            with self.subTest(body):
                answer = self.post(base, body)
                self.assertEqual(answer.status_code, 400)
                self.assertIn(message, answer.json()["error"])
        self.assertEqual([d.type for d in self.trigger.query.dashboards.list()], ["builtIn"])

    def test_auth(self):
        reader = self.make_client(self.jwt(["read:query"]))
        self.assertEqual([d.key for d in reader.query.dashboards.list()], ["overview"])
        with self.assertRaises(PermissionDeniedError):
            reader.query.dashboards.create("Nope")
        writer = self.make_client(self.jwt(["write:query", "read:query"]))
        made = writer.query.dashboards.create("Yes")
        self.assertEqual(reader.query.dashboards.retrieve(made.id).title, "Yes")
        with self.assertRaises(PermissionDeniedError):
            self.make_client(self.jwt(["read:runs"])).query.dashboards.list()
        with self.assertRaisesRegex(InvalidRequestError, "needs a secret key"):
            self.pat_client().query.dashboards.list()
        answer = requests.get(
            self.emulator.base_url + "/api/v1/query/dashboards",
            headers={"Authorization": f"Bearer {self.emulator.access_token}"},
            timeout=5,
        )
        self.assertEqual(answer.status_code, 401)

    def test_raw_responses_reach_nested_resources(self):
        created = self.trigger.query.dashboards.create("Mine")
        raw = self.trigger.query.with_raw_response.dashboards.retrieve(created.id)
        self.assertEqual(raw.status_code, 200)
        self.assertEqual(raw.parse().id, created.id)
        raw_list = self.trigger.query.dashboards.widgets.with_raw_response.add(
            created.id, self.widget()
        )
        self.assertEqual(raw_list.parse().dashboard.id, created.id)
