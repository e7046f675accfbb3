"""The run list (API.md §5, §6.1, §7, §16): every filter, the implicit 7-day window, cursor
pagination in both directions, the status vocabulary by header, the PAT project list."""

from __future__ import annotations

import base64
import datetime as dt
import json

from django_trigger.testing.resources.runs import V1, V2

from .base import FROZEN_NOW, EmulatorCase

ALL_TIME = {"filter[createdAt][period]": "400d"}
EPOCH_MS = lambda when: int(when.timestamp() * 1000)  # noqa: E731


class RunListCase(EmulatorCase):
    def list(self, token=None, **params):
        kwargs = {} if token is None else {"token": token}
        response = self.get("/api/v1/runs", params=params, **kwargs)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def ids(self, **params) -> list[str]:
        return [r["id"] for r in self.list(**params)["data"]]

    def expected(self, predicate=lambda run: True, window_days: float | None = 400) -> list[str]:
        """Dev runs newest first (createdAt desc, id desc), computed from the state."""
        lower = FROZEN_NOW - dt.timedelta(days=window_days) if window_days else None
        runs = [
            r for r in self.dev_runs() if (lower is None or r.created_at >= lower) and predicate(r)
        ]
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return [r.friendly_id for r in runs]

    def walk(self, direction: str, **params) -> tuple[list[list[str]], list[dict]]:
        pages, paginations = [], []
        cursor = None
        while True:
            query = dict(params)
            if cursor:
                query[f"page[{direction}]"] = cursor
            body = self.list(**query)
            pages.append([r["id"] for r in body["data"]])
            paginations.append(body["pagination"])
            cursor = body["pagination"].get("next" if direction == "after" else "previous")
            if not cursor:
                return pages, paginations
            self.assertLess(len(pages), 100, "pagination does not terminate")


class PaginationTests(RunListCase):
    def test_default_and_maximum_page_sizes(self):
        self.assertEqual(len(self.list(**ALL_TIME)["data"]), 25)
        self.assertEqual(len(self.list(**{"page[size]": 100}, **ALL_TIME)["data"]), 100)
        self.assertEqual(len(self.list(**{"page[size]": 1})["data"]), 1)

    def test_page_size_out_of_bounds_is_a_query_error(self):
        cases = {
            "101": [
                {
                    "code": "too_big",
                    "maximum": 100,
                    "type": "number",
                    "inclusive": True,
                    "exact": False,
                    "path": ["page[size]"],
                    "message": "Number must be less than or equal to 100",
                }
            ],
            "0": [
                {
                    "code": "too_small",
                    "minimum": 0,
                    "type": "number",
                    "inclusive": False,
                    "exact": False,
                    "path": ["page[size]"],
                    "message": "Number must be greater than 0",
                },
                {
                    "code": "too_small",
                    "minimum": 1,
                    "type": "number",
                    "inclusive": True,
                    "exact": False,
                    "path": ["page[size]"],
                    "message": "Number must be greater than or equal to 1",
                },
            ],
            "ten": [
                {
                    "code": "invalid_type",
                    "expected": "number",
                    "received": "nan",
                    "path": ["page[size]"],
                    "message": "Expected number, received nan",
                }
            ],
            "2.5": [
                {
                    "code": "invalid_type",
                    "expected": "integer",
                    "received": "float",
                    "path": ["page[size]"],
                    "message": "Expected integer, received float",
                }
            ],
        }
        for value, details in cases.items():
            with self.subTest(size=value):
                response = self.get("/api/v1/runs", params={"page[size]": value})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), {"error": "Query Error", "details": details})

    def test_forward_walk_visits_every_run_once_newest_first(self):
        pages, paginations = self.walk("after", **{"page[size]": 40}, **ALL_TIME)
        flat = [run_id for page in pages for run_id in page]
        self.assertEqual(flat, self.expected())
        self.assertGreater(len(pages), 5)
        self.assertNotIn("previous", paginations[0])  # first page
        self.assertTrue(all("previous" in p for p in paginations[1:]))
        self.assertNotIn("next", paginations[-1])  # last page
        self.assertTrue(all(len(page) == 40 for page in pages[:-1]))

    def test_backward_walk_reproduces_the_same_pages(self):
        forward, _ = self.walk("after", **{"page[size]": 30}, **ALL_TIME)
        # Start from the last page's cursor going forward, then walk back with `previous`.
        body = self.list(**{"page[size]": 30}, **ALL_TIME)
        cursors = [None]
        while body["pagination"].get("next"):
            cursors.append(body["pagination"]["next"])
            body = self.list(**{"page[size]": 30, "page[after]": cursors[-1]}, **ALL_TIME)
        last_previous = body["pagination"]["previous"]
        backward = [[r["id"] for r in body["data"]]]
        cursor = last_previous
        while cursor:
            page = self.list(**{"page[size]": 30, "page[before]": cursor}, **ALL_TIME)
            backward.append([r["id"] for r in page["data"]])
            self.assertIn("next", page["pagination"])  # a backward page always has a next
            cursor = page["pagination"].get("previous")
        self.assertEqual(list(reversed(backward)), forward)

    def test_cursor_is_opaque_base64url_of_created_at_and_id(self):
        body = self.list(**{"page[size]": 2}, **ALL_TIME)
        cursor = body["pagination"]["next"]
        self.assertNotIn("=", cursor)
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=="))
        last = self.emu.state.runs.get(body["data"][-1]["id"])
        self.assertEqual(decoded, {"c": EPOCH_MS(last.created_at), "r": last.id})

    def test_before_wins_over_after_and_garbage_cursors_are_legacy_ids(self):
        first = self.list(**{"page[size]": 5}, **ALL_TIME)
        second = self.list(
            **{"page[size]": 5, "page[after]": first["pagination"]["next"]}, **ALL_TIME
        )
        both = self.list(
            **{
                "page[size]": 5,
                "page[after]": first["pagination"]["next"],
                "page[before]": second["pagination"]["previous"],
            },
            **ALL_TIME,
        )
        self.assertEqual([r["id"] for r in both["data"]], [r["id"] for r in first["data"]])
        legacy = self.get("/api/v1/runs", params={"page[after]": "not-a-cursor!"})
        self.assertEqual(legacy.status_code, 200)

    def test_empty_page_still_has_pagination(self):
        body = self.list(**{"filter[taskIdentifier]": "no-such-task"})
        self.assertEqual(body, {"data": [], "pagination": {}})


