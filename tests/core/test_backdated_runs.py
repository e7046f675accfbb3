"""``emu.state.runs.create``: runs put in the emulator's past, read back over real HTTP through
the client as if they had been triggered then: retrieve, the run list with its time filters and
both cursor directions, TRQL counts by day, the export; reset; and its refusals."""

from __future__ import annotations

import datetime as dt

from django_trigger.exceptions import NotFoundError

from .base import ClientTestCase

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TASK = "nightly-report"  # no seeded run has it


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


class BackdatedCase(ClientTestCase):
    emulator_options = {"seed": 5, "runs": 80, "now": NOW}

    def create(self, task: str = TASK, **fields):
        with self.emulator.state.lock:
            return self.emulator.state.runs.create(task, **fields)

    def listed(self, **filters) -> list:
        """Every run the list shows for ``filters``, walking the pages forwards."""
        return list(self.trigger.runs.list(limit=100, **filters))


class RetrieveTests(BackdatedCase):
    def test_a_failed_run_of_three_days_ago(self):
        run = self.create(
            status="FAILED",
            created_at=ago(days=3),
            started_at=ago(days=3, seconds=-2),
            finished_at=ago(days=3, seconds=-9),
            duration_ms=6500,
            error="SMTP said no",
            tags=["org_acme", "org_acme", "weekly"],
            metadata={"attempted": 2},
            payload={"to": "ops@example.com"},
            idempotency_key="report-2026-11-17",
            is_test=True,
        )
        self.assertRegex(run.id, r"^[0-9a-v]{25,}$")  # drawn like the trigger route's ids
        got = self.trigger.runs.retrieve(run.friendly_id)
        self.assertEqual(got.status, "FAILED")
        self.assertEqual(got.task_identifier, TASK)
        self.assertEqual(got.created_at, ago(days=3))
        self.assertEqual(got.started_at, ago(days=3, seconds=-2))
        self.assertEqual(got.finished_at, ago(days=3, seconds=-9))
        self.assertEqual(got.updated_at, ago(days=3, seconds=-9))
        self.assertEqual(got.duration_ms, 6500)
        self.assertEqual(got.error.message, "SMTP said no")
        self.assertEqual(sorted(got.tags), ["org_acme", "weekly"])
        self.assertEqual(got.metadata, {"attempted": 2})
        self.assertEqual(got.payload, {"to": "ops@example.com"})
        self.assertEqual(got.idempotency_key, "report-2026-11-17")
        self.assertTrue(got.is_test)
        self.assertEqual(got.attempt_count, 1)
        self.assertEqual(got.ttl, "10m")  # a dev run's default, as the trigger route gives

    def test_defaults_follow_the_status(self):
        done = self.create(status="COMPLETED", created_at=ago(hours=5), output={"rows": 3})
        self.assertEqual((done.status, done.started_at), ("COMPLETED_SUCCESSFULLY", ago(hours=5)))
        self.assertEqual(done.completed_at, ago(hours=5, seconds=-1))  # complete()'s 1000 ms
        self.assertEqual(self.trigger.runs.retrieve(done.friendly_id).output, {"rows": 3})
        queued = self.create(created_at=ago(minutes=30))
        self.assertEqual(
            (queued.status, queued.started_at, queued.completed_at), ("PENDING", None, None)
        )
        crashed = self.create(status="CRASHED", created_at=ago(days=1))
        self.assertEqual(crashed.error, {"type": "INTERNAL_ERROR", "code": "TASK_RUN_CRASHED"})
        expired = self.create(status="EXPIRED", created_at=ago(days=2), ttl="1h")
        self.assertEqual(expired.expired_at, ago(days=2, hours=-1))
        self.assertEqual(expired.completed_at, expired.expired_at)
        self.assertIsNone(expired.started_at)
        canceled = self.create(status="CANCELED", created_at=ago(days=2))
        self.assertEqual((canceled.started_at, canceled.usage_duration_ms), (None, 0))
        delayed = self.create(
            status="DELAYED", created_at=ago(hours=1), delay_until=NOW + dt.timedelta(hours=2)
        )
        self.assertEqual(self.trigger.runs.retrieve(delayed.friendly_id).status, "DELAYED")
        self.emulator.clock.advance(3 * 3600)  # then queued, as a delayed run is
        self.assertEqual(self.trigger.runs.retrieve(delayed.friendly_id).status, "QUEUED")

    def test_other_environments(self):
        prod = self.create(
            "send-email", status="COMPLETED", created_at=ago(days=1), environment="prod"
        )
        branch = self.create(
            "sync-crm", created_at=ago(days=1), environment="preview", branch="feature-login"
        )
        prod_client = self.make_client(self.emulator.secret_keys["prod"])
        self.assertEqual(prod_client.runs.retrieve(prod.friendly_id).status, "COMPLETED")
        with self.assertRaises(NotFoundError):  # not the dev environment's
            self.trigger.runs.retrieve(prod.friendly_id)
        preview = self.make_client(
            self.emulator.secret_keys["preview"], preview_branch="feature-login"
        )
        self.assertEqual(preview.runs.retrieve(branch.friendly_id).task_identifier, "sync-crm")

    def test_reset_forgets_it_even_through_a_kept_reference(self):
        world = self.emulator.state
        self.emulator.reset()  # clean again: only create() can mark it changed now
        run = world.runs.create(TASK, status="COMPLETED", created_at=ago(days=1))
        self.assertEqual(self.trigger.runs.retrieve(run.friendly_id).id, run.friendly_id)
        self.emulator.reset()
        with self.assertRaises(NotFoundError):
            self.trigger.runs.retrieve(run.friendly_id)


