"""envsync sources: dotenv files through django-environ, settings, the process environment,
and the merge (precedence, conflicts, reserved names, empty and oversized values). Pure: no
HTTP."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.test import SimpleTestCase

from django_trigger.envsync import (
    MAX_ENTRY_BYTES,
    SkipReason,
    SourceError,
    SourceKind,
    Sources,
    collect,
    read_dotenv,
)


class TempFiles:
    def setUp(self) -> None:
        super().setUp()
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.dir = Path(directory.name)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.dir / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return str(path)


def values(desired) -> dict[str, str]:
    return {name: var.value for name, var in desired.variables.items()}


class DotenvTests(TempFiles, SimpleTestCase):
    def read(self, content: str | bytes, **kwargs):
        return read_dotenv(self.file(".env", content), **kwargs)

    def test_django_environ_rules(self):
        definitions, problems, _warnings = self.read(
            "# a comment\n"
            "\n"
            "PLAIN=value\n"
            "export EXPORTED=yes\n"
            "SINGLE='literal \\n $HOME'\n"
            'DOUBLE="say \\"hi\\" \\\\ \\n"\n'
            "DOLLAR=$OTHER\n"
            "INLINE=abc # not a comment\n"
            "EQUALS=a=b=c\n"
            "   \n"
            "   # indented comment\n"
        )
        self.assertEqual(problems, [])
        self.assertEqual(
            {d.name: d.value for d in definitions},
            {
                "PLAIN": "value",
                "EXPORTED": "yes",
                "SINGLE": "literal \\n $HOME",
                "DOUBLE": 'say "hi" \\ \\n',  # \n stays a backslash and an n
                "DOLLAR": "$OTHER",  # raw: never resolved as a reference
                "INLINE": "abc # not a comment",
                "EQUALS": "a=b=c",
            },
        )
        self.assertEqual([d.origin.line for d in definitions], [3, 4, 5, 6, 7, 8, 9])
        self.assertEqual(definitions[0].origin.kind, SourceKind.FILE)
        self.assertTrue(str(definitions[0].origin).endswith(".env:3"))

    def test_parse_comments(self):
        definitions, problems, _warnings = self.read(
            "INLINE=abc # a comment\nQUOTED='x # y'\n", parse_comments=True
        )
        self.assertEqual(problems, [])
        self.assertEqual(
            {d.name: d.value for d in definitions}, {"INLINE": "abc ", "QUOTED": "x # y"}
        )

    def test_warnings_name_the_line_but_never_the_value(self):
        _definitions, _problems, warnings = self.read(
            'A=secret-a # maybe a comment\nB=secret-b   \nC="line\\nnext"\n'
        )
        self.assertEqual(len(warnings), 3)
        self.assertIn(".env:1: the value of A contains ' #'", warnings[0])
        self.assertIn(".env:2: the value of B ends with whitespace", warnings[1])
        self.assertIn(".env:3: the value of C contains \\n", warnings[2])
        for warning in warnings:
            self.assertNotIn("secret-", warning)

    def test_a_quote_that_does_not_end_the_value_is_a_warning_without_the_value(self):
        definitions, problems, warnings = self.read('A="secret-a\nB=\'secret-b\'x\nC="ok"\n')
        self.assertEqual(problems, [])
        self.assertEqual(
            [(d.name, d.value) for d in definitions],  # as django-environ reads it
            [("A", '"secret-a'), ("B", "'secret-b'x"), ("C", "ok")],
        )
        self.assertEqual(len(warnings), 2, warnings)
        self.assertIn(
            ".env:1: the value of A starts with a quote but does not end with it", warnings[0]
        )
        self.assertIn(".env:2: the value of B starts with a quote", warnings[1])
        self.assertNotIn("secret-", "\n".join(warnings))

    def test_bad_lines_are_problems_without_values(self):
        _definitions, problems, _warnings = self.read(
            "GOOD=1\n"
            "SPACED = s3cret-one\n"
            'MULTI="first\n'
            's3cret-continued"\n'
            "my-name=s3cret-two\n"
            "  INDENTED=s3cret-three\n"
        )
        self.assertEqual(len(problems), 4, problems)
        self.assertIn(".env:2: spaces before '=' are not allowed", problems[0])
        self.assertIn(
            ".env:4: not NAME=value: the previous variable's quoted value seems to "
            "continue on this line",
            problems[1],
        )
        self.assertIn(".env:5: 'my-name' is not a valid name", problems[2])
        self.assertIn(".env:6: a variable line must not be indented", problems[3])
        self.assertNotIn("s3cret", "\n".join(problems))

    def test_a_stray_line_is_not_called_a_multi_line_value(self):
        # Only a line after an unclosed quote may be the rest of a value (issue #13).
        _definitions, problems, _warnings = self.read("GOOD=1\nthis is not a line\n")
        self.assertEqual(
            problems,
            [
                f"{self.dir / '.env'}:2: not NAME=value: each line must be NAME=value, a # "
                "comment or blank."
            ],
        )

    def test_unreadable_file(self):
        _definitions, problems, _warnings = read_dotenv(self.dir / "missing.env")
        self.assertEqual(len(problems), 1)
        self.assertIn("missing.env: cannot read the file (No such file or directory).", problems[0])
        _definitions, problems, _warnings = read_dotenv(self.dir)
        self.assertIn("cannot read the file (Is a directory)", problems[0])

    def test_not_utf8(self):
        _definitions, problems, _warnings = self.read(b"A=1\nB=caf\xe9\n")
        self.assertEqual(len(problems), 1)
        self.assertIn(".env:2: not UTF-8 text (byte 0xe9); save the file as UTF-8.", problems[0])

    def test_bom_and_crlf(self):
        definitions, problems, _warnings = self.read(b"\xef\xbb\xbfA=1\r\nB=2\r\n")
        self.assertEqual(problems, [])
        self.assertEqual({d.name: d.value for d in definitions}, {"A": "1", "B": "2"})

    def test_duplicates_in_one_file_keep_every_line(self):
        definitions, _problems, _warnings = self.read("A=1\nA=2\n")
        self.assertEqual([(d.value, d.origin.line) for d in definitions], [("1", 1), ("2", 2)])


class CollectTests(TempFiles, SimpleTestCase):
    def test_nothing_to_sync(self):
        with self.assertRaises(SourceError) as caught:
            collect(Sources())
        self.assertIn("nothing to sync", str(caught.exception))

    def test_precedence_settings_then_files_then_environment(self):
        base = self.file("base.env", "A=file-base\nB=file-base\nC=file-base\n")
        prod = self.file("prod.env", "B=file-prod\nC=file-prod\n")
        desired = collect(
            Sources(
                env_files=[base, prod],
                settings_envvars={"A": "settings", "D": "settings"},
                environ={"C": "environment"},
                environ_names=["C"],
                allow_overrides=True,
            )
        )
        self.assertEqual(
            values(desired),
            {"A": "file-base", "B": "file-prod", "C": "environment", "D": "settings"},
        )
        c = desired.variables["C"]
        self.assertEqual(c.origin.kind, SourceKind.ENVIRONMENT)
        self.assertEqual([str(o) for o in c.overrides], [f"{base}:3", f"{prod}:2"])
        self.assertEqual(
            [str(o) for o in desired.variables["A"].overrides], ["TRIGGER['default']['ENVVARS']"]
        )
        self.assertEqual(desired.variables["D"].overrides, ())

    def test_conflicting_values_are_an_error_naming_every_place(self):
        one = self.file("one.env", "A=s3cret-1\nSAME=x\n")
        two = self.file("two.env", "A=s3cret-2\nSAME=x\n")
        with self.assertRaises(SourceError) as caught:
            collect(Sources(env_files=[one, two]))
        self.assertEqual(
            caught.exception.problems,
            [
                f"A is defined with different values in {one}:1, {two}:1; remove all but one, or "
                "pass --allow-overrides to let the later source win."
            ],
        )
        self.assertNotIn("s3cret", str(caught.exception))

    def test_conflict_within_one_file(self):
        path = self.file(".env", "A=1\nB=2\nA=3\n")
        with self.assertRaises(SourceError) as caught:
            collect(Sources(env_files=[path]))
        self.assertIn(f"{path}:1, {path}:3", caught.exception.problems[0])
        desired = collect(Sources(env_files=[path], allow_overrides=True))
        self.assertEqual(values(desired), {"A": "3", "B": "2"})

    def test_same_value_twice_is_fine(self):
        one = self.file("one.env", "A=x\n")
        desired = collect(Sources(env_files=[one], settings_envvars={"A": "x"}))
        self.assertEqual(values(desired), {"A": "x"})
        self.assertEqual(desired.variables["A"].overrides, ())

    def test_reserved_names_are_skipped_and_reported(self):
        path = self.file(".env", "TRIGGER_SECRET_KEY=tr_dev_x\nTRIGGER_API_URL=http://x\nA=1\n")
        desired = collect(Sources(env_files=[path]))
        self.assertEqual(values(desired), {"A": "1"})
        self.assertEqual(
            [(s.name, s.reason) for s in desired.skipped],
            [
                ("TRIGGER_API_URL", SkipReason.RESERVED),
                ("TRIGGER_SECRET_KEY", SkipReason.RESERVED),
            ],
        )

    def test_empty_values_refused_unless_allowed(self):
        path = self.file(".env", "A=\nB='   '\nC=1\n")
        with self.assertRaises(SourceError) as caught:
            collect(Sources(env_files=[path]))
        self.assertEqual(
            caught.exception.problems,
            [
                f"A is empty in {path}:1: Trigger.dev drops empty values; remove it, or pass "
                "--allow-empty to skip empty values.",
                f"B is empty in {path}:2: Trigger.dev drops empty values; remove it, or pass "
                "--allow-empty to skip empty values.",
            ],
        )
        desired = collect(Sources(env_files=[path], allow_empty=True))
        self.assertEqual(values(desired), {"C": "1"})
        self.assertEqual(
            [(s.name, s.reason) for s in desired.skipped],
            [("A", SkipReason.EMPTY), ("B", SkipReason.EMPTY)],
        )

    def test_oversized_and_nul_values(self):
        big = "x" * MAX_ENTRY_BYTES
        with self.assertRaises(SourceError) as caught:
            collect(
                Sources(
                    settings_envvars={
                        "BIG": big,
                        "NUL": "a\x00b",
                        "FITS": "y" * (MAX_ENTRY_BYTES - 6),
                    }
                )
            )
        problems = caught.exception.problems
        self.assertEqual(len(problems), 2, problems)
        self.assertIn(
            "BIG (TRIGGER['default']['ENVVARS']) is too large: NAME=value takes 131,077 bytes",
            problems[0],
        )
        self.assertIn("NUL (TRIGGER['default']['ENVVARS']) contains a NUL character", problems[1])

    def test_settings_shapes(self):
        desired = collect(
            Sources(
                settings_envvars={"LITERAL": "v", "FROM_ENV": None},
                environ={"FROM_ENV": "e"},
            )
        )
        self.assertEqual(values(desired), {"FROM_ENV": "e", "LITERAL": "v"})
        self.assertEqual(
            str(desired.variables["FROM_ENV"].origin),
            "TRIGGER['default']['ENVVARS'] (from the environment)",
        )
        desired = collect(
            Sources(
                settings_envvars=["A", "B"],
                environ={"A": "1", "B": "2"},
                settings_where="TRIGGER['ops']['ENVVARS']",
            )
        )
        self.assertEqual(values(desired), {"A": "1", "B": "2"})

    def test_settings_errors(self):
        with self.assertRaises(SourceError) as caught:
            collect(Sources(settings_envvars="A,B"))
        self.assertEqual(
            caught.exception.problems,
            [
                "TRIGGER['default']['ENVVARS'] must be a dict of names to values or a list of "
                "names, not str."
            ],
        )
        with self.assertRaises(SourceError) as caught:
            collect(
                Sources(settings_envvars={"bad-name": "x", "PORT": 8000, "MISSING": None, 3: "x"})
            )
        self.assertEqual(
            caught.exception.problems,
            [
                "TRIGGER['default']['ENVVARS']: 'bad-name' is not a valid name (ASCII letters, "
                "digits and underscores).",
                "TRIGGER['default']['ENVVARS']['PORT'] must be a string (or None to read the "
                "environment), not int.",
                "MISSING (listed in TRIGGER['default']['ENVVARS']) is not set in the environment.",
                "TRIGGER['default']['ENVVARS']: a int is not a valid name (ASCII letters, digits "
                "and underscores).",
            ],
        )

    def test_environment_names_and_prefixes(self):
        environ = {
            "APP_ONE": "1",
            "APP_TWO": "2",
            "OTHER": "o",
            "PATH": "/bin",
            "APP.DOTTED": "d",
            "TRIGGER_PROJECT_REF": "proj_x",
            "HOME": "/root",
        }
        desired = collect(Sources(environ=environ, environ_names=["OTHER"], prefixes=["APP_"]))
        self.assertEqual(values(desired), {"APP_ONE": "1", "APP_TWO": "2", "OTHER": "o"})
        self.assertNotIn("PATH", desired.variables)  # never the whole environment
        desired = collect(Sources(environ=environ, prefixes=["TRIGGER_", "APP"]))
        self.assertEqual(values(desired), {"APP_ONE": "1", "APP_TWO": "2"})
        self.assertEqual(
            [(s.name, s.reason) for s in desired.skipped],
            [
                ("APP.DOTTED", SkipReason.INVALID_NAME),
                ("TRIGGER_PROJECT_REF", SkipReason.UNSYNCABLE),
            ],
        )
        desired = collect(Sources(environ={"HOME": "/root", "HOMEPAGE": "x"}, prefixes=["HOME"]))
        self.assertEqual(values(desired), {"HOMEPAGE": "x"})
        self.assertEqual(
            [(s.name, s.reason) for s in desired.skipped], [("HOME", SkipReason.UNSYNCABLE)]
        )

    def test_environment_errors_and_warnings(self):
        with self.assertRaises(SourceError) as caught:
            collect(
                Sources(environ={}, environ_names=["NOT_SET", "bad-name"], prefixes=["bad-prefix"])
            )
        self.assertEqual(
            caught.exception.problems,
            [
                "NOT_SET (--from-env) is not set in the environment.",
                "--from-env 'bad-name' is not a valid name "
                "(ASCII letters, digits and underscores).",
                "--prefix 'bad-prefix' must be ASCII letters, digits and underscores.",
            ],
        )
        desired = collect(Sources(environ={"A": "1"}, environ_names=["A"], prefixes=["ZZ_"]))
        self.assertEqual(desired.warnings, ["--prefix ZZ_ matched no variable of the environment."])

    def test_secret_names(self):
        path = self.file(".env", "A=1\nB=2\nTRIGGER_SECRET_KEY=x\n")
        desired = collect(Sources(env_files=[path], secret_names=["B"]))
        self.assertEqual(
            {n: v.secret for n, v in desired.variables.items()}, {"A": False, "B": True}
        )
        desired = collect(Sources(env_files=[path], all_secret=True))
        self.assertTrue(all(v.secret for v in desired.variables.values()))
        with self.assertRaises(SourceError) as caught:
            collect(Sources(env_files=[path], secret_names=["TYPO", "TRIGGER_SECRET_KEY", "a-b"]))
        self.assertEqual(
            caught.exception.problems,
            [
                "--secret TRIGGER_SECRET_KEY: TRIGGER_SECRET_KEY is reserved and never synced.",
                "--secret TYPO: TYPO is not defined by any source.",
                "--secret 'a-b' is not a valid name.",
            ],
        )

    def test_every_problem_at_once(self):
        bad = self.file("bad.env", b"A=\xff\n")
        empty = self.file("empty.env", "E=\n")
        with self.assertRaises(SourceError) as caught:
            collect(Sources(env_files=[bad, empty, self.dir / "nope.env"], environ_names=["UNSET"]))
        self.assertEqual(len(caught.exception.problems), 4, caught.exception.problems)
        self.assertTrue(str(caught.exception).startswith("4 problems in the sources:\n  - "))

    def test_value_reprs_hide_values(self):
        desired = collect(Sources(settings_envvars={"A": "s3cret"}))
        self.assertNotIn("s3cret", repr(desired))

    def test_sources_repr_shows_names_and_counts_only(self):
        sources = Sources(
            env_files=[".env"],
            settings_envvars={"API_KEY": "s3cret-setting"},
            environ={"HOME": "/root", "DB_PASSWORD": "s3cret-env"},
            environ_names=["DB_PASSWORD"],
            secret_names=["API_KEY"],
        )
        text = repr(sources)
        self.assertNotIn("s3cret", text)
        self.assertNotIn("/root", text)
        self.assertEqual(
            text,
            "Sources(env_files=['.env'], settings_envvars=['API_KEY'], "
            "environ=<2 variables>, environ_names=['DB_PASSWORD'], prefixes=[], "
            "secret_names=['API_KEY'])",
        )


class LineBreakTests(TempFiles, SimpleTestCase):
    """Lines end at \\n, \\r\\n and \\r only (python-dotenv's rule); the other characters
    ``str.splitlines()`` splits at stay in the value and are refused in a name."""

    OTHER_BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]

    def test_other_line_breaks_stay_in_the_value(self):
        for char in self.OTHER_BREAKS:
            with self.subTest(char=hex(ord(char))):
                path = self.file(".env", f"A=one{char}B=two\nC='x{char}y'\nD=\"p{char}q\"\n")
                definitions, problems, _warnings = read_dotenv(path)
                self.assertEqual(problems, [])
                self.assertEqual(
                    [(d.name, d.value, d.origin.line) for d in definitions],
                    [("A", f"one{char}B=two", 1), ("C", f"x{char}y", 2), ("D", f"p{char}q", 3)],
                )

    def test_line_ends(self):
        path = self.file(".env", b"A=1\r\nB=2\rC=3\nD=4")
        definitions, problems, _warnings = read_dotenv(path)
        self.assertEqual(problems, [])
        self.assertEqual(
            [(d.name, d.value, d.origin.line) for d in definitions],
            [("A", "1", 1), ("B", "2", 2), ("C", "3", 3), ("D", "4", 4)],
        )

    def test_a_break_character_in_a_name_is_an_error(self):
        for char in self.OTHER_BREAKS:
            with self.subTest(char=hex(ord(char))):
                path = self.file(".env", f"A{char}B=secret-value\n")
                _definitions, problems, _warnings = read_dotenv(path)
                self.assertEqual(len(problems), 1)
                self.assertIn(f"the control character U+{ord(char):04X}", problems[0])
                self.assertNotIn("secret-value", problems[0])

    def test_django_environ_logs_nothing(self):
        """django-environ logs lines it cannot parse with their value: none reach it."""
        path = self.file(".env", "A=one\x0c two-secret\n")
        logger = logging.getLogger("environ")
        previous = logger.level
        logger.setLevel(logging.DEBUG)
        self.addCleanup(logger.setLevel, previous)
        with self.assertLogs("environ", level="DEBUG") as logs:
            read_dotenv(path)
        self.assertFalse([line for line in logs.output if "two-secret" in line], logs.output)
        self.assertEqual(read_dotenv(path)[0][0].value, "one\x0c two-secret")


class NameEndingInNewlineTests(SimpleTestCase):
    """``$`` matches before a final newline: names are checked with fullmatch."""

    def test_settings_names(self):
        with self.assertRaises(SourceError) as caught:
            collect(Sources(settings_envvars={"NAME\n": "v"}))
        self.assertIn("'NAME\\n' is not a valid name", str(caught.exception))

    def test_from_env_and_secret_names(self):
        with self.assertRaises(SourceError) as caught:
            collect(
                Sources(
                    environ={"NAME\n": "v", "OK": "x"},
                    environ_names=["NAME\n", "OK"],
                    secret_names=["OK\n"],
                )
            )
        text = str(caught.exception)
        self.assertIn("--from-env 'NAME\\n' is not a valid name", text)
        self.assertIn("--secret 'OK\\n' is not a valid name", text)

    def test_prefix_matches_and_prefixes(self):
        desired = collect(Sources(environ={"APP_A\n": "v", "APP_B": "w"}, prefixes=["APP_"]))
        self.assertEqual(list(desired.variables), ["APP_B"])
        self.assertEqual(
            [(s.name, s.reason) for s in desired.skipped], [("APP_A\n", SkipReason.INVALID_NAME)]
        )
        with self.assertRaises(SourceError):
            collect(Sources(environ={"APP_B": "w"}, prefixes=["APP_\n"]))
