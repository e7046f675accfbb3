"""The emulator's JSON encoding (``testing.errors.dumps``) with orjson installed (the ``speed``
extra) writes json's bytes, or, where json and ``JSON.stringify`` differ, what the real
server's ``JSON.stringify`` writes; what orjson refuses is written (or refused) by json as
before. Without orjson it is json's encoding."""

from __future__ import annotations

import datetime
import enum
import json
import math
import random
import struct
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from django.test import SimpleTestCase

from django_trigger.testing import errors

try:
    import orjson
except ImportError:  # pragma: no cover - the dev extra installs it
    orjson = None

ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def stdlib(value: Any) -> bytes:
    return ENCODER.encode(value).encode("utf-8")


def js_number(value: float) -> str:
    """``JSON.stringify(value)`` for a number (ECMA-262 Number::toString: the shortest digits
    that round-trip, decimal from 1e-6 up to 1e21, else an exponent; NaN and infinities
    ``null``)."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + int(exponent)  # value = 0.digits × 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


class Color(str, enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


#: Values without floats: orjson must write exactly json's bytes.
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    "",
    "plain",
    "caf\u00e9 \u2603 \U0001f600",
    '\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f " \\ / \u2028\u2029',
    [],
    {},
    [1, "a", None, [True, {}]],
    {"data": [{"id": "run_1", "tags": ["a"], "n": 3}], "pagination": {}},
    {"b": 1, "a": 2},  # key order kept
    Color.RED,
    Size.BIG,
    OrderedDict([("z", 1), ("y", [2])]),
    (1, 2),
    [[[[[[[[[[["deep"]]]]]]]]]]],
]

#: What orjson refuses: written as json writes it.
REFUSED_BY_ORJSON: list[Any] = [
    2**64,
    -(2**63) - 1,
    {"n": 123456789012345678901234567890},
    {1: "int key", None: "none key", 2.5: "float key", False: "bool key"},
    [[]] * 300,
    json.loads("[" * 300 + "]" * 300),
]


def special_floats() -> list[float]:
    values = [0.0, -0.0, 1.0, -1.0, 0.1, 2.5, 100.0, 1e5, 1e15, 1e16, 1.5e16, 1e20, 1e21, 1e22]
    values += [1e-4, 9.99e-5, 1e-5, 1.5e-5, 1e-6, 9.99e-7, 1e-7, 1e-300, 5e-324]
    values += [1.7976931348623157e308, 123456789012345.6, 0.00016, 0.0000169, 0.30000000000000004]
    return values + [-value for value in values]


def random_floats(count: int) -> list[float]:
    rng = random.Random(14)
    values = []
    while len(values) < count:
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(bits):
            values.append(bits)
        values.append(rng.uniform(-1, 1) * 10 ** rng.randint(-9, 23))
    return values


class JsNumberTests(SimpleTestCase):
    """The reference itself, against what node prints."""

    def test_known_outputs(self):
        for value, text in [
            (1.0, "1"),
            (0.1, "0.1"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e16, "10000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (123.456, "123.456"),
            (-0.0000169, "-0.0000169"),
            (float("nan"), "null"),
            (float("-inf"), "null"),
        ]:
            self.assertEqual(js_number(value), text, value)


class WithOrjsonTests(SimpleTestCase):
    def setUp(self):
        if orjson is None:
            self.skipTest("orjson is not installed")
        errors.dumps(None)  # orjson is imported on the first answer
        self.assertIs(errors._orjson, orjson)

    def test_json_bytes_for_values_without_floats(self):
        for value in VALUES + REFUSED_BY_ORJSON:
            with self.subTest(value=str(value)[:60]):
                self.assertEqual(errors.dumps(value), stdlib(value))

    def test_orjson_is_used(self):
        # 1e-05 is what json writes; only orjson writes the number as JSON.stringify does.
        self.assertEqual(errors.dumps({"cost": 1e-5}), b'{"cost":0.00001}')
        # where orjson writes neither form (5e-6), json's bytes
        self.assertEqual(errors.dumps({"cost": 5e-6, "a": 1e-5}), b'{"cost":5e-06,"a":1e-05}')

    def test_floats_as_json_or_as_json_stringify(self):
        for value in special_floats() + random_floats(20_000):
            ours = errors.dumps([value]).decode()
            ours_number = ours[1:-1]
            expected = stdlib([value]).decode()[1:-1]
            with self.subTest(value=repr(value)):
                self.assertIn(ours_number, (expected, js_number(value)))
                if expected == js_number(value):
                    self.assertEqual(ours_number, expected)
                self.assertEqual(float(ours_number), value)  # the same number, whatever form

    def test_nan_and_infinities_are_null_as_in_json_stringify(self):
        nan, inf = float("nan"), float("inf")
        self.assertEqual(errors.dumps({"a": [nan, inf, -inf]}), b'{"a":[null,null,null]}')

    def test_what_json_refuses_stays_refused(self):
        with self.assertRaises(TypeError):
            errors.dumps({"at": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)})
        with self.assertRaises(TypeError):
            errors.dumps({"at": datetime.date(2026, 1, 1)})
        with self.assertRaises(TypeError):
            errors.dumps({"value": object()})
        with self.assertRaises(UnicodeEncodeError):
            errors.dumps({"text": "\ud800"})


class WithoutOrjsonTests(SimpleTestCase):
    def setUp(self):
        saved = errors._orjson
        errors._orjson = None
        self.addCleanup(setattr, errors, "_orjson", saved)

    def test_json_bytes(self):
        for value in VALUES + REFUSED_BY_ORJSON + special_floats() + [{"a": float("nan")}]:
            with self.subTest(value=str(value)[:60]):
                self.assertEqual(errors.dumps(value), stdlib(value))
