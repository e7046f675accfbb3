"""``RetryPolicy`` and ``RequestOptions`` behave as the frozen dataclasses they were, though
``options`` no longer imports ``dataclasses`` (issue #14): each behaviour is compared with a
real ``dataclass(frozen=True)`` of the same fields and defaults, written out here."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from collections.abc import Mapping
from typing import Any

from django.test import SimpleTestCase

from django_trigger.options import RequestOptions, RetryPolicy, Timeout


@dataclasses.dataclass(frozen=True)
class RetryPolicy_:
    max_attempts: int = 5
    factor: float = 1.6
    min_delay: float = 1.0
    max_delay: float = 30.0
    randomize: bool = False


@dataclasses.dataclass(frozen=True)
class RequestOptions_:
    retry: RetryPolicy | Mapping[str, Any] | None = None
    timeout: Timeout | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    deadline: float | None = None
    not_found_retry_budget: float | None = None


SAMPLES: list[tuple[type, type, list[dict[str, Any]]]] = [
    (
        RetryPolicy,
        RetryPolicy_,
        [{}, {"max_attempts": 1}, {"factor": 2, "min_delay": 0.5, "randomize": True}],
    ),
    (
        RequestOptions,
        RequestOptions_,
        [
            {},
            {"retry": {"max_attempts": 2}, "timeout": (1.0, 2.0)},
            {"headers": {"x-a": "é"}, "deadline": 3.0, "not_found_retry_budget": 0},
            {"retry": RetryPolicy(max_attempts=3)},
        ],
    ),
]


def twin_repr(ours: Any, twin: type) -> str:
    """The twin's repr of the same values, under our class's name."""
    values = {field.name: getattr(ours, field.name) for field in dataclasses.fields(twin)}
    return repr(twin(**values)).replace(twin.__qualname__, type(ours).__qualname__, 1)


class FrozenRecordTests(SimpleTestCase):
    def test_fields_and_params_are_the_dataclass_ones(self):
        for cls, twin, _ in SAMPLES:
            with self.subTest(cls.__name__):
                self.assertTrue(dataclasses.is_dataclass(cls))
                self.assertTrue(dataclasses.is_dataclass(cls()))
                ours = dataclasses.fields(cls)
                expected = dataclasses.fields(twin)
                self.assertEqual([f.name for f in ours], [f.name for f in expected])
                for mine, theirs in zip(ours, expected, strict=True):
                    for attribute in ("type", "default", "default_factory", "init", "repr"):
                        self.assertEqual(getattr(mine, attribute), getattr(theirs, attribute))
                    for attribute in ("hash", "compare", "kw_only", "metadata"):
                        self.assertEqual(getattr(mine, attribute), getattr(theirs, attribute))
                self.assertEqual(
                    repr(cls.__dataclass_params__),
                    repr(twin.__dataclass_params__),  # type: ignore[attr-defined]
                )
                self.assertEqual(cls.__match_args__, twin.__match_args__)  # type: ignore[attr-defined]

    def test_init_signature_repr_equality_and_hash_are_the_dataclass_ones(self):
        for cls, twin, samples in SAMPLES:
            ours_signature = inspect.signature(cls)
            twin_signature = inspect.signature(twin)
            self.assertEqual(list(ours_signature.parameters), list(twin_signature.parameters))
            for name, parameter in ours_signature.parameters.items():
                expected = twin_signature.parameters[name]
                self.assertEqual(parameter.kind, expected.kind)
                self.assertEqual(repr(parameter.default), repr(expected.default))
            for values in samples:
                with self.subTest(cls=cls.__name__, values=values):
                    ours, again, theirs = cls(**values), cls(**values), twin(**values)
                    self.assertEqual(repr(ours), twin_repr(ours, twin))
                    self.assertEqual(ours, again)
                    self.assertEqual(ours == again, theirs == twin(**values))
                    self.assertIs(ours.__eq__(theirs), NotImplemented)  # another class
                    changed = {"deadline": 9.0} if cls is RequestOptions else {"max_attempts": 9}
                    self.assertNotEqual(ours, cls(**{**values, **changed}))
                    try:
                        expected_hash: Any = hash(theirs)
                    except TypeError as error:
                        expected_hash = str(error)
                    try:
                        our_hash: Any = hash(ours)
                    except TypeError as error:
                        our_hash = str(error)
                    if isinstance(expected_hash, int):
                        self.assertEqual(our_hash, hash(again))
                        self.assertIsInstance(our_hash, int)
                    else:
                        self.assertEqual(our_hash, expected_hash)

    def test_frozen_like_the_dataclass(self):
        for cls, twin, _ in SAMPLES:
            ours, theirs = cls(), twin()
            for name in ("max_attempts" if cls is RetryPolicy else "retry", "other"):
                with self.subTest(cls=cls.__name__, name=name):
                    with self.assertRaises(dataclasses.FrozenInstanceError) as mine:
                        setattr(ours, name, 1)
                    with self.assertRaises(dataclasses.FrozenInstanceError) as expected:
                        setattr(theirs, name, 1)
                    self.assertEqual(str(mine.exception), str(expected.exception))
                    with self.assertRaises(dataclasses.FrozenInstanceError) as mine:
                        delattr(ours, name)
                    with self.assertRaises(dataclasses.FrozenInstanceError) as expected:
                        delattr(theirs, name)
                    self.assertEqual(str(mine.exception), str(expected.exception))

    def test_dataclass_functions_work(self):
        policy = RetryPolicy(max_attempts=2)
        self.assertEqual(dataclasses.replace(policy, factor=2.0), RetryPolicy(2, 2.0))
        with self.assertRaisesMessage(ValueError, "max_attempts must be an integer >= 1"):
            dataclasses.replace(policy, max_attempts=0)  # __post_init__ still checks
        self.assertEqual(dataclasses.asdict(policy), dataclasses.asdict(RetryPolicy_(2)))
        self.assertEqual(dataclasses.astuple(policy), (2, 1.6, 1.0, 30.0, False))
        options = RequestOptions(retry=policy, headers={"a": "b"})
        self.assertEqual(
            dataclasses.asdict(options),
            dataclasses.asdict(RequestOptions_(retry=RetryPolicy_(2), headers={"a": "b"})),
        )
        self.assertIsNot(RequestOptions().headers, RequestOptions().headers)  # the factory
        for value in (policy, options):
            self.assertEqual(copy.copy(value), value)
            self.assertEqual(copy.deepcopy(value), value)
            self.assertEqual(pickle.loads(pickle.dumps(value)), value)

    def test_class_attributes_are_the_dataclass_ones(self):
        self.assertEqual(RetryPolicy.max_attempts, RetryPolicy_.max_attempts)
        self.assertFalse(hasattr(RequestOptions, "headers"))
        self.assertFalse(hasattr(RequestOptions_, "headers"))
        self.assertEqual(RequestOptions.deadline, RequestOptions_.deadline)

    def test_match_statements(self):
        match RetryPolicy(3):
            case RetryPolicy(attempts, factor):
                self.assertEqual((attempts, factor), (3, 1.6))
            case _:
                self.fail("no match")