class TimeWindowTests(RunListCase):
    def test_implicit_seven_day_window(self):
        everything = self.expected()
        recent = self.expected(window_days=7)
        self.assertLess(len(recent), len(everything))
        pages, _ = self.walk("after", **{"page[size]": 100})
        self.assertEqual([i for page in pages for i in page], recent)

    def test_period_from_and_to(self):
        self.assertEqual(
            [
                i
                for p in self.walk(
                    "after", **{"page[size]": 100, "filter[createdAt][period]": "2d"}
                )[0]
                for i in p
            ],
            self.expected(window_days=2),
        )
        start, end = FROZEN_NOW - dt.timedelta(days=20), FROZEN_NOW - dt.timedelta(days=10)
        expected = self.expected(lambda r: start <= r.created_at <= end, window_days=None)
        by_ms = self.walk(
            "after",
            **{
                "page[size]": 100,
                "filter[createdAt][from]": EPOCH_MS(start),
                "filter[createdAt][to]": EPOCH_MS(end),
            },
        )[0]
        self.assertEqual([i for p in by_ms for i in p], expected)
        by_iso = self.walk(
            "after",
            **{
                "page[size]": 100,
                "filter[createdAt][from]": start.isoformat(),
                "filter[createdAt][to]": end.isoformat(),
            },
        )[0]
        self.assertEqual([i for p in by_iso for i in p], expected)
        self.assertTrue(expected)

    def test_invalid_date_is_a_query_error(self):
        response = self.get("/api/v1/runs", params={"filter[createdAt][from]": "yesterday"})
        self.assertEqual(
            response.json(),
            {
                "error": "Query Error",
                "details": [
                    {
                        "code": "invalid_date",
                        "path": ["filter[createdAt][from]"],
                        "message": "Invalid date",
                    }
                ],
            },
        )


