"""Schedules and timezones (API.md §6.5, §10): legacy auth, create/upsert, the 422 checks, offset
pagination, retrieve by id or deduplication key, PUT replacement, delete, (de)activation,
timezones, and the response shapes against the OpenAPI file.

Response shapes are checked with ``tests.conformance.openapi.OpenApiShapes``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_trigger.testing.resources.schedules import cron_error, timezones
from tests.conformance.openapi import OpenApiShapes

from .base import FROZEN_NOW, EmulatorCase

SCHEDULES = "/api/v1/schedules"
NOT_AUTHENTICATED = "Invalid or Missing API Key"
TASK = "nightly-cleanup"


class ScheduleCase(OpenApiShapes, EmulatorCase):
    def create(self, token: Any = None, **body: Any):
        payload = {"task": TASK, "cron": "0 0 * * *", "deduplicationKey": "dedup-1", **body}
        payload = {k: v for k, v in payload.items() if v is not None}
        kwargs = {} if token is None else {"token": token}
        return self.post(SCHEDULES, json=payload, **kwargs)

    def env(self, slug: str):
        return self.emu.state.environment_for_key(self.emu.secret_keys[slug])

    def schedules_of(self, slug: str):
        with self.emu.state.lock:
            return self.emu.state.schedules.in_environment(self.env(slug))

    def declarative(self, slug: str = "dev"):
        return next(s for s in self.schedules_of(slug) if s.type == "DECLARATIVE")


class ScheduleAuthTests(ScheduleCase):
    def test_every_failure_is_the_legacy_401(self):
        state = self.emu.state
        with state.lock:
            restricted = state.add_api_key(self.dev_env, scopes={"read:all"})
        for token, headers in (
            (self.emu.access_token, {}),
            ("tr_dev_unknownunknownunknown", {}),
            (self.emu.secret_keys["preview"], {}),
            (self.emu.secret_keys["preview"], {"x-trigger-branch": "nope"}),
            (restricted, {}),
            ("", {}),
        ):
            with self.subTest(token=token[:12], headers=headers):
                self.assertError(
                    self.get(SCHEDULES, token=token, headers=headers), 401, NOT_AUTHENTICATED
                )
                self.assertError(
                    self.create(token=token or None, deduplicationKey="x")
                    if token
                    else self.post(SCHEDULES, token="", json={}),
                    401,
                    NOT_AUTHENTICATED,
                )

    def test_missing_header_is_the_rate_limiters_401(self):
        response = self.get(SCHEDULES, token=None)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")

    def test_preview_key_with_a_branch_sees_that_branch(self):
        response = self.get(
            SCHEDULES,
            token=self.emu.secret_keys["preview"],
            headers={"x-trigger-branch": "feature-login"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        (item,) = response.json()["data"]
        self.assertEqual(item["type"], "DECLARATIVE")
        (env,) = item["environments"]
        self.assertEqual(
            (env["type"], env["slug"], env["branchName"]), ("PREVIEW", "preview", "feature-login")
        )
        self.assertNotIn("userName", env)

    def test_timezones_need_no_credential_and_are_not_rate_limited(self):
        response = self.get("/api/v1/timezones", token=None)
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("x-ratelimit-limit", response.headers)


class CreateScheduleTests(ScheduleCase):
    def test_create_answers_the_schedule_object(self):
        response = self.create(externalId="tenant_9", deduplicationKey="tenant-9")
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertTrue(body["id"].startswith("sched_"))
        self.assertEqual(body["type"], "IMPERATIVE")
        self.assertEqual(body["task"], TASK)
        self.assertIs(body["active"], True)
        self.assertEqual(
            body["generator"],
            {"type": "CRON", "expression": "0 0 * * *", "description": "At 12:00 AM"},
        )
        self.assertEqual(body["timezone"], "UTC")
        self.assertEqual((body["externalId"], body["deduplicationKey"]), ("tenant_9", "tenant-9"))
        self.assertEqual(body["nextRun"], "2026-03-19T00:00:00.000Z")  # frozen at 03-18 12:00Z
        effective = dt.datetime.fromisoformat(body["nextRunEffectiveAt"].replace("Z", "+00:00"))
        nominal = dt.datetime(2026, 3, 19, tzinfo=dt.timezone.utc)
        self.assertTrue(nominal <= effective < nominal + dt.timedelta(seconds=60))
        env = self.dev_env
        self.assertEqual(
            body["environments"],
            [
                {
                    "id": env.id,
                    "shortcode": env.shortcode,
                    "type": "DEVELOPMENT",
                    "userName": "Alice Example",
                }
            ],
        )
        self.assertNotIn("window", body)
        self.assertConforms(body, SCHEDULES, "post")

    def test_create_omits_an_unset_external_id_and_non_dev_user_names(self):
        body = self.create(token=self.emu.secret_keys["prod"]).json()
        self.assertNotIn("externalId", body)
        self.assertNotIn("userName", body["environments"][0])

    def test_next_run_is_computed_in_the_schedules_time_zone(self):
        cases = (
            ("Europe/London", "2026-03-19T09:00:00.000Z"),  # GMT until 29 March
            ("America/New_York", "2026-03-18T13:00:00.000Z"),  # EDT since 8 March
            ("Asia/Tokyo", "2026-03-19T00:00:00.000Z"),
        )
        for n, (zone, expected) in enumerate(cases):
            with self.subTest(zone=zone):
                body = self.create(
                    cron="0 9 * * *", timezone=zone, deduplicationKey=f"tz-{n}"
                ).json()
                self.assertEqual((body["timezone"], body["nextRun"]), (zone, expected))

    def test_descriptions_read_like_cronstrue(self):
        for n, (cron, text) in enumerate(
            (
                ("0 9 * * 1-5", "At 09:00 AM, Monday through Friday"),
                ("*/5 * * * *", "Every 5 minutes"),
                ("30 14 * * *", "At 02:30 PM"),
            )
        ):
            with self.subTest(cron=cron):
                body = self.create(cron=cron, deduplicationKey=f"d-{n}").json()
                self.assertEqual(body["generator"]["description"], text)

    def test_same_deduplication_key_updates_the_schedule(self):
        first = self.create(deduplicationKey="tenant-x", externalId="a").json()
        count = len(self.schedules_of("dev"))
        second = self.create(deduplicationKey="tenant-x", cron="15 10 * * *").json()
        self.assertEqual(second["id"], first["id"])
        self.assertEqual(second["generator"]["expression"], "15 10 * * *")
        self.assertNotIn("externalId", second)  # the upsert replaced it
        self.assertEqual(len(self.schedules_of("dev")), count)

    def test_a_deduplication_key_from_another_environment_moves_the_schedule_here(self):
        prod_schedule = self.create(
            token=self.emu.secret_keys["prod"], deduplicationKey="shared"
        ).json()
        moved = self.create(deduplicationKey="shared").json()
        self.assertEqual(moved["id"], prod_schedule["id"])
        self.assertEqual([e["type"] for e in moved["environments"]], ["DEVELOPMENT"])
        self.assertError(
            self.get(f"{SCHEDULES}/shared", token=self.emu.secret_keys["prod"]),
            404,
            "Schedule not found",
        )

    def test_window_is_stored_and_shifts_the_effective_time_within_it(self):
        body = self.create(window="2h", cron="0 * * * *").json()
        self.assertEqual(body["window"], "2h")
        nominal = dt.datetime.fromisoformat(body["nextRun"].replace("Z", "+00:00"))
        effective = dt.datetime.fromisoformat(body["nextRunEffectiveAt"].replace("Z", "+00:00"))
        self.assertTrue(nominal <= effective < nominal + dt.timedelta(hours=1))  # capped

    def test_schema_failures_are_400_invalid_request_body_with_issues(self):
        response = self.post(SCHEDULES, json={"task": 7, "cron": "0 0 * * *", "window": "3d"})
        self.assertEqual(response.status_code, 400)
        body = response.json()
        self.assertEqual(body["error"], "Invalid request body")
        self.assertEqual(
            [(i["path"], i["message"]) for i in body["issues"]],
            [
                (["task"], "Expected string, received number"),
                (["deduplicationKey"], "Required"),
                (
                    ["window"],
                    'Schedule window must be a whole duration such as "30m" or "2h", or a '
                    'percentage such as "30%"',
                ),
            ],
        )
        response = self.post(SCHEDULES, json=["not", "an", "object"])
        self.assertEqual(response.json()["issues"][0]["message"], "Expected object, received array")
        response = self.create(window="25h")
        self.assertEqual(
            response.json()["issues"][0]["message"],
            "Schedule window duration cannot exceed 24 hours",
        )

    def test_a_body_that_is_not_json_throws_in_the_route(self):
        response = self.post(SCHEDULES, data=b"{nope", headers={"Content-Type": "application/json"})
        self.assertError(response, 500, "Internal Server Error")

    def test_cron_validation_is_422(self):
        cases = (
            (
                "0 0 * * * *",
                "Invalid cron expression: CRON expressions with seconds are not allowed",
            ),
            (
                "0  0 * * *",
                "Invalid cron expression: CRON expressions with seconds are not allowed",
            ),  # the server splits on single spaces
            ("", "Invalid cron expression: CRON expression is required"),
            (
                "61 * * * *",
                "Invalid cron expression: Constraint error, got value 61 expected range 0-59",
            ),
            (
                "0 0 * foo *",
                'Invalid cron expression: Validation error, cannot resolve alias "foo"',
            ),
            (
                "0 0 * * 1-9",
                "Invalid cron expression: Constraint error, got range 1-9 expected range 0-7",
            ),
            ("0 x * * *", "Invalid cron expression: Invalid characters, got value: x"),
            ("0 0 31 2 *", "Invalid cron expression: Invalid explicit day of month definition"),
        )
        for cron, message in cases:
            with self.subTest(cron=cron):
                self.assertError(self.create(cron=cron), 422, message)
        self.assertEqual(
            len(
                [
                    s
                    for s in self.schedules_of("dev")
                    if s.task == TASK and s.deduplication_key == "dedup-1"
                ]
            ),
            0,
        )

    def test_an_expression_the_describer_cannot_read_is_a_500(self):
        # cron-parser accepts three fields (right-aligned: day-of-month, month, day-of-week);
        # cronstrue then throws inside the service.
        self.assertError(self.create(cron="5 * *"), 500, "Something went wrong, please try again.")
        self.assertError(
            self.create(cron="0 9 *"),
            422,
            "Invalid cron expression: Constraint error, got value 0 expected range 1-31",
        )

    def test_timezone_must_be_in_the_servers_list(self):
        origin = self.emu.base_url
        for zone in ("Asia/Kolkata", "Etc/UTC", "Mars/Olympus"):
            with self.subTest(zone=zone):
                self.assertError(
                    self.create(timezone=zone),
                    422,
                    f"Invalid IANA timezone: '{zone}'. View the list of valid "
                    f"timezones at {origin}/timezones",
                )
        self.assertEqual(self.create(timezone="Asia/Calcutta").status_code, 200)

    def test_task_must_exist_and_be_a_scheduled_task(self):
        self.assertError(
            self.create(task="no-such-task"),
            422,
            "Task with identifier no-such-task not found in project.",
        )
        self.assertError(
            self.create(task="send-email"),
            422,
            "Task with identifier send-email is not a scheduled task.",
        )
        self.assertEqual(self.emu.scheduled_tasks, [TASK])
        self.assertIn("send-email", self.emu.tasks)

    def test_the_limit_counts_active_non_development_instances(self):
        state = self.emu.state
        prod = self.emu.secret_keys["prod"]
        with state.lock:
            used = state.schedules.used_count(self.emu.project_ref)
            state.schedules.limit = used
        self.assertGreater(used, 0)
        self.assertError(
            self.create(token=prod),
            422,
            f"You have created {used}/{used} schedules so you'll need to increase "
            "your limits or delete some schedules.",
        )
        # development schedules do not count, but every create is checked, dev ones included
        self.assertEqual(self.create().status_code, 422)
        with state.lock:
            state.schedules.limit = used + 1
        self.assertEqual(self.create(deduplicationKey="dev-one").status_code, 200)
        with state.lock:
            self.assertEqual(state.schedules.used_count(self.emu.project_ref), used)
        self.assertEqual(self.create(token=prod).status_code, 200)
        with state.lock:
            self.assertEqual(state.schedules.used_count(self.emu.project_ref), used + 1)
        # an update through PUT is not a create: no limit check
        with state.lock:
            state.schedules.limit = 0
        existing = self.schedules_of("prod")[0]
        response = self.put(
            f"{SCHEDULES}/{existing.friendly_id}",
            token=prod,
            json={"task": TASK, "cron": "0 1 * * *"},
        )
        self.assertEqual(response.status_code, 200, response.text)

    def test_cron_error_helper_matches_the_route(self):
        self.assertIsNone(cron_error("0 9 * * MON-FRI"))
        self.assertIsNone(cron_error("@daily"))
        self.assertIsNone(cron_error("0 0 L * *"))


class ListScheduleTests(ScheduleCase):
    def test_offset_pagination_numbers(self):
        body = self.get(SCHEDULES).json()
        self.assertEqual(len(body["data"]), 20)
        self.assertEqual(body["pagination"], {"currentPage": 1, "totalPages": 2, "count": 26})
        page2 = self.get(SCHEDULES, params={"page": 2}).json()
        self.assertEqual(len(page2["data"]), 6)
        self.assertEqual(page2["pagination"], {"currentPage": 2, "totalPages": 2, "count": 26})
        ids = [s["id"] for s in body["data"] + page2["data"]]
        self.assertEqual(len(set(ids)), 26)
        beyond = self.get(SCHEDULES, params={"page": 9}).json()
        self.assertEqual(
            beyond, {"data": [], "pagination": {"currentPage": 9, "totalPages": 2, "count": 26}}
        )
        capped = self.get(SCHEDULES, params={"perPage": 500}).json()
        self.assertEqual((len(capped["data"]), capped["pagination"]["totalPages"]), (26, 1))
        small = self.get(SCHEDULES, params={"perPage": 7, "page": 4}).json()
        self.assertEqual((len(small["data"]), small["pagination"]["totalPages"]), (5, 4))

    def test_newest_first_and_only_the_callers_environment(self):
        data = self.get(SCHEDULES, params={"perPage": 100}).json()["data"]
        with self.emu.state.lock:
            created = [self.emu.state.schedules.by_id[s["id"]].created_at for s in data]
        self.assertEqual(created, sorted(created, reverse=True))
        self.assertEqual(data[-1]["type"], "DECLARATIVE")
        prod = self.get(SCHEDULES, token=self.emu.secret_keys["prod"]).json()
        self.assertEqual(prod["pagination"]["count"], 4)
        self.assertTrue(
            all(e["type"] == "PRODUCTION" for s in prod["data"] for e in s["environments"])
        )

    def test_list_items_carry_null_external_id_and_environment_slugs(self):
        data = self.get(SCHEDULES, params={"perPage": 100}).json()["data"]
        dashboard = data[0]  # made in the dashboard: no deduplication key, no external id
        self.assertNotIn("deduplicationKey", dashboard)
        self.assertIn("externalId", dashboard)
        self.assertIsNone(dashboard["externalId"])
        tenant = next(s for s in data if s.get("deduplicationKey") == "tenant-5-digest")
        self.assertEqual((tenant["externalId"], tenant["window"]), ("tenant_5", "30m"))
        self.assertEqual(
            tenant["environments"],
            [
                {
                    "id": self.dev_env.id,
                    "type": "DEVELOPMENT",
                    "slug": "dev",
                    "userName": "Alice Example",
                }
            ],
        )
        inactive = next(s for s in data if s.get("deduplicationKey") == "tenant-7-digest")
        self.assertIs(inactive["active"], False)
        self.assertIsNotNone(inactive["nextRun"])  # the list computes it regardless

    def test_bad_query_is_400_invalid_request_parameters(self):
        cases = (
            ({"perPage": 0}, ["perPage"], "Number must be greater than 0"),
            ({"page": "abc"}, ["page"], "Expected number, received nan"),
            ({"page": "1.5"}, ["page"], "Expected integer, received float"),
            ({"perPage": "-2"}, ["perPage"], "Number must be greater than 0"),
        )
        for params, path, message in cases:
            with self.subTest(params=params):
                response = self.get(SCHEDULES, params=params)
                self.assertEqual(response.status_code, 400)
                body = response.json()
                self.assertEqual(body["error"], "Invalid request parameters")
                self.assertEqual(
                    (body["issues"][0]["path"], body["issues"][0]["message"]), (path, message)
                )

    def test_list_conforms_to_the_openapi_file(self):
        body = self.get(SCHEDULES, params={"perPage": 100}).json()
        # §13: the list sends ``externalId: null`` where the OpenAPI file says string.
        for item in body["data"]:
            if item["externalId"] is None:
                del item["externalId"]
        self.assertConforms(body, SCHEDULES)


class ScheduleByIdTests(ScheduleCase):
    def test_retrieve_by_id_or_deduplication_key(self):
        created = self.create(deduplicationKey="by-key", externalId="e1").json()
        by_id = self.get(f"{SCHEDULES}/{created['id']}").json()
        by_key = self.get(f"{SCHEDULES}/by-key").json()
        self.assertEqual(by_id, by_key)
        self.assertEqual(by_id["environments"], [{"id": self.dev_env.id, "type": "DEVELOPMENT"}])
        self.assertEqual((by_id["externalId"], by_id["deduplicationKey"]), ("e1", "by-key"))
        self.assertEqual(by_id["nextRun"], created["nextRun"])
        self.assertEqual(by_id["nextRunEffectiveAt"], created["nextRunEffectiveAt"])
        self.assertConforms(by_id, f"{SCHEDULES}/{{schedule_id}}")

    def test_unknown_and_other_environment_schedules_are_404(self):
        prod_id = self.schedules_of("prod")[0].friendly_id
        for target in ("sched_doesnotexist", "no-such-key", prod_id):
            with self.subTest(target=target):
                self.assertError(self.get(f"{SCHEDULES}/{target}"), 404, "Schedule not found")
                self.assertError(
                    self.call("DELETE", f"{SCHEDULES}/{target}"), 404, "Schedule not found"
                )
                self.assertError(
                    self.post(f"{SCHEDULES}/{target}/activate"), 404, "Schedule not found"
                )

    def test_deactivate_and_activate(self):
        created = self.create().json()
        off = self.post(f"{SCHEDULES}/{created['id']}/deactivate")
        self.assertEqual(off.status_code, 200)
        self.assertIs(off.json()["active"], False)
        self.assertIsNone(off.json()["nextRun"])  # §13: retrieve may send nextRun null
        self.assertIsNone(self.get(f"{SCHEDULES}/dedup-1").json()["nextRun"])
        deactivated = dict(off.json())
        del deactivated["nextRun"], deactivated["nextRunEffectiveAt"]  # the §13 nulls
        self.assertConforms(deactivated, f"{SCHEDULES}/{{schedule_id}}/deactivate", "post")
        on = self.post(f"{SCHEDULES}/dedup-1/activate").json()
        self.assertIs(on["active"], True)
        self.assertEqual(on["nextRun"], created["nextRun"])
        self.assertConforms(on, f"{SCHEDULES}/{{schedule_id}}/activate", "post")

    def test_put_is_a_full_replacement(self):
        created = self.create(externalId="tenant_1", timezone="Asia/Tokyo", window="30m").json()
        response = self.put(
            f"{SCHEDULES}/{created['id']}", json={"task": TASK, "cron": "0 6 * * *"}
        )
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["id"], created["id"])
        self.assertEqual(body["timezone"], "UTC")
        self.assertNotIn("externalId", body)
        self.assertNotIn("window", body)
        self.assertEqual(body["deduplicationKey"], "dedup-1")  # kept
        self.assertEqual(body["nextRun"], "2026-03-19T06:00:00.000Z")
        self.assertEqual(body["environments"][0]["shortcode"], self.dev_env.shortcode)
        self.assertConforms(body, f"{SCHEDULES}/{{schedule_id}}", "put")
        again = self.put(
            f"{SCHEDULES}/dedup-1", json={"task": TASK, "cron": "0 7 * * *", "externalId": "x"}
        ).json()
        self.assertEqual((again["id"], again["externalId"]), (created["id"], "x"))

    def test_put_on_an_unknown_id_creates_a_new_schedule(self):
        before = len(self.schedules_of("dev"))
        response = self.put(
            f"{SCHEDULES}/sched_doesnotexist", json={"task": TASK, "cron": "0 6 * * *"}
        )
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertNotEqual(body["id"], "sched_doesnotexist")
        self.assertTrue(body["id"].startswith("sched_"))
        self.assertNotIn("deduplicationKey", body)
        self.assertEqual(len(self.schedules_of("dev")), before + 1)

    def test_put_validation(self):
        prod_id = self.schedules_of("prod")[0].friendly_id
        self.assertError(
            self.put(f"{SCHEDULES}/{prod_id}", json={"task": TASK, "cron": "0 6 * * *"}),
            404,
            "Schedule not found",
        )
        response = self.put(f"{SCHEDULES}/x", json={"cron": "0 6 * * *"})
        self.assertEqual(response.json()["issues"][0]["path"], ["task"])
        self.assertError(
            self.put(f"{SCHEDULES}/x", json={"task": TASK, "cron": "* * * * * *"}),
            422,
            "Invalid cron expression: CRON expressions with seconds are not allowed",
        )

    def test_declarative_schedules_cannot_be_updated(self):
        declarative = self.declarative()
        self.assertError(
            self.put(
                f"{SCHEDULES}/{declarative.friendly_id}", json={"task": TASK, "cron": "0 6 * * *"}
            ),
            422,
            "Cannot update a declarative schedule",
        )
        body = self.get(f"{SCHEDULES}/{declarative.friendly_id}").json()
        self.assertEqual(
            (body["type"], body["generator"]["expression"]), ("DECLARATIVE", "0 3 * * *")
        )
        self.assertNotIn("deduplicationKey", body)

    def test_declarative_ids_are_the_ones_seeded_runs_refer_to(self):
        with self.emu.state.lock:
            run_schedules = {
                r.schedule["id"]
                for r in self.emu.state.runs.by_id.values()
                if r.schedule and r.environment_id == self.dev_env.id
            }
        self.assertEqual(run_schedules, {self.declarative().friendly_id})

    def test_delete(self):
        created = self.create().json()
        response = self.call("DELETE", f"{SCHEDULES}/{created['id']}")
        self.assertEqual((response.status_code, response.json()), (200, {"id": created["id"]}))
        self.assertError(self.get(f"{SCHEDULES}/{created['id']}"), 404, "Schedule not found")
        self.create(deduplicationKey="by-key")
        deleted = self.call("DELETE", f"{SCHEDULES}/by-key").json()
        self.assertTrue(deleted["id"].startswith("sched_"))


class TimezoneTests(ScheduleCase):
    def test_utc_first_then_canonical_zones_sorted(self):
        zones = self.get("/api/v1/timezones", token=None).json()["timezones"]
        self.assertEqual(zones[0], "UTC")
        self.assertEqual(zones[1:], sorted(zones[1:]))
        for present in ("Europe/London", "America/New_York", "Asia/Calcutta", "Europe/Kiev"):
            self.assertIn(present, zones)
        for absent in ("Etc/UTC", "Asia/Kolkata", "US/Eastern", "GMT"):
            self.assertNotIn(absent, zones)
        self.assertGreater(len(zones), 400)
        self.assertEqual(zones, timezones())
        self.assertConforms({"timezones": zones}, "/api/v1/timezones")

    def test_exclude_utc(self):
        zones = self.get("/api/v1/timezones", token=None, params={"excludeUtc": "true"}).json()[
            "timezones"
        ]
        self.assertNotIn("UTC", zones)
        self.assertEqual(zones, timezones()[1:])
        other = self.get("/api/v1/timezones", token=None, params={"excludeUtc": "yes"}).json()
        self.assertEqual(other["timezones"][0], "UTC")


class SeedTests(ScheduleCase):
    def test_frozen_clock_makes_answers_identical(self):
        first = self.get(SCHEDULES, params={"perPage": 100}).json()
        self.emu.reset()
        self.assertEqual(self.get(SCHEDULES, params={"perPage": 100}).json(), first)
        self.assertEqual(FROZEN_NOW.isoformat(), "2026-03-18T12:00:00+00:00")
