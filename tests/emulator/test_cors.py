"""CORS, as the real service answers browsers that hold public access tokens: routes built with
``corsStrategy: "all"`` answer a preflight (``OPTIONS``, no key needed, before the rate limiter)
with ``apiCors(request, json({}))``, and wrap every answer, errors included, with remix-utils'
``cors()`` (origin reflected, the JWT headers exposed). Routes with ``corsStrategy: "none"``
(cancel, bulk actions, queues, ...) and the legacy routes (schedules, env vars) answer no
preflight. Sources: apps/webapp/app/utils/apiCors.ts, services/routeBuilders/apiBuilder.server.ts
(``wrapResponse``), services/authorizationRateLimitMiddleware.server.ts."""

from __future__ import annotations

from .base import EmulatorCase
from .test_public_tokens import PublicTokenCase

ORIGIN = "https://shop.example.com"


class PreflightTests(EmulatorCase):
    def preflight(self, path: str, **headers: str):
        return self.call(
            "OPTIONS",
            path,
            token=None,
            v2=False,
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
                **headers,
            },
        )

    def test_a_cors_route_answers_the_preflight_without_a_key(self):
        runs = len(self.dev_runs())
        response = self.preflight("/api/v1/tasks/send-email/trigger")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {})
        self.assertEqual(response.headers["Access-Control-Allow-Origin"], ORIGIN)
        self.assertEqual(
            response.headers["Access-Control-Allow-Methods"], "GET,HEAD,PUT,PATCH,POST,DELETE"
        )
        self.assertEqual(
            response.headers["Access-Control-Allow-Headers"], "authorization,content-type"
        )
        self.assertEqual(response.headers["Access-Control-Max-Age"], "300")
        self.assertEqual(response.headers["Vary"], "Origin, Access-Control-Request-Headers")
        # The rate limiter lets OPTIONS through untouched.
        self.assertNotIn("x-ratelimit-limit", response.headers)
        self.assertNotIn("Access-Control-Expose-Headers", response.headers)
        self.assertEqual(len(self.dev_runs()), runs)  # nothing was triggered

    def test_every_browser_route_family_answers(self):
        for path in (
            "/api/v3/runs/run_any",
            "/api/v1/runs",
            "/api/v2/tasks/batch",
            "/api/v3/batches",
            "/api/v2/batches/batch_any",
            "/api/v1/waitpoints/tokens/waitpoint_any/complete",
            "/realtime/v1/runs/run_any",
            "/realtime/v1/streams/run_any/input/chat",
            "/api/v1/timezones",
            "/api/v1/query",
            "/api/v1/query/dashboards",
            "/api/v1/sessions",
            "/api/v1/sessions/session_any/close",
            "/realtime/v1/sessions/session_any/out/records",
        ):
            with self.subTest(path):
                response = self.preflight(path)
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(response.headers["Access-Control-Allow-Origin"], ORIGIN)

    def test_without_an_origin_nothing_is_allowed(self):
        response = self.call("OPTIONS", "/api/v1/runs", token=None)
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("Access-Control-Allow-Origin", response.headers)
        self.assertNotIn("Access-Control-Allow-Headers", response.headers)
        self.assertEqual(response.headers["Vary"], "Access-Control-Request-Headers")

    def test_routes_without_cors_answer_no_preflight(self):
        for path in (
            "/api/v2/runs/run_any/cancel",
            "/api/v1/bulk-actions",
            "/api/v1/schedules",
            "/api/v3/batches/batch_any/items",
            "/api/v1/queues",
        ):
            with self.subTest(path):
                response = self.preflight(path)
                self.assertEqual(response.status_code, 405, response.text)
                self.assertNotIn("Access-Control-Allow-Origin", response.headers)


class CorsOnAnswersTests(PublicTokenCase):
    def test_a_browser_trigger_with_a_public_token(self):
        token = self.token(scopes=["trigger:tasks:send-email"])
        response = self.post(
            "/api/v1/tasks/send-email/trigger",
            token=token,
            headers={"Origin": ORIGIN},
            json={"payload": {"to": "a@example.com"}},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers["Access-Control-Allow-Origin"], ORIGIN)
        self.assertEqual(response.headers["Vary"], "Origin")
        self.assertEqual(
            response.headers["Access-Control-Expose-Headers"], "x-trigger-jwt,x-trigger-jwt-claims"
        )
        self.assertNotIn("Access-Control-Max-Age", response.headers)

    def test_errors_of_a_cors_route_are_readable_by_the_browser(self):
        for token, status in (("tr_dev_unknownunknownunknown1", 401), (self.token(), 403)):
            response = self.post(
                "/api/v1/tasks/send-email/trigger",
                token=token,
                headers={"Origin": ORIGIN},
                json={"payload": {}},
            )
            self.assertEqual(response.status_code, status, response.text)
            self.assertEqual(response.headers["Access-Control-Allow-Origin"], ORIGIN)

    def test_without_an_origin_only_the_exposed_headers(self):
        response = self.get("/api/v1/runs", params={"page[size]": 1})
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("Access-Control-Allow-Origin", response.headers)
        self.assertEqual(
            response.headers["Access-Control-Expose-Headers"], "x-trigger-jwt,x-trigger-jwt-claims"
        )

    def test_routes_without_cors_add_nothing(self):
        run_id = self.trigger()
        for response in (
            self.post(f"/api/v2/runs/{run_id}/cancel", headers={"Origin": ORIGIN}),
            self.get("/api/v1/schedules", headers={"Origin": ORIGIN}),
        ):
            self.assertLess(response.status_code, 300, response.text)
            self.assertNotIn("Access-Control-Allow-Origin", response.headers)
            self.assertNotIn("Access-Control-Expose-Headers", response.headers)

    def test_timezones_use_apicors_defaults(self):
        response = self.get("/api/v1/timezones", token=None, headers={"Origin": ORIGIN})
        self.assertEqual(response.headers["Access-Control-Allow-Origin"], ORIGIN)
        self.assertNotIn("Access-Control-Expose-Headers", response.headers)

    def test_realtime_keeps_its_own_cors_headers(self):
        run_id = self.trigger()
        response = self.get(
            f"/realtime/v1/runs/{run_id}", params={"offset": "-1"}, headers={"Origin": ORIGIN}
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers["Access-Control-Allow-Origin"], "*")