class FilterTests(RunListCase):
    def all_ids(self, **params) -> list[str]:
        pages, _ = self.walk("after", **{"page[size]": 100}, **ALL_TIME, **params)
        return [i for p in pages for i in p]

    def test_status_in_either_vocabulary(self):
        cases = {
            "COMPLETED": {"COMPLETED_SUCCESSFULLY"},
            "FAILED": {"COMPLETED_WITH_ERRORS"},
            "QUEUED": {"PENDING"},
            "WAITING": {"WAITING_TO_RESUME"},
            "FROZEN": {"PAUSED", "WAITING_TO_RESUME"},
            "REATTEMPTING": {"RETRYING_AFTER_FAILURE"},
            "DEQUEUED": {"DEQUEUED"},
            "WAITING_FOR_DEPLOY": {"WAITING_FOR_DEPLOY"},
            "CANCELED,CRASHED": {"CANCELED", "CRASHED"},
        }
        for value, internal in cases.items():
            with self.subTest(status=value):
                got = self.all_ids(**{"filter[status]": value})
                self.assertTrue(got)
                self.assertEqual(got, self.expected(lambda r, s=internal: r.status in s))

    def test_unknown_status_lists_the_bad_values(self):
        response = self.get("/api/v1/runs", params={"filter[status]": "COMPLETED,NOPE,Late"})
        self.assertEqual(
            response.json(),
            {
                "error": "Query Error",
                "details": [
                    {
                        "code": "custom",
                        "message": "Invalid status values: NOPE, Late",
                        "path": ["filter[status]"],
                    }
                ],
            },
        )

    def test_task_version_tag_and_region_filters(self):
        runs = self.dev_runs()
        version = next(r.version for r in runs if r.version)
        cases = [
            (
                {"filter[taskIdentifier]": "send-email,sync-crm"},
                lambda r: r.task_identifier in ("send-email", "sync-crm"),
            ),
            ({"filter[version]": version}, lambda r: r.version == version),
            (
                {"filter[tag]": "tenant_7,org_acme"},
                lambda r: bool({"tenant_7", "org_acme"} & set(r.tags)),
            ),
            (
                {"filter[tag]": "<script>alert(1)</script>"},
                lambda r: "<script>alert(1)</script>" in r.tags,
            ),
            ({"filter[queue]": "task/resize-image"}, lambda r: r.queue == "task/resize-image"),
            ({"filter[machine]": "medium-1x,micro"}, lambda r: r.machine in ("medium-1x", "micro")),
        ]
        for params, predicate in cases:
            with self.subTest(params=params):
                expected = self.expected(predicate)
                self.assertTrue(expected)
                self.assertEqual(self.all_ids(**params), expected)
        prod = self.get(
            "/api/v1/runs",
            token=self.emu.secret_keys["prod"],
            params={"filter[region]": "eu-central-1", "page[size]": 100, **ALL_TIME},
        )
        self.assertTrue(prod.json()["data"])
        self.assertEqual({r["region"] for r in prod.json()["data"]}, {"eu-central-1"})

    def test_is_test_filter(self):
        self.assertEqual(
            self.all_ids(**{"filter[isTest]": "true"}), self.expected(lambda r: r.is_test)
        )
        self.assertEqual(
            self.all_ids(**{"filter[isTest]": "false"}), self.expected(lambda r: not r.is_test)
        )
        response = self.get("/api/v1/runs", params={"filter[isTest]": "yes"})
        self.assertEqual(
            response.json()["details"],
            [
                {
                    "code": "custom",
                    "message": "Invalid value for isTest: yes",
                    "path": ["filter[isTest]"],
                }
            ],
        )

    def test_invalid_machine_is_a_query_error(self):
        response = self.get("/api/v1/runs", params={"filter[machine]": "small-1x,huge"})
        self.assertEqual(response.json()["details"][0]["message"], "Invalid machine values: huge")

    def test_batch_bulk_action_and_schedule_filters(self):
        runs = self.dev_runs()
        batch = next(r.batch_id for r in runs if r.batch_id)
        bulk = next(r.bulk_action_ids[0] for r in runs if r.bulk_action_ids)
        schedule = next(r.schedule["id"] for r in runs if r.schedule)
        for params, predicate in (
            ({"filter[batch]": batch}, lambda r: r.batch_id == batch),
            ({"filter[bulkAction]": bulk}, lambda r: bulk in r.bulk_action_ids),
            ({"filter[schedule]": schedule}, lambda r: (r.schedule or {}).get("id") == schedule),
        ):
            with self.subTest(params=params):
                expected = self.expected(predicate)
                self.assertTrue(expected)
                self.assertEqual(self.all_ids(**params), expected)

    def test_filters_combine(self):
        got = self.all_ids(
            **{
                "filter[status]": "COMPLETED",
                "filter[taskIdentifier]": "send-email",
                "filter[isTest]": "false",
            }
        )
        self.assertEqual(
            got,
            self.expected(
                lambda r: (
                    r.status == "COMPLETED_SUCCESSFULLY"
                    and r.task_identifier == "send-email"
                    and not r.is_test
                )
            ),
        )
        self.assertTrue(got)