class ListTests(BackdatedCase):
    def assert_newest_first(self, runs) -> None:
        keys = [(r.created_at, r.id) for r in runs]
        self.assertEqual(keys, sorted(keys, reverse=True))
        self.assertEqual(len(set(keys)), len(keys))

    def test_time_filters_place_it_where_it_was_created(self):
        three = self.create(status="FAILED", created_at=ago(days=3))
        ten = self.create(status="FAILED", created_at=ago(days=10))
        recent = self.create(status="FAILED", created_at=ago(minutes=1))
        default = self.listed()  # the API's implicit 7 days
        self.assert_newest_first(default)
        ids = [r.id for r in default]
        self.assertIn(three.friendly_id, ids)
        self.assertIn(recent.friendly_id, ids)
        self.assertNotIn(ten.friendly_id, ids)
        # Among the seeded runs, at its place: neighbours created after and before it.
        at = ids.index(three.friendly_id)
        self.assertGreater(at, 0)
        self.assertLess(at, len(ids) - 1)
        self.assertGreaterEqual(default[at - 1].created_at, three.created_at)
        self.assertLessEqual(default[at + 1].created_at, three.created_at)

        def ids_of(**filters) -> set[str]:
            return {r.id for r in self.listed(task_identifier=TASK, **filters)}

        self.assertEqual(ids_of(period="4d"), {three.friendly_id, recent.friendly_id})
        self.assertEqual(ids_of(period="2d"), {recent.friendly_id})
        self.assertEqual(ids_of(from_=ago(days=11), to=ago(days=9)), {ten.friendly_id})
        self.assertEqual(ids_of(from_=ago(days=3), to=ago(days=3)), {three.friendly_id})
        self.assertEqual(ids_of(from_=ago(days=3, seconds=-1), to=ago(hours=1)), set())
        self.assertEqual(
            ids_of(from_=ago(days=30), status="FAILED"),
            {three.friendly_id, ten.friendly_id, recent.friendly_id},
        )

    def test_pages_forwards_and_backwards_across_them(self):
        # Some at the very instant of others (the id breaks the tie), some between seeded runs.
        made = [self.create(status="COMPLETED", created_at=ago(days=d)) for d in (1, 2, 2, 2, 4, 6)]
        made.append(self.create(created_at=ago(minutes=5)))
        whole = self.listed()
        self.assert_newest_first(whole)
        self.assertGreater(len(whole), 30)
        self.assertLessEqual({r.friendly_id for r in made}, {r.id for r in whole})

        forwards, page = [], self.trigger.runs.list(limit=7)
        pages = [page]
        while True:
            forwards.extend(page.data)
            if not page.has_next_page():
                break
            page = page.get_next_page()
            pages.append(page)
        self.assertEqual([r.id for r in forwards], [r.id for r in whole])

        backwards = list(page.data)  # the last page, then before each first item
        while page.has_previous_page():
            page = page.get_previous_page()
            backwards[:0] = page.data
        self.assertEqual([r.id for r in backwards], [r.id for r in whole])
        self.assertGreater(len(pages), 4)

    def test_trql_counts_them_by_day(self):
        for days, n in ((1, 2), (3, 1), (12, 3)):
            for _ in range(n):
                self.create(status="COMPLETED", created_at=ago(days=days, hours=1))
        self.create(status="FAILED", created_at=ago(days=3))
        rows = self.trigger.query.execute(
            "SELECT toStartOfDay(triggered_at) AS day, countIf(status = 'Completed') AS ok, "
            f"countIf(status = 'Failed') AS failed FROM runs WHERE task_identifier = '{TASK}' "
            "GROUP BY day ORDER BY day",
            period="30d",
        ).rows
        self.assertEqual(
            rows,
            [
                {"day": "2026-11-08 00:00:00", "ok": 3, "failed": 0},
                {"day": "2026-11-17 00:00:00", "ok": 1, "failed": 1},
                {"day": "2026-11-19 00:00:00", "ok": 2, "failed": 0},
            ],
        )
        week = self.trigger.query.execute(
            f"SELECT count() AS n FROM runs WHERE task_identifier = '{TASK}'"
        ).rows  # the default 7 days
        self.assertEqual(week, [{"n": 4}])


