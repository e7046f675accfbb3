"""The transport's JSON decoding (``_http.transport.loads``) gives exactly what ``json.loads``
gives, with orjson installed (the ``speed`` extra) and without it: the same values of the same
types, and the same ``ValueError`` for what json.loads refuses."""

from __future__ import annotations

import json
import math
import random
import unittest
from typing import Any

from django.test import SimpleTestCase

from django_trigger._http import transport

from .base import ClientTestCase

try:
    import orjson
except ImportError:  # pragma: no cover - the dev extra installs it
    orjson = None

BODIES: list[bytes] = [
    b'{"data":[{"id":"run_1","n":1,"f":1.5,"t":true,"z":null}],"pagination":{}}',
    b"[]",
    b"{}",
    b" 1 ",
    b"-0",
    b"-0.0",
    b"1e-400",
    b"0.1",
    b"1E+2",
    b'{"a":1,"a":2}',
    b'"\\u00e9\\ud83d\\ude00 \\/ \\u0000"',
    '"caf\u00e9 \u2603"'.encode(),
    b"9223372036854775807",
    b"-9223372036854775808",
    b"18446744073709551615",
    # integers past 64 bits: orjson would make floats of them
    b"18446744073709551616",
    b"-9223372036854775809",
    b'{"n":123456789012345678901234567890}',
    b"[1234567890123456789.5]",
    # accepted by json.loads only
    b"NaN",
    b"[Infinity, -Infinity]",
    b"1E400",
    b'"\\ud800"',
    b'"\\udc00\\ud800"',
    b'"\xed\xa0\x80"',
    b"\xef\xbb\xbf{}",
    " {}".encode("utf-16"),
    b"[" * 1100 + b"]" * 1100,
    # refused by both
    b"",
    b"  ",
    b"01",
    b"[1,]",
    b'{"a":1,}',
    b"1.",
    b".5",
    b"+1",
    b"[1] x",
    b"tru",
    b'"\\u12"',
    b'"\\x"',
    b'"a\x00b"',
    b'"\xff"',
    b'"\xc0\xaf"',
    b"{1:2}",
    b"[1]\x00",
    b"[" * 100_000 + b"]" * 100_000,
]


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (1 and 1.0 differ; NaN equals NaN).
    Iterative: Python 3.13's json.loads decodes nesting deeper than the recursion limit."""
    pending = [(a, b)]
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, float):
            if not (math.isnan(a) and math.isnan(b)) and not (
                a == b and math.copysign(1, a) == math.copysign(1, b)
            ):
                return False
        elif isinstance(a, dict):
            if list(a) != list(b):
                return False
            pending.extend((a[key], b[key]) for key in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b))
        elif a != b:
            return False
    return True


def outcome(decode: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "value", decode(body)
    except RecursionError:
        return "error", "nested too deeply"
    except ValueError as exc:
        return "error", str(exc)


class DecodeTests(SimpleTestCase):
    def assert_like_json_loads(self) -> None:
        for body in BODIES:
            with self.subTest(body=body[:40]):
                ours = outcome(transport.loads, body)
                reference = outcome(json.loads, body)
                self.assertEqual(ours[0], reference[0])
                if ours[0] == "value":
                    self.assertTrue(same(ours[1], reference[1]), (ours[1], reference[1]))
                else:
                    self.assertIn(reference[1], ours[1])

    def test_same_as_json_loads_with_orjson(self):
        if orjson is None:
            self.skipTest("orjson is not installed")
        transport.loads(b"{}")  # orjson is imported on the first decode
        self.assertIs(transport._orjson, orjson)
        self.assert_like_json_loads()

    def test_same_as_json_loads_without_orjson(self):
        original = transport._orjson
        transport._orjson = None
        self.addCleanup(setattr, transport, "_orjson", original)
        self.assert_like_json_loads()

    def test_random_numbers_decode_the_same(self):
        rng = random.Random(14)
        numbers = [rng.uniform(-1e6, 1e6) for _ in range(500)]
        numbers += [rng.random() * 10 ** rng.randint(-300, 300) for _ in range(500)]
        numbers += [rng.randint(-(2**70), 2**70) for _ in range(300)]
        body = json.dumps(numbers).encode()
        self.assertTrue(same(transport.loads(body), json.loads(body)))

    @unittest.skipUnless(orjson is not None, "orjson is not installed")
    def test_long_integers_need_the_guard(self):
        # What the long-number check is for: orjson alone would change the type.
        self.assertIsInstance(orjson.loads(b"18446744073709551616"), float)
        self.assertIsInstance(transport.loads(b"18446744073709551616"), int)


class DecodeOverHttpTests(ClientTestCase):
    def test_a_page_and_a_raw_body_decode_as_json_loads_does(self):
        raw = self.trigger.runs.with_raw_response.list(limit=5)
        body = raw.http_response.content
        self.assertTrue(same(raw.json(), json.loads(body)))
        page = raw.parse()
        self.assertEqual([run.raw for run in page.data], json.loads(body)["data"])
