"""Every message of ``trigger_sync_envvars`` (and of the envsync messages it shows) goes through
gettext, and what machines read does not.

Two checks, because each misses what the other sees:

- a pseudo-locale at run time: a catalog that turns every letter of a message into its
  fullwidth form (``Applied`` → ``Ａｐｐｌｉｅｄ``), placeholders kept. Any ASCII word left in the
  output is text that did not go through gettext, also when it was put into a translated
  sentence through a placeholder (a wrapping marker would hide that);
- the source, statically: prose in a string literal of the command or of envsync, outside a
  gettext call, fails, also on code paths the scenarios below do not reach.
"""

from __future__ import annotations

import ast
import gettext as gettext_module
import json
import os
import re
import string
from pathlib import Path
from unittest import mock

from django.core.management.base import BaseCommand
from django.test import SimpleTestCase
from django.utils import translation
from django.utils.translation import trans_real

import django_trigger.envsync
from django_trigger.management.commands import trigger_sync_envvars
from django_trigger.management.commands.trigger_sync_envvars import Command

from .base import SyncTestCase
from .test_command import SEEDED_DEV

PSEUDO = "x-pseudo"
_PLACEHOLDER = re.compile(r"(%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%%)")
_FULLWIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in string.ascii_letters})


def pseudo(message: str) -> str:
    parts = _PLACEHOLDER.split(message)
    return "".join(part if i % 2 else part.translate(_FULLWIDTH) for i, part in enumerate(parts))


class PseudoTranslation(gettext_module.NullTranslations):
    """The catalog of the pseudo-language: every message "translated"."""

    def gettext(self, message: str) -> str:
        # pgettext asks for "context\x04message"; a translation never carries the context.
        return pseudo(message.split(trans_real.CONTEXT_SEPARATOR)[-1])

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)

    def to_language(self) -> str:
        return PSEUDO