class RefusalTests(BackdatedCase):
    def assert_refused(self, message: str, exc=ValueError, task: str = TASK, **fields) -> None:
        with self.emulator.state.lock:
            count = len(self.emulator.state.runs)
            with self.assertRaisesMessage(exc, message):
                self.emulator.state.runs.create(task, **fields)
            self.assertEqual(len(self.emulator.state.runs), count)

    def test_times(self):
        naive = dt.datetime(2026, 11, 17, 12, 0)
        self.assert_refused("created_at must be an aware datetime", created_at=naive)
        self.assert_refused("created_at is required", TypeError, created_at=None)
        self.assert_refused(
            "created_at must be a datetime, not str", TypeError, created_at="2026-11-17"
        )
        self.assert_refused(
            "created_at 2026-11-20T12:00:01.000Z is after the emulator's now",
            created_at=NOW + dt.timedelta(seconds=1),
        )
        self.assert_refused(
            "this COMPLETED_SUCCESSFULLY run would finish at 2026-11-20T12:00:00.500Z",
            status="COMPLETED",
            created_at=ago(seconds=1),
            duration_ms=1500,
        )
        self.assert_refused(
            "started_at 2026-11-17T11:00:00.000Z is before created_at",
            status="EXECUTING",
            created_at=ago(days=3),
            started_at=ago(days=3, hours=1),
        )
        self.assert_refused(
            "finished_at 2026-11-17T11:00:00.000Z is before the run started",
            status="COMPLETED",
            created_at=ago(days=3),
            started_at=ago(days=3),
            finished_at=ago(days=3, hours=1),
        )
        self.assert_refused(
            "duration_ms must be 0 or more, not -1",
            status="COMPLETED",
            created_at=ago(days=3),
            duration_ms=-1,
        )
        self.assert_refused(
            "duration_ms must be a whole number of ms, not 1.5",
            TypeError,
            status="COMPLETED",
            created_at=ago(days=3),
            duration_ms=1.5,
        )
        self.assert_refused(
            "duration_ms 5000 is longer than started_at..finished_at (2000 ms)",
            status="COMPLETED",
            created_at=ago(days=3),
            finished_at=ago(days=3, seconds=-2),
            duration_ms=5000,
        )

    def test_times_and_status_agree(self):
        self.assert_refused(
            "this PENDING run never started: no started_at",
            created_at=ago(days=1),
            started_at=ago(days=1),
        )
        self.assert_refused(
            "this EXECUTING run has not finished",
            status="EXECUTING",
            created_at=ago(days=1),
            finished_at=ago(hours=1),
        )
        self.assert_refused(
            "a DELAYED run needs delay_until after the emulator's now",
            status="DELAYED",
            created_at=ago(days=1),
            delay_until=ago(hours=1),
        )
        self.assert_refused(
            "delay_until is for DELAYED runs, not PENDING",
            created_at=ago(days=1),
            delay_until=NOW + dt.timedelta(hours=1),
        )
        self.assert_refused(
            "an EXPIRED run needs its ttl",
            status="EXPIRED",
            created_at=ago(days=1),
            environment="staging",
            task="send-email",
        )
        self.assert_refused(
            "output is for COMPLETED_SUCCESSFULLY runs, not COMPLETED_WITH_ERRORS",
            status="FAILED",
            created_at=ago(days=1),
            output={"x": 1},
        )
        self.assert_refused(
            "error is for runs that ended without success",
            status="COMPLETED",
            created_at=ago(days=1),
            error="boom",
        )
        self.assert_refused(
            "status 'FROZEN' stands for PAUSED or WAITING_TO_RESUME",
            status="FROZEN",
            created_at=ago(days=1),
        )
        self.assert_refused("unknown status 'DONE'", status="DONE", created_at=ago(days=1))

    def test_what_the_run_carries(self):
        self.assert_refused(
            "unknown environment 'production'", created_at=ago(days=1), environment="production"
        )
        self.assert_refused(
            "the preview environment runs nothing itself",
            created_at=ago(days=1),
            environment="preview",
        )
        self.assert_refused(
            "the preview environment has no branch 'nope'",
            created_at=ago(days=1),
            environment="preview",
            branch="nope",
        )
        self.assert_refused(
            "task 'nightly-report' is not declared by the deployed version of the prod environment",
            created_at=ago(days=1),
            environment="prod",
        )
        self.assert_refused(
            "a run has at most 10 tags, not 11",
            created_at=ago(days=1),
            tags=[f"t{n}" for n in range(11)],
        )
        self.assert_refused("tags must be non-empty strings", created_at=ago(days=1), tags=[""])
        self.assert_refused(
            "payload must be JSON-serialisable",
            TypeError,
            created_at=ago(days=1),
            payload={"when": NOW},
        )
        self.assert_refused("unknown machine 'huge'", created_at=ago(days=1), machine="huge")
        self.assert_refused(
            "error must be a TaskRunError",
            status="FAILED",
            created_at=ago(days=1),
            error={"message": "x"},
        )
        held = self.create(created_at=ago(days=1), idempotency_key="k1")
        self.assert_refused(
            f"idempotency key 'k1' is held by {held.friendly_id}",
            created_at=ago(hours=1),
            idempotency_key="k1",
        )
        # The trigger route sees the key too: the same run comes back.
        again = self.trigger.tasks.trigger(TASK, {}, idempotency_key="k1")
        self.assertEqual(again.id, held.friendly_id)
