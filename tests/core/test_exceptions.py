import time

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from django_trigger import exceptions as e


class ErrorTreeTests(SimpleTestCase):
    def test_status_table(self):
        self.assertIs(e.error_class_for_status(400), e.BadRequestError)
        self.assertIs(e.error_class_for_status(401), e.AuthenticationError)
        self.assertIs(e.error_class_for_status(403), e.PermissionDeniedError)
        self.assertIs(e.error_class_for_status(404), e.NotFoundError)
        self.assertIs(e.error_class_for_status(409), e.ConflictError)
        self.assertIs(e.error_class_for_status(422), e.UnprocessableEntityError)
        self.assertIs(e.error_class_for_status(429), e.RateLimitError)
        self.assertIs(e.error_class_for_status(502), e.InternalServerError)
        self.assertIs(e.error_class_for_status(405), e.ApiError)

    def test_dual_inheritance(self):
        self.assertTrue(issubclass(e.ConfigurationError, ImproperlyConfigured))
        self.assertTrue(issubclass(e.InvalidRequestError, ValueError))
        self.assertTrue(issubclass(e.ApiTimeoutError, e.ApiConnectionError))

    def test_fields_and_text(self):
        body = {
            "error": "Unauthorized",
            "code": "unauthorized",
            "param": "access_token",
            "type": "authorization",
        }
        err = e.PermissionDeniedError(
            "Unauthorized",
            headers={"X-Request-Id": "r1"},
            body=body,
            method="GET",
            path="/api/v1/runs",
        )
        self.assertEqual(err.status, 403)
        self.assertEqual(
            (err.code, err.param, err.type), ("unauthorized", "access_token", "authorization")
        )
        self.assertEqual(err.request_id, "r1")
        self.assertEqual(str(err), "403 Unauthorized (GET /api/v1/runs)")
        self.assertEqual(repr(err), "PermissionDeniedError(status=403, message='Unauthorized')")
        server = e.InternalServerError("boom", status=503)
        self.assertEqual(server.status, 503)
        self.assertIsNone(e.ApiConnectionError().status)


class RateLimitResetTests(SimpleTestCase):
    """``x-ratelimit-reset`` is epoch milliseconds (API.md): a unit slip (seconds vs ms) shows
    up as a wait 1000 times too long or too short."""

    def error(self, reset: str) -> e.RateLimitError:
        return e.RateLimitError("Too many requests", headers={"X-RateLimit-Reset": reset})

    def test_seconds_until_reset_from_epoch_milliseconds(self):
        seconds = self.error(str(int((time.time() + 30) * 1000))).seconds_until_reset
        self.assertIsNotNone(seconds)
        self.assertGreater(seconds, 28)
        self.assertLessEqual(seconds, 30)

    def test_past_reset_is_zero_and_garbage_is_unknown(self):
        self.assertEqual(self.error(str(int((time.time() - 5) * 1000))).seconds_until_reset, 0)
        self.assertIsNone(self.error("soon").seconds_until_reset)
        self.assertIsNone(e.RateLimitError("Too many requests").seconds_until_reset)