class PseudoLocaleTests(SyncTestCase):
    def setUp(self) -> None:
        super().setUp()
        # Django keeps one catalog per language in this cache; ours has no .mo file to load.
        patcher = mock.patch.dict(trans_real._translations, {PSEUDO: PseudoTranslation()})
        patcher.start()
        self.addCleanup(patcher.stop)

    def sync(self, *args: str, **kwargs):
        with translation.override(PSEUDO):
            return super().sync(*args, **kwargs)

    def assertTranslated(self, text: str, data: list[str]) -> None:
        """After removing ``data`` (names, targets, paths: not messages), no ASCII word is
        left: everything else went through gettext."""
        rest = re.sub(r"^  HTTP .*$", "", text, flags=re.M)  # logs are not translated
        # API errors come from the client, not from these messages.
        rest = re.sub(r"\d{3} [^(\n]*\((?:GET|POST|DELETE) [^)]*\)", "", rest)
        rest = re.sub(re.escape(str(self.dir)) + r"/[\w.]+", " ", rest)  # files
        rest = re.sub(re.escape(self.emu.project_ref) + r"/\w+", " ", rest)  # targets
        for item in sorted({*data, "Trigger.dev"}, key=len, reverse=True):
            rest = rest.replace(item, " ")
        self.assertEqual(re.findall(r"[A-Za-z]{2,}", rest), [], f"not translated in:\n{text}")

    def test_plan_sources_warnings_and_skips(self):
        path = self.env_file(
            "NEW=a #b\nLOG_LEVEL=warning \nSLACK_API_KEY=x\nTRIGGER_SECRET_KEY=tr_dev_x\nEMPTY=\n"
        )
        with mock.patch.dict(os.environ, {"APP_ONE": "1", "APP_TWO": "2"}):
            result = self.sync(
                "--env-file",
                path,
                "--prefix",
                "APP_",
                "--secret",
                "APP_ONE",
                "--allow-empty",
                "--dry-run",
                "-v",
                "2",
            )
        self.assertEqual(result.code, 0, result.text)
        out = result.stdout
        self.assertIn(pseudo("Dry run: nothing was written."), out)
        self.assertIn(
            "5 "
            + pseudo("variables from ")
            + path
            + " (5 "
            + pseudo("definitions)")
            + " < environment (--prefix APP_) (2 "
            + pseudo("definitions) (lowest precedence first)."),
            out,
        )
        self.assertIn(pseudo("value differs"), out)  # a plan's reason, translated when shown
        self.assertIn(
            pseudo("reserved: Trigger.dev sets it itself and silently drops it on write"), out
        )  # an envsync explanation
        self.assertIn("~ " + pseudo("update"), out)
        self.assertTranslated(
            out,
            [
                *SEEDED_DEV,
                "NEW",
                "TRIGGER_SECRET_KEY",
                "EMPTY",
                "APP_ONE",
                "APP_TWO",
                "environment (--prefix APP_)",
            ],
        )

    def test_confirm_apply_verify(self):
        path = self.env_file("REGION=other\nNEW=n\nSLACK_API_KEY=x\n")
        result = self.sync("--env-file", path, "--prune", "--secret", "NEW", "-v", "2", stdin="y\n")
        self.assertEqual(result.code, 0, result.text)
        self.assertIn(" [y/N] ", result.stdout)  # the answers stay y/yes
        self.assertEqual(set(self.remote()), {"REGION", "NEW", "SLACK_API_KEY"})
        self.assertTranslated(
            result.stdout.replace("=true", "").replace("=false", ""), [*SEEDED_DEV, "NEW"]
        )

    def test_failure(self):
        path = self.env_file("REGION=local\nNEW=n\n")
        self.emu.faults.fail_next(
            1,
            500,
            headers={"x-should-retry": "false"},
            method="DELETE",
            path=self.path(suffix="/FEATURE_FLAGS"),
        )
        result = self.sync("--env-file", path, "--prune", "--no-input")
        self.assertEqual(result.code, 1)
        self.assertIn(pseudo("delete %(name)s") % {"name": "FEATURE_FLAGS"}, result.stdout)
        self.assertTranslated(result.text, [*SEEDED_DEV, "NEW"])

    def test_bad_input(self):
        path = self.env_file("A=1\nB = 2\nA=3\nC=\n", "one.env")
        result = self.sync(
            "--env-file",
            path,
            "--env-file",
            str(self.dir / "missing.env"),
            "--secret",
            "NOPE",
            "--branch",
            "x",
            "--prune",
        )
        self.assertEqual(result.code, 1)
        self.assertEqual(len(self.journal), 0)
        self.assertIn(pseudo("Nothing was sent:"), result.message)
        self.assertTranslated(
            result.message, ["one.env", "missing.env", "NOPE", "No such file or directory"]
        )  # from the OS

    def test_check_and_cancel(self):
        path = self.env_file("NEW=n\n")
        result = self.sync("--env-file", path, "--check")
        self.assertEqual(result.code, 3)
        self.assertTranslated(result.text, [*SEEDED_DEV, "NEW"])
        result = self.sync("--env-file", path, "--prune", stdin="n\n")
        self.assertEqual(result.code, 1)
        self.assertTranslated(result.text, [*SEEDED_DEV, "NEW"])

    def test_json_codes_stay_english_and_its_prose_is_translated(self):
        path = self.env_file("REGION=other\nNEW=n #x\nTRIGGER_SECRET_KEY=tr_dev_x\n")
        result = self.sync("--env-file", path, "--format", "json", "--no-input")
        self.assertEqual(result.code, 0, result.text)
        document = json.loads(result.stdout)
        changes = {c["name"]: c for c in document["targets"][0]["plan"]["changes"]}
        self.assertEqual((changes["NEW"]["action"], changes["NEW"]["reason"]), ("create", "new"))
        self.assertEqual(changes["REGION"]["reason"], "value differs")
        self.assertEqual(changes["LOG_LEVEL"]["reason"], "not in the sources")
        self.assertEqual(document["skipped"][0]["reason"], "reserved")
        self.assertEqual(document["skipped"][0]["source"], f"{path}:3")
        [warning] = document["warnings"]
        self.assertTrue(warning.startswith(f"{path}:2: " + pseudo("the value of")), warning)

    def test_help(self):
        with translation.override(PSEUDO):
            parser = Command().create_parser("manage.py", "trigger_sync_envvars")
            own = [a for a in parser._actions if a.dest not in _base_destinations()]
            helps = {a.dest: str(a.help) for a in own}
            titles = [str(group.title) for group in parser._action_groups]
            description = str(parser.description)
            text = parser.format_help()  # argparse takes the lazy texts
        self.assertEqual(len(own), 21)
        self.assertEqual(
            helps["check"],
            pseudo(
                "Plan only; exit %(drift)d when there is anything to create, update or delete "
                "(for CI)."
            )
            % {"drift": 3},
        )
        for dest, help_text in helps.items():
            # argparse's own placeholder is kept for it to fill in.
            words = re.findall(r"[A-Za-z]{2,}", help_text.replace("%(default)s", ""))
            self.assertEqual(words, [], dest)
        self.assertIn(pseudo("(default: ") + "default)", " ".join(text.split()))
        self.assertEqual(description, pseudo(str(Command.help_text)))
        for title in ("sources", "targets", "behaviour"):
            self.assertIn(pseudo(title), titles)


def _base_destinations() -> set[str]:
    parser = BaseCommand().create_parser("manage.py", "base")
    return {action.dest for action in parser._actions}


# -- the source ---------------------------------------------------------------------------------

GETTEXT_CALLS = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
    "gettext_noop",
}
# Calls whose string arguments are not messages: names, log set-up, source labels (which key
# the JSON like file paths do).
NOT_MESSAGES = {"getLogger", "Formatter", "Origin", "type"}


