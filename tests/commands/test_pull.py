"""``manage.py trigger_pull_envvars`` over real HTTP against the emulator: the file reads back
(with the project's own dotenv reader, and through trigger_sync_envvars) as exactly the remote
values, secrets become placeholders, nothing is overwritten or printed unasked."""

from __future__ import annotations

import json

from django_trigger.envsync import read_dotenv

from .base import SyncTestCase

TRICKY = {
    "PLAIN": "simple",
    "SINGLE_QUOTE": "it's",
    "DOUBLE_QUOTES": 'say "hi"',
    "DOUBLE_QUOTED": '"wrapped"',
    "BOTH": "'\"mixed\"'",
    "BACKSLASHES": "C:\\path\\n\\t\\",
    "HASH": "value # not a comment",
    "LEADING_HASH": "#fff",
    "DOLLAR": "$HOME ${USER} $$",
    "UNICODE": "ünïcødé ☃ 日本",
    "SPACES": "  padded  ",
    "EQUALS": "a=b=c",
    "OTHER_BREAKS": "a\x0bb\u2028c",
}


class PullTests(SyncTestCase):
    def pull(self, *args: str):
        return self.command("trigger_pull_envvars", *args)

    def test_round_trip_of_tricky_values(self):
        for name, value in TRICKY.items():
            self.set_remote(name, value)
        remote = {name: value for name, (value, secret) in self.remote().items() if not secret}
        path = self.dir / ".env"
        result = self.pull("--output", str(path))
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.requests(), [("GET", self.path())])
        for parse_comments in (False, True):
            definitions, problems, _warnings = read_dotenv(path, parse_comments=parse_comments)
            self.assertEqual(problems, [])
            self.assertEqual({d.name: d.value for d in definitions}, remote)
        for value in TRICKY.values():
            self.assertNotIn(value, result.stdout)
        # And the sync command, fed the pulled file, finds nothing to change.
        check = self.sync("--env-file", str(path), "--check")
        self.assertEqual(check.code, 0, check.text)

    def test_secrets_are_commented_placeholders(self):
        path = self.dir / ".env"
        result = self.pull("--output", str(path))
        self.assertEqual(result.code, 0, result.text)
        text = path.read_text()
        self.assertIn("# SLACK_API_KEY=  (secret in Trigger.dev", text)
        self.assertIn("# DATABASE_URL=", text)
        self.assertNotIn("<redacted>", text)
        self.assertIn("secrets cannot be read back from Trigger.dev", result.stdout)
        self.assertIn("DATABASE_URL, SLACK_API_KEY", result.stdout)
        names = {d.name for d in read_dotenv(path)[0]}
        self.assertNotIn("SLACK_API_KEY", names)

    def test_line_breaks_are_reported_not_mangled(self):
        self.set_remote("CERT", "-----BEGIN-----\nabc\n-----END-----")
        path = self.dir / ".env"
        result = self.pull("--output", str(path))
        self.assertEqual(result.code, 0, result.text)
        self.assertIn("# CERT=  (its value holds a line break", path.read_text())
        self.assertNotIn("BEGIN", path.read_text())
        self.assertIn("1 value holds a line break", result.stdout)

    def test_refuses_to_overwrite_without_force(self):
        path = self.dir / ".env"
        path.write_text("MINE=1\n")
        result = self.pull("--output", str(path))
        self.assertEqual(result.code, 1)
        self.assertIn("exists: pass --force", result.message)
        self.assertEqual(path.read_text(), "MINE=1\n")
        self.assertEqual(self.requests(), [])
        forced = self.pull("--output", str(path), "--force")
        self.assertEqual(forced.code, 0, forced.text)
        self.assertIn("REGION='local'", path.read_text())
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)

    def test_values_only_on_stdout_when_asked(self):
        quiet = self.pull("--output", str(self.dir / "a.env"))
        self.assertNotIn("local", quiet.stdout)
        self.assertNotIn("debug", quiet.stdout)
        shown = self.pull("--output", str(self.dir / "b.env"), "--show-values")
        self.assertIn('REGION="local"', shown.stdout)
        to_stdout = self.pull("--output", "-")
        self.assertIn("REGION='local'", to_stdout.stdout)
        self.assertIn("written to stdout", to_stdout.stderr)
        document = json.loads(
            self.pull("--output", str(self.dir / "c.env"), "--format", "json").stdout
        )
        self.assertIn("REGION", document["written"])
        self.assertNotIn("values", document)
        self.assertNotIn("local", json.dumps(document))

    def test_other_environment_needs_a_personal_token(self):
        result = self.pull("-e", "prod", "--output", str(self.dir / "p.env"))
        self.assertEqual(result.code, 1)
        self.assertIn("Nothing was sent", result.message)
        self.assertEqual(self.requests(), [])
        with self.pat_settings():
            result = self.pull("-e", "prod", "--output", str(self.dir / "p.env"))
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.requests(), [("GET", self.path("prod"))])

    def test_wrong_key_and_unreachable_api(self):
        with self.settings(ACCESS_TOKEN="tr_dev_" + "x" * 24):
            result = self.pull("--output", str(self.dir / "x.env"))
        self.assertEqual(result.code, 1)
        self.assertIn("Could not list the variables", result.message)
        self.assertIn("401", result.message)
        self.assertFalse((self.dir / "x.env").exists())
        with self.settings(API_URL="http://127.0.0.1:9", RETRY={"MAX_ATTEMPTS": 1}):
            result = self.pull("--output", str(self.dir / "x.env"))
        self.assertEqual(result.code, 1)
        self.assertFalse((self.dir / "x.env").exists())
