"""The emulator's zod-style size issues, exactly as zod words them (the real server's 400
bodies list these issues verbatim)."""

from __future__ import annotations

from django.test import SimpleTestCase

from django_trigger.testing.validation import Checker


def issue(code: str, path: list[str | int], message: str, bound: str, n: int, kind: str) -> dict:
    return {
        "code": code,
        bound: n,
        "type": kind,
        "inclusive": True,
        "exact": False,
        "path": path,
        "message": message,
    }


class SizeIssueTests(SimpleTestCase):
    def test_strings_and_arrays_too_small_and_too_big(self):
        check = Checker()
        check.string({"a": ""}, "a", min_length=1)
        check.string({"b": "xyz"}, "b", max_length=2)
        check.array({"c": []}, "c", min_items=1)
        check.array({"d": [1, 2, 3]}, "d", max_items=2)
        check.string_or_list({"e": ["ok", "long"]}, "e", max_length=3)
        check.string_or_list({"f": "long"}, "f", max_length=3)
        at_most = "String must contain at most 3 character(s)"
        self.assertEqual(
            check.issues,
            [
                issue(
                    "too_small",
                    ["a"],
                    "String must contain at least 1 character(s)",
                    "minimum",
                    1,
                    "string",
                ),
                issue(
                    "too_big",
                    ["b"],
                    "String must contain at most 2 character(s)",
                    "maximum",
                    2,
                    "string",
                ),
                issue(
                    "too_small",
                    ["c"],
                    "Array must contain at least 1 element(s)",
                    "minimum",
                    1,
                    "array",
                ),
                issue(
                    "too_big",
                    ["d"],
                    "Array must contain at most 2 element(s)",
                    "maximum",
                    2,
                    "array",
                ),
                issue("too_big", ["e", 1], at_most, "maximum", 3, "string"),
                issue("too_big", ["f"], at_most, "maximum", 3, "string"),
            ],
        )
        # the same order of keys as the server's JSON
        self.assertEqual(
            list(check.issues[0]),
            ["code", "minimum", "type", "inclusive", "exact", "path", "message"],
        )

    def test_within_bounds_no_issue(self):
        check = Checker()
        check.string({"a": "ab"}, "a", min_length=1, max_length=2)
        check.array({"b": [1]}, "b", min_items=1, max_items=1)
        check.string_or_list({"c": ["abc"]}, "c", max_length=3)
        check.string_or_list({"d": "x"}, "d")
        self.assertEqual(check.issues, [])