class RenderingTests(RunListCase):
    def test_status_vocabulary_follows_the_api_version_header(self):
        by_status = {}
        for run in self.dev_runs():
            by_status.setdefault(run.status, run)
        self.assertEqual(len(by_status), 17, "seed covers every internal status")
        for internal, run in by_status.items():
            with self.subTest(status=internal):
                v2 = self.get(f"/api/v3/runs/{run.friendly_id}").json()
                v1 = self.get(f"/api/v3/runs/{run.friendly_id}", v2=False).json()
                self.assertEqual(v2["status"], V2[internal])
                self.assertEqual(v1["status"], V1[internal])
        odd = self.get(
            f"/api/v3/runs/{by_status['DEQUEUED'].friendly_id}",
            headers={"x-trigger-api-version": "2024-01-01"},
            v2=False,
        )
        self.assertEqual(odd.json()["status"], "EXECUTING")

    def test_boolean_helpers(self):
        table = {  # V2 status -> (queued, executing, waiting, completed, success, failed, cancel)
            "QUEUED": "1000000",
            "DELAYED": "1000000",
            "PENDING_VERSION": "1000000",
            "DEQUEUED": "0100000",
            "EXECUTING": "0100000",
            "WAITING": "0010000",
            "COMPLETED": "0001100",
            "CANCELED": "0001011",
            "FAILED": "0001010",
            "CRASHED": "0001010",
            "SYSTEM_FAILURE": "0001010",
            "EXPIRED": "0000000",
            "TIMED_OUT": "0000000",
        }
        keys = (
            "isQueued",
            "isExecuting",
            "isWaiting",
            "isCompleted",
            "isSuccess",
            "isFailed",
            "isCancelled",
        )
        seen = set()
        for item in self.list(**{"page[size]": 100}, **ALL_TIME)["data"]:
            flags = "".join("1" if item[k] else "0" for k in keys)
            self.assertEqual(flags, table[item["status"]], item["status"])
            seen.add(item["status"])
        self.assertGreaterEqual(len(seen), 8)
        v1_extra = {
            "REATTEMPTING": "0100000",
            "FROZEN": "0100000",
            "INTERRUPTED": "0001010",
            "WAITING_FOR_DEPLOY": "1000000",
        }
        one_per_status = {run.status: run for run in self.dev_runs()}  # every status is seeded
        seen_v1 = set()
        for run in one_per_status.values():
            item = self.get(f"/api/v3/runs/{run.friendly_id}", v2=False).json()
            if item["status"] in v1_extra:
                flags = "".join("1" if item[k] else "0" for k in keys)
                self.assertEqual(flags, v1_extra[item["status"]])
                seen_v1.add(item["status"])
        self.assertEqual(seen_v1, set(v1_extra))

    def test_list_items_omit_absent_optionals(self):
        required = {
            "id",
            "status",
            "taskIdentifier",
            "isQueued",
            "isExecuting",
            "isWaiting",
            "isCompleted",
            "isSuccess",
            "isFailed",
            "isCancelled",
            "isTest",
            "createdAt",
            "updatedAt",
            "env",
            "tags",
            "costInCents",
            "baseCostInCents",
            "durationMs",
        }
        for item in self.list(**{"page[size]": 100}, **ALL_TIME)["data"]:
            self.assertLessEqual(required, set(item))
            self.assertNotIn(None, item.values())
            self.assertEqual(item["tags"], sorted(item["tags"]))
            self.assertEqual(item["env"], {"id": self.dev_env.id, "name": "dev"})
            self.assertTrue(item["createdAt"].endswith("Z"))
            self.assertEqual(len(item["createdAt"]), 24)
            self.assertFalse(any(k.startswith("$$") for k in item.get("metadata", {})))
            for key in ("payload", "output", "relatedRuns"):
                self.assertNotIn(key, item)


class ProjectRunsTests(RunListCase):
    def project_list(self, **params):
        return self.get(
            f"/api/v1/projects/{self.emu.project_ref}/runs",
            token=self.emu.access_token,
            params=params,
        )

    def test_filter_env_selects_one_environment(self):
        prod = self.project_list(**{"filter[env]": "prod", "page[size]": 100}, **ALL_TIME)
        self.assertEqual(prod.status_code, 200)
        prod_env = self.emu.state.environment_for_key(self.emu.secret_keys["prod"])
        self.assertEqual({r["env"]["id"] for r in prod.json()["data"]}, {prod_env.id})
        staging = self.project_list(**{"filter[env]": "stg"}, **ALL_TIME)
        self.assertEqual({r["env"]["name"] for r in staging.json()["data"]}, {"stg"})
        dev = self.project_list(**{"filter[env]": "prod,dev"})
        self.assertEqual({r["env"]["name"] for r in dev.json()["data"]}, {"dev"})
        self.assertNotIn("user", dev.json()["data"][0]["env"])  # the caller's own dev env

    def test_staging_slug_or_no_env_is_a_500(self):
        for params in ({"filter[env]": "staging"}, {}):
            with self.subTest(params=params):
                self.assertError(self.project_list(**params), 500, "Internal Server Error")

    def test_same_pagination_as_the_secret_key_list(self):
        body = self.project_list(**{"filter[env]": "dev", "page[size]": 7}, **ALL_TIME).json()
        self.assertEqual([r["id"] for r in body["data"]], self.expected()[:7])
        nxt = self.project_list(
            **{"filter[env]": "dev", "page[size]": 7, "page[after]": body["pagination"]["next"]},
            **ALL_TIME,
        )
        self.assertEqual([r["id"] for r in nxt.json()["data"]], self.expected()[7:14])
