"""``RetryRules.decide``: the one retry decision both transports (requests/urllib3 and httpx)
call, as a table of (failure, safety class, attempt) → decision. The transports' use of it is
exercised over HTTP in test_retry.py, test_retry_safety.py and tests/core/test_async_client.py."""

from __future__ import annotations

import random
import time

from django.test import SimpleTestCase

from django_trigger._http.budget import CallBudget
from django_trigger._http.retry import Failure, RetryRules, RetrySafety
from django_trigger.options import RetryPolicy

NOW = 1_700_000_000.0  # the rules' clock (epoch seconds)
READ, UNSAFE = RetrySafety.READ, RetrySafety.UNSAFE
DEDUP, VERIFIED = RetrySafety.DEDUPLICATED, RetrySafety.VERIFIED


def answer(status: int, **headers: str) -> Failure:
    return Failure.answer(status, {k.replace("_", "-"): v for k, v in headers.items()})


DROPPED = Failure.broken("ProtocolError", after_sending=True)
REFUSED = Failure.broken("NewConnectionError", after_sending=False)

# (failure, safety, attempt) -> expected delay (None: stop), unsafe flag. Policy: 5 attempts,
# delays 1, 1.6, 2.56, 4.096 (the SDK's), no jitter; the rng returns 0.5 (0.5 s of 429 jitter).
TABLE: list[tuple[str, Failure, RetrySafety, int, float | None, bool]] = [
    ("500 read", answer(500), READ, 1, 1.0, False),
    ("503 read, 3rd attempt", answer(503), READ, 3, 2.56, False),
    ("500 on the last attempt", answer(500), READ, 5, None, False),
    ("500 unsafe: may have acted", answer(500), UNSAFE, 1, None, True),
    ("500 deduplicated", answer(500), DEDUP, 1, 1.0, False),
    ("500 verified", answer(500), VERIFIED, 2, 1.6, False),
    ("500 + Retry-After: 3", answer(500, retry_after="3"), READ, 1, 3.0, False),
    ("503 + retry-after-ms", answer(503, retry_after_ms="250"), READ, 1, 0.25, False),
    ("500 asks for 120 s: not slept", answer(500, retry_after="120"), READ, 1, None, False),
    ("500 x-should-retry false", answer(500, x_should_retry="false"), READ, 1, None, False),
    ("500 x-should-retry true, unsafe", answer(500, x_should_retry="true"), UNSAFE, 1, 1.0, False),
    ("400 x-should-retry true", answer(400, x_should_retry="true"), READ, 2, 1.6, False),
    ("400", answer(400), READ, 1, None, False),
    ("404", answer(404), READ, 1, None, False),
    ("408 unsafe: before the route", answer(408), UNSAFE, 1, 1.0, False),
    ("409 read", answer(409), READ, 1, 1.0, False),
    ("409 unsafe", answer(409), UNSAFE, 1, None, True),
    (
        "429 with reset in 2 s",
        answer(429, x_ratelimit_reset=str(int(NOW * 1000) + 2000)),
        UNSAFE,
        1,
        2.5,
        False,
    ),
    (
        "429 reset past, Retry-After 4",
        answer(429, x_ratelimit_reset=str(int(NOW * 1000) - 5000), retry_after="4"),
        READ,
        1,
        4.0,
        False,
    ),
    ("429 with no header: backoff", answer(429), READ, 2, 1.6, False),
    (
        "429 reset in 90 s: not slept",
        answer(429, x_ratelimit_reset=str(int(NOW * 1000) + 90_000)),
        READ,
        1,
        None,
        False,
    ),
    ("dropped after sending, read", DROPPED, READ, 1, 1.0, False),
    ("dropped after sending, unsafe", DROPPED, UNSAFE, 1, None, True),
    ("dropped after sending, idempotent", DROPPED, RetrySafety.IDEMPOTENT, 4, 4.096, False),
    ("refused, unsafe: never sent", REFUSED, UNSAFE, 1, 1.0, False),
    ("refused on the last attempt", REFUSED, UNSAFE, 5, None, False),
]


class _Half(random.Random):
    def random(self) -> float:
        return 0.5


def rules(safety: RetrySafety, **kwargs) -> RetryRules:
    return RetryRules(RetryPolicy(), safety=safety, rng=_Half(), clock=lambda: NOW, **kwargs)


class DecisionTableTests(SimpleTestCase):
    def test_table(self):
        for name, failure, safety, attempt, delay, unsafe in TABLE:
            with self.subTest(name):
                decision = rules(safety).decide(failure, attempt)
                if delay is None:
                    self.assertIsNone(decision.delay, decision.reason)
                else:
                    self.assertAlmostEqual(decision.delay, delay, places=6)
                self.assertEqual(decision.unsafe, unsafe, decision.reason)

    def test_a_429_shares_its_reset_even_on_the_last_attempt(self):
        seen: list[int] = []
        reset = int(NOW * 1000) + 2000
        rules(READ, on_rate_limited=seen.append).decide(
            answer(429, x_ratelimit_reset=str(reset)), 5
        )
        self.assertEqual(seen, [reset])


class BudgetTests(SimpleTestCase):
    def test_no_wait_ends_past_the_deadline(self):
        budget = CallBudget(deadline_seconds=0.5, not_found_retry_budget=1.0)
        decision = rules(READ).decide(answer(500), 1, budget)
        self.assertIsNone(decision.delay)
        self.assertTrue(budget.deadline_reached)
        self.assertIn("deadline", decision.reason)

    def test_404_marked_retryable_is_retried_within_its_budget(self):
        budget = CallBudget(deadline_seconds=90, not_found_retry_budget=1.0)
        delays = []
        for attempt in range(1, 5):
            decision = rules(READ).decide(answer(404, x_should_retry="true"), attempt, budget)
            delays.append(decision.delay)
        self.assertEqual([round(d, 3) if d else d for d in delays], [0.25, 0.4, 0.35, None])
        self.assertEqual(budget.attempts, 4)

    def test_a_retried_answer_whose_body_read_spends_the_time_is_not_retried(self):
        budget = CallBudget(deadline_seconds=1.2, not_found_retry_budget=1.0)
        decision = rules(READ).decide(answer(500), 1, budget, before_retry=lambda: time.sleep(0.25))
        self.assertIsNone(decision.delay)
        self.assertTrue(budget.deadline_reached)
        self.assertEqual(budget.attempts, 1)

    def test_each_retry_is_counted(self):
        budget = CallBudget(deadline_seconds=90, not_found_retry_budget=1.0)
        rules(READ).decide(answer(503), 1, budget)
        rules(READ).decide(DROPPED, 2, budget)
        self.assertEqual(budget.attempts, 3)
