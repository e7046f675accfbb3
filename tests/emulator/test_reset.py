"""``Emulator.reset()`` restores a snapshot of the seeded world: the result must be exactly a
freshly seeded emulator (same data, ids, id streams, clock), and the snapshot must be restored
whenever anything may have changed the state (every write route, lazy transitions on reads,
direct changes by a test)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import random
import re
import threading
from typing import Any
from unittest import mock

from django_trigger.testing import Emulator
from django_trigger.testing import world as world_module
from django_trigger.testing.world import World

from .base import FROZEN_NOW, EmulatorCase

OPTIONS = {"seed": 1, "now": FROZEN_NOW}


def world_state(world: World) -> Any:
    """Everything the world holds, as plain comparable values (dict order kept, id streams
    as their generator states, back references to the world as a marker)."""
    seen: dict[int, Any] = {}

    def plain(value: Any) -> Any:
        if value is world:
            return "<world>"
        if value is None or isinstance(
            value, (str, int, float, bool, bytes, dt.datetime, dt.date, dt.timedelta)
        ):
            return value
        if isinstance(value, random.Random):
            return ("Random", value.getstate())
        if isinstance(value, dict):
            return ("dict", [(plain(k), plain(v)) for k, v in value.items()])
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, [plain(v) for v in value])
        if isinstance(value, (set, frozenset)):
            return (type(value).__name__, frozenset(plain(v) for v in value))
        if isinstance(value, type(threading.Lock())):
            return "<lock>"
        if id(value) in seen:  # shared objects (a run in two indexes) compare once
            return ("ref", type(value).__qualname__, seen[id(value)])
        seen[id(value)] = len(seen)
        fields = (
            vars(value)
            if not dataclasses.is_dataclass(value)
            else {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        )
        return (type(value).__qualname__, plain(dict(sorted(fields.items()))))

    config = World._NOT_STATE - {"seed", "run_count"}
    return plain({k: v for k, v in vars(world).items() if k not in config})


def pickled_state(world: World) -> bytes:
    """The state as the snapshot pickles it (equal bytes: nothing changed in between)."""
    return pickle.dumps(world._state())


class ResetEquivalenceTests(EmulatorCase):
    emulator_kwargs = {**OPTIONS, "request_idempotency": "documented"}  # so it caches

    def assertSameState(self, world: World, expected: Any, msg: str = "") -> None:
        # (not assertEqual: a diff of two whole worlds takes minutes to compute)
        self.assertTrue(world_state(world) == expected, msg or "the world differs")

    def fresh_state(self) -> Any:
        return world_state(Emulator(**OPTIONS).app.world)

    def write_everything(self) -> None:
        """Writes through every kind of route, direct changes, clock, faults, caches."""
        run_id = self.trigger(payload={"a": 1}, idempotencyKey="k1", tags=["t1"])
        writes = [
            ("POST", "/api/v1/tasks/send-email/trigger", {"payload": {"b": 2}}),
            ("PUT", f"/api/v1/runs/{run_id}/metadata", {"metadata": {"x": 1}}),
            ("POST", f"/api/v2/runs/{run_id}/cancel", None),
            ("POST", f"/api/v1/runs/{run_id}/replay", None),
            ("POST", f"/api/v1/runs/{run_id}/tags", {"tags": ["t2"]}),
            ("POST", "/api/v1/tasks/batch", {"items": [{"task": "send-email", "payload": {}}]}),
            ("POST", "/api/v1/bulk-actions", {"action": "cancel", "runIds": [run_id]}),
            (
                "POST",
                "/api/v1/schedules",
                {
                    "task": self.emu.scheduled_tasks[0],
                    "cron": "0 * * * *",
                    "deduplicationKey": "d1",
                },
            ),
            (
                "POST",
                f"/api/v1/projects/{self.emu.project_ref}/envvars/dev",
                {"name": "NEW_VAR", "value": "v"},
            ),
            ("POST", "/api/v1/queues/send-email/pause", {"type": "task", "action": "pause"}),
            ("POST", "/api/v1/idempotencyKeys/k1/reset", {"taskIdentifier": "send-email"}),
        ]
        for method, path, body in writes:
            response = self.call(
                method, path, json=body, headers={"x-trigger-request-idempotency-key": "rk-" + path}
            )
            self.assertLess(response.status_code, 300, f"{method} {path}: {response.text}")
        with self.emu.state.lock:
            world = self.emu.state
            world.add_api_key(world.environment_for_key(self.emu.secret_key), ["read:runs"])
            world.revoke(self.emu.secret_keys["prod"])
            world.runs.set_status(
                world.runs.in_environment(self.dev_env.id)[3].friendly_id, "EXECUTING"
            )
            world.extra_attribute = "added by a test"
        self.emu.clock.advance(3600)
        self.emu.faults.fail_next(2)
        self.assertGreater(len(self.emu.app.idempotency), 0)
        self.assertGreater(self.emu.journal.count(), 0)

    def test_reset_after_writes_equals_a_fresh_emulator(self):
        keys, token, ref = self.emu.secret_keys, self.emu.access_token, self.emu.project_ref
        fresh = self.fresh_state()
        self.write_everything()
        self.assertFalse(world_state(self.emu.app.world) == fresh)

        self.emu.reset()

        self.assertSameState(self.emu.app.world, fresh)
        self.assertFalse(hasattr(self.emu.app.world, "extra_attribute"))
        self.assertEqual(
            (self.emu.secret_keys, self.emu.access_token, self.emu.project_ref), (keys, token, ref)
        )
        self.assertEqual(self.emu.clock.now(), FROZEN_NOW)
        self.assertEqual(
            (self.emu.faults.pending, self.emu.journal.count(), len(self.emu.app.idempotency)),
            (0, 0, 0),
        )
        # The id streams continue exactly as a fresh emulator's: the next run gets its id.
        with Emulator(**OPTIONS) as fresh_emu:
            fresh_id = self.http.post(
                fresh_emu.url("/api/v1/tasks/send-email/trigger"),
                json={"payload": {}},
                headers={"Authorization": f"Bearer {fresh_emu.secret_key}"},
                timeout=10,
            ).json()["id"]
        self.assertEqual(self.trigger(payload={}), fresh_id)

    def test_reset_twice_and_after_a_rebuild(self):
        fresh = self.fresh_state()
        self.write_everything()
        self.emu.reset()
        self.write_everything()
        self.emu.reset()
        self.assertSameState(self.emu.app.world, fresh)
        self.emu.app.world.build()  # an explicit rebuild snapshots again
        self.trigger()
        self.emu.reset()
        self.assertSameState(self.emu.app.world, fresh)

    def test_a_reset_after_reads_only_costs_nothing(self):
        world = self.emu.app.world
        runs_store = world.stores["runs"]
        self.get("/api/v1/runs")
        self.get(f"/api/v1/projects/{self.emu.project_ref}/envvars/dev")
        self.assertFalse(world.dirty)
        self.emu.reset()
        self.assertIs(world.stores["runs"], runs_store)  # nothing was restored

    def test_what_marks_the_world_dirty(self):
        world = self.emu.app.world
        cases = {
            "a write route, even refused": lambda: self.post(
                "/api/v1/runs/run_x/tags", json={"tags": 1}
            ),
            "reaching in through emu.state": lambda: self.emu.state,
            "drawing an id": lambda: world.ids.internal(),
            "a delayed run queued by a read": lambda: (
                self.emu.clock.advance(10 * 86400),
                self.get("/api/v1/runs"),
            ),
        }
        for name, action in cases.items():
            with self.subTest(name):
                self.emu.reset()
                self.assertFalse(world.dirty)
                action()
                self.assertTrue(world.dirty)

    def test_every_read_route_leaves_the_state_alone_or_marks_it_dirty(self):
        """Every GET route, with the clock far ahead (lazy transitions are due): either the
        world is marked dirty or its state is byte for byte what it was."""
        world = self.emu.app.world
        with world.lock:
            dev = world.environment_for_key(self.emu.secret_key)

            def first(items: list) -> str:
                return items[0].friendly_id if items else "missing_x"

            values = {
                "runId": first(world.runs.in_environment(dev.id)),
                "batchId": first(
                    [b for b in world.batches.by_id.values() if b.environment_id == dev.id]
                ),
                "bulkActionId": first(world.bulk_actions.in_environment(dev.id)),
                "deploymentId": first(world.deployments.in_environment(dev.id)),
                "scheduleId": first(world.schedules.in_environment(dev)),
                "spanId": "span_x",
                "projectRef": self.emu.project_ref,
                "env": "dev",
                "name": "DATABASE_URL",
                "queueParam": "send-email",
            }
        queries = {"/api/v1/projects/{projectRef}/runs": "?filter[env]=dev"}
        routes = [r for r in self.emu.app.router.routes if r.method == "GET"]
        self.assertGreater(len(routes), 20)
        dirtied = []
        self.emu.clock.advance(10 * 86400)
        before = pickled_state(world)
        for route in routes:
            path = route.pattern + queries.get(route.pattern, "")
            for name, value in values.items():
                path = path.replace("{" + name + "}", value)
            path = re.sub(r"\{\w+\}", "missing_x", path)  # routes added later
            token = self.emu.access_token if route.auth.family in "DE" else self.emu.secret_key
            with self.subTest(path=path):
                # (handler crashes fail the test at cleanup; an idle output stream ends
                # after Timeout-Seconds)
                self.get(path, token=token, headers={"Timeout-Seconds": "1"})
                if world.dirty:
                    dirtied.append(path)
                    self.emu.reset()
                    self.emu.clock.advance(10 * 86400)
                    before = pickled_state(world)
                else:
                    self.assertTrue(pickled_state(world) == before, f"{path} changed the world")
        self.assertIn("/api/v1/runs", dirtied)  # the delayed runs were queued: a real check

    def test_a_moved_clock_reseeds(self):
        world = self.emu.app.world
        self.emu.clock.freeze(FROZEN_NOW + dt.timedelta(days=1))
        world.reset()  # a world reset alone (the emulator's also resets the clock)
        self.assertEqual(world.seeded_at, FROZEN_NOW + dt.timedelta(days=1))
        self.emu.reset()
        self.assertEqual(world.seeded_at, FROZEN_NOW)
        self.assertSameState(world, self.fresh_state())


class SharedSnapshotTests(EmulatorCase):
    def test_emulators_built_alike_copy_one_seeded_world(self):
        world_module._SNAPSHOTS.clear()
        seeded = Emulator(**OPTIONS).app.world  # seeded from scratch
        copied = Emulator(**OPTIONS).app.world  # from the first one's snapshot
        self.assertIs(copied._snapshot, seeded._snapshot)
        self.assertTrue(world_state(copied) == world_state(seeded))
        self.assertIsNot(copied.stores["runs"], seeded.stores["runs"])
        self.assertIs(copied.stores["runs"].world, copied)
        other = Emulator(**{**OPTIONS, "runs": 7}).app.world  # other arguments: seeded anew
        self.assertIsNot(other._snapshot, seeded._snapshot)
        # A real-time clock: shared while the snapshot is younger than SNAPSHOT_MAX_AGE.
        live = Emulator(seed=1).app.world
        self.assertIsNot(live._snapshot, seeded._snapshot)
        self.assertIs(Emulator(seed=1).app.world._snapshot, live._snapshot)
        with mock.patch.object(world_module, "SNAPSHOT_MAX_AGE", dt.timedelta(0)):
            self.assertIsNot(Emulator(seed=1).app.world._snapshot, live._snapshot)


class RealTimeResetTests(EmulatorCase):
    emulator_kwargs = {"now": None}

    def test_snapshot_is_reused_while_young_and_reseeded_when_old(self):
        world = self.emu.app.world
        self.emu.reset()
        seeded_at = world.seeded_at
        self.emu.reset()
        self.assertEqual(world.seeded_at, seeded_at)
        with mock.patch.object(world_module, "SNAPSHOT_MAX_AGE", dt.timedelta(0)):
            self.emu.reset()
        self.assertGreater(world.seeded_at, seeded_at)