def _is_prose(text: str) -> bool:
    """Words meant for people: a word of two letters or more, and a space or a final
    punctuation mark (``Cancelled.``, ``delete %(name)s``); not ``exit_code``, ``json``,
    ``Trigger.dev``, ``%(where)s: %(problem)s``."""
    text = _PLACEHOLDER.sub("X", text)
    return bool(re.search(r"\b[A-Za-z][a-z]+\b", text)) and bool(
        re.search(r"[a-z]\W*\s+\W*[A-Za-z]|[A-Za-z][.:!?)]\s*$", text)
    )


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def untranslated(source: str) -> list[tuple[int, str]]:
    """(line, text) of every prose literal outside a gettext call, a docstring, a dict key,
    a subscript, a comparison, an enum member, or a non-message argument."""
    tree = ast.parse(source)
    skip: set[int] = set()

    def skip_all(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(child) for child in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            skip_all(body[0])  # docstring
        if isinstance(node, ast.Call):
            name = _name(node.func)
            regex = isinstance(node.func, ast.Attribute) and _name(node.func.value) == "re"
            if name in GETTEXT_CALLS or name in NOT_MESSAGES or regex:
                skip_all(node)
            elif name in ("add_argument", "add_argument_group"):
                for arg in node.args:
                    skip_all(arg)  # option strings (a group title is checked below)
                for keyword in node.keywords:
                    if keyword.arg != "help":
                        skip_all(keyword.value)
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                skip_all(key)
        elif isinstance(node, (ast.Subscript, ast.Compare)):
            skip_all(node.slice if isinstance(node, ast.Subscript) else node)
        elif isinstance(node, ast.ClassDef) and any(_name(base) == "Enum" for base in node.bases):
            for member in node.body:  # the values, not the methods
                if isinstance(member, ast.Assign):
                    skip_all(member)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _is_prose(node.value):
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "%(x)s" for v in node.values)
            skip_all(node)
            if _is_prose(text):
                found.append((node.lineno, text))
    return found


def unwrapped_help(source: str) -> list[int]:
    """Lines of option help texts, group titles and the command's help that are not a
    gettext call (a single word like a group title is no "prose" but still shown)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        values: list[ast.expr] = []
        if isinstance(node, ast.Call) and _name(node.func) == "add_argument":
            values = [k.value for k in node.keywords if k.arg == "help"]
        elif isinstance(node, ast.Call) and _name(node.func) == "add_argument_group":
            values = node.args[:1]
        elif isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") in ("help", "help_text") for t in node.targets
        ):
            values = [node.value]
        for value in values:
            call = value.left if isinstance(value, ast.BinOp) else value
            if not (isinstance(call, ast.Call) and _name(call.func) in GETTEXT_CALLS):
                lines.append(value.lineno)
    return lines


def sources() -> list[Path]:
    envsync = sorted(Path(django_trigger.envsync.__file__).parent.glob("*.py"))
    return [Path(trigger_sync_envvars.__file__), *envsync]


class SourceTests(SimpleTestCase):
    def test_no_prose_outside_gettext(self):
        self.assertEqual(len(sources()), 6)
        for path in sources():
            with self.subTest(path=path.name):
                self.assertEqual(untranslated(path.read_text(encoding="utf-8")), [])

    def test_help_texts_are_translations(self):
        # Options' texts are translated as the parser is built (test_help), the description
        # lazily (help_text).
        source = Path(trigger_sync_envvars.__file__).read_text(encoding="utf-8")
        self.assertEqual(unwrapped_help(source), [])
        self.assertGreaterEqual(source.count("help=_(") + source.count("add_argument_group(_("), 20)
        self.assertIn("help_text = gettext_lazy(", source)

    def test_the_checks_catch_what_they_are_for(self):
        """Each way of adding an untranslated message is caught (the checks can fail)."""
        caught = [
            'self.say("Nothing to do.")',
            'self.say(f"{count} variables left")',
            'raise CommandError(f"Could not reach {target}: {err}")',
            'problems.append("--branch must not be empty.")',
            'step = f"delete {change.name}"',
            'class R(str, enum.Enum):\n    A = "a"\n    def text(self):\n        return "an a."',
            'self.say(_("Plan for %(target)s:") % {"target": f"{target} (branch main)"})',
            'x = "Cancelled."',
        ]
        for line in caught:
            with self.subTest(line=line):
                self.assertNotEqual(untranslated(line), [])
        for line in [
            'self.say(_("Nothing to do."))',
            'x = options["dry_run"]',
            'parser.add_argument("--format", choices=["text", "json"], help=_("X."))',
            'self.say(f"  ! {item.name}  {item.origin}: {item.reason.explanation}")',
            'logging.Formatter("  HTTP %(message)s")',
            'x = {"exit_code": 1}',
            'return "Trigger.dev"',
            'class R(str, enum.Enum):\n    A = "not applied"',
            'x = f"{where}: {problem}"',
        ]:
            with self.subTest(line=line):
                self.assertEqual(untranslated(line), [])
        self.assertEqual(unwrapped_help('p.add_argument("--x", help="Do it.")'), [1])
        self.assertEqual(unwrapped_help('p.add_argument_group("sources")'), [1])
        self.assertEqual(unwrapped_help('p.add_argument("--x", help=gettext_lazy("Do."))'), [])
        # The pseudo-locale leaves ASCII only in what did not go through it.
        self.assertEqual(pseudo("%(count)d to create%%"), "%(count)d ｔｏ ｃｒｅａｔｅ%%")
