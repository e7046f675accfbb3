"""trigger_settings: defaults, cleaning, environment fallbacks, .env files, reloads."""

from __future__ import annotations

import os
import sys
import tempfile
from unittest import mock

import environ
from django.test import SimpleTestCase, override_settings

from django_trigger import conf
from django_trigger.conf import ClientSettings, trigger_settings
from django_trigger.exceptions import ConfigurationError
from django_trigger.options import RetryPolicy

from .utils import (
    ALL_TOKENS,
    DEV_KEY,
    PAT,
    PREVIEW_KEY,
    PROD_KEY,
    PROJECT_REF,
    STG_KEY,
    ConfTestCase,
    environment,
    without_trigger_setting,
)


class DefaultsTests(ConfTestCase):
    @override_settings(TRIGGER={"default": {"ACCESS_TOKEN": DEV_KEY}})
    def test_unset_keys_get_defaults(self):
        config = trigger_settings.get()
        self.assertEqual(
            dict(config),
            {
                "ACCESS_TOKEN": DEV_KEY,
                "API_URL": "https://api.trigger.dev",
                "PROJECT_REF": None,
                "ENVIRONMENT": None,
                "PREVIEW_BRANCH": None,
                "TIMEOUT": 60.0,
                "CONNECT_TIMEOUT": 10.0,
                "DEADLINE": 90.0,
                "NOT_FOUND_RETRY_BUDGET": 1.0,
                "MAX_RESPONSE_SIZE": 32 * 1024 * 1024,
                "POOL_MAXSIZE": 32,
                "RETRY": RetryPolicy(
                    max_attempts=5, factor=1.6, min_delay=1.0, max_delay=30.0, randomize=False
                ),
                "HEADERS": {},
                "DASHBOARD_URL": None,
                "ENVVARS": None,
                "ADMIN_CACHE_TIMEOUT": None,
                "WEBHOOK_SECRET": None,
                "ADMIN_DEADLINE": 10.0,
                "RATE_LIMIT_CACHE": None,
            },
        )
        self.assertEqual(config.problems, ())
        self.assertEqual(trigger_settings.problems, ())
        self.assertEqual(config.alias, "default")

    def test_every_key_is_a_default_and_a_documented_setting(self):
        with open(os.path.join(os.path.dirname(__file__), "../../docs/configuration.md")) as f:
            docs = f.read()
        for key in conf.DEFAULTS:
            self.assertIn(f"`{key}`", docs)
        for key in conf.RETRY_KEYS:
            self.assertIn(f"`{key}`", docs)
        self.assertEqual(set(conf.CLIENT_ARGUMENTS) - set(conf.DEFAULTS), set())
        self.assertEqual(set(conf.CLEANERS) - set(conf.DEFAULTS), set())
        self.assertIsNone(conf.DEFAULTS["DASHBOARD_URL"])  # derived from API_URL

    @override_settings(
        TRIGGER={
            "default": {
                "ACCESS_TOKEN": f"  {STG_KEY}\n",
                "API_URL": "https://trigger.example.com/base/",
                "PROJECT_REF": PROJECT_REF,
                "ENVIRONMENT": "STG",
                "PREVIEW_BRANCH": "feature/x",
                "TIMEOUT": 30,
                "CONNECT_TIMEOUT": 2.5,
                "RETRY": {"MAX_ATTEMPTS": 2, "RANDOMIZE": True},
                "HEADERS": {"X-Team": "ops"},
                "DASHBOARD_URL": "https://dash.example.com/",
            }
        }
    )
    def test_values_are_cleaned(self):
        config = trigger_settings.get()
        self.assertEqual(config["ACCESS_TOKEN"], STG_KEY)  # surrounding whitespace dropped
        self.assertEqual(config["API_URL"], "https://trigger.example.com/base")
        self.assertEqual(config["ENVIRONMENT"], "staging")
        self.assertEqual(config["TIMEOUT"], 30.0)
        self.assertIsInstance(config["TIMEOUT"], float)
        self.assertEqual(config["RETRY"], RetryPolicy(max_attempts=2, randomize=True))
        self.assertEqual(config["DASHBOARD_URL"], "https://dash.example.com")
        # PREVIEW_BRANCH with a staging key is only a warning; nothing blocks.
        self.assertEqual([p.id for p in config.problems], ["django_trigger.W003"])
        self.assertEqual(
            config.client_kwargs(),
            {
                "access_token": STG_KEY,
                "base_url": "https://trigger.example.com/base",
                "project_ref": PROJECT_REF,
                "environment": "staging",
                "preview_branch": "feature/x",
                "timeout": 30.0,
                "connect_timeout": 2.5,
                "deadline": 90.0,
                "not_found_retry_budget": 1.0,
                "max_response_size": 32 * 1024 * 1024,
                "pool_maxsize": 32,
                "retry": RetryPolicy(max_attempts=2, randomize=True),
                "headers": {"X-Team": "ops"},
                "dashboard_url": "https://dash.example.com",
                "alias": "default",
            },
        )

    @override_settings(TRIGGER={"default": {"ACCESS_TOKEN": DEV_KEY, "RETRY": RetryPolicy(1)}})
    def test_retry_policy_object_accepted(self):
        self.assertEqual(trigger_settings.get()["RETRY"], RetryPolicy(max_attempts=1))

    @override_settings(TRIGGER={"default": {"ACCESS_TOKEN": DEV_KEY, "TIMEOUT": "soon"}})
    def test_invalid_value_keeps_the_default(self):
        config = trigger_settings.clients["default"]
        self.assertEqual(config["TIMEOUT"], 60.0)
        self.assertEqual([p.id for p in config.problems], ["django_trigger.E011"])

    @override_settings(
        TRIGGER={
            "default": {"ACCESS_TOKEN": DEV_KEY},
            "other": {"ACCESS_TOKEN": PAT, "PROJECT_REF": PROJECT_REF},
        }
    )
    def test_settings_are_read_only_and_defaults_are_not_shared(self):
        config = trigger_settings.get()
        with self.assertRaises(TypeError):
            config["TIMEOUT"] = 1  # type: ignore[index]
        config["HEADERS"]["X-Mutated"] = "1"
        self.assertEqual(trigger_settings.get("other")["HEADERS"], {})
        self.assertEqual(conf.DEFAULTS["HEADERS"], {})

    @override_settings(TRIGGER={"default": {"ACCESS_TOKEN": DEV_KEY, "EXAMPLE_FEATURE_KEY": 5}})
    def test_a_feature_key_is_one_line_in_defaults(self):
        self.assertEqual(
            [p.id for p in trigger_settings.problems], ["django_trigger.E004"]
        )  # unknown until declared
        with mock.patch.dict(conf.DEFAULTS, {"EXAMPLE_FEATURE_KEY": 30}):
            trigger_settings.reload()
            self.assertEqual(trigger_settings.get()["EXAMPLE_FEATURE_KEY"], 5)
            self.assertEqual(trigger_settings.problems, ())
            with override_settings(TRIGGER={"default": {"ACCESS_TOKEN": DEV_KEY}}):
                self.assertEqual(trigger_settings.get()["EXAMPLE_FEATURE_KEY"], 30)
        trigger_settings.reload()

    def test_nothing_is_read_before_first_use(self):
        fresh = conf.TriggerSettings()
        with mock.patch.object(conf, "_build_state", wraps=conf._build_state) as build:
            self.assertEqual(build.call_count, 0)
            fresh.get()
            fresh.problems
            fresh.clients
            self.assertEqual(build.call_count, 1)
            fresh.reload()
            fresh.get()
            self.assertEqual(build.call_count, 2)


class SecretsTests(ConfTestCase):
    def test_repr_redacts_the_token(self):
        with override_settings(
            TRIGGER={
                "default": {"ACCESS_TOKEN": DEV_KEY},
                "ops": {"ACCESS_TOKEN": PAT, "PROJECT_REF": PROJECT_REF},
            }
        ):
            config = trigger_settings.get()
            self.assertEqual(
                repr(config),
                "<ClientSettings 'default': token=tr_dev_…1234, "
                "api_url='https://api.trigger.dev', project_ref=None, environment=None>",
            )
            text = repr(trigger_settings.clients) + str(trigger_settings.get("ops"))
            self.assertNotIn(DEV_KEY, text)
            self.assertNotIn(PAT, text)

    def test_no_token_in_problems_or_errors(self):
        # Tokens in every place a message could echo one.
        bad = {
            "ACCESS_TOKEN": PREVIEW_KEY,
            "ENVIRONMENT": PAT,
            "PROJECT_REF": PROD_KEY,
            "API_URL": f"https://user:{STG_KEY}@example.com",
            "HEADERS": {"Authorization": f"Bearer {DEV_KEY}"},
            DEV_KEY: 1,  # a token pasted as a key
        }
        with override_settings(TRIGGER={"default": bad}):
            problems = trigger_settings.problems
            self.assertGreaterEqual(len(problems), 5)
            with self.assertRaises(ConfigurationError) as caught:
                trigger_settings.get()
        text = repr(problems) + str(caught.exception)
        self.assertIn("tr_preview_…3456", text)
        for token in ALL_TOKENS:
            self.assertNotIn(token, text)


class EnvironmentFallbackTests(ConfTestCase):
    def test_no_trigger_setting_reads_everything_from_the_environment(self):
        with (
            environment(
                TRIGGER_SECRET_KEY=PREVIEW_KEY,
                TRIGGER_API_URL="http://localhost:3030/",
                TRIGGER_PROJECT_REF=PROJECT_REF,
                TRIGGER_PREVIEW_BRANCH="feature-x",
            ),
            without_trigger_setting(),
        ):
            self.assertEqual(list(trigger_settings.clients), ["default"])
            config = trigger_settings.get()
            self.assertEqual(config["ACCESS_TOKEN"], PREVIEW_KEY)
            self.assertEqual(config["API_URL"], "http://localhost:3030")
            self.assertEqual(config["PROJECT_REF"], PROJECT_REF)
            self.assertEqual(config["PREVIEW_BRANCH"], "feature-x")
            self.assertEqual(config["TIMEOUT"], 60.0)
            self.assertEqual(config.problems, ())

    def test_secret_key_wins_over_access_token(self):
        with (
            environment(TRIGGER_SECRET_KEY=DEV_KEY, TRIGGER_ACCESS_TOKEN=PAT),
            without_trigger_setting(),
        ):
            self.assertEqual(trigger_settings.get()["ACCESS_TOKEN"], DEV_KEY)
        with (
            environment(TRIGGER_SECRET_KEY="  ", TRIGGER_ACCESS_TOKEN=PROD_KEY),
            without_trigger_setting(),
        ):
            self.assertEqual(trigger_settings.get()["ACCESS_TOKEN"], PROD_KEY)

    def test_settings_win_and_unset_or_blank_values_fall_back(self):
        trigger = {
            "default": {
                "ACCESS_TOKEN": None,
                "PROJECT_REF": "",
                "API_URL": "https://mine.example.com",
            }
        }
        with (
            environment(
                TRIGGER_SECRET_KEY=DEV_KEY,
                TRIGGER_PROJECT_REF=PROJECT_REF,
                TRIGGER_API_URL="https://env.example.com",
            ),
            override_settings(TRIGGER=trigger),
        ):
            config = trigger_settings.get()
            self.assertEqual(config["ACCESS_TOKEN"], DEV_KEY)
            self.assertEqual(config["PROJECT_REF"], PROJECT_REF)
            self.assertEqual(config["API_URL"], "https://mine.example.com")

    def test_only_the_default_alias_falls_back(self):
        trigger = {"default": {}, "other": {}}
        with environment(TRIGGER_SECRET_KEY=DEV_KEY), override_settings(TRIGGER=trigger):
            self.assertEqual(trigger_settings.get()["ACCESS_TOKEN"], DEV_KEY)
            self.assertIsNone(trigger_settings.clients["other"]["ACCESS_TOKEN"])
            self.assertEqual(
                [(p.id, p.alias) for p in trigger_settings.problems],
                [("django_trigger.E005", "other")],
            )

    def test_values_are_read_raw(self):
        # django-environ's get_value() would resolve "$feature" as a reference to a variable
        # named "feature" (and return None for a missing one).
        with (
            environment(TRIGGER_SECRET_KEY=f"{DEV_KEY}\n", TRIGGER_PREVIEW_BRANCH="$feature"),
            without_trigger_setting(),
        ):
            config = trigger_settings.get()
            self.assertEqual(config["PREVIEW_BRANCH"], "$feature")
            self.assertEqual(config["ACCESS_TOKEN"], DEV_KEY)

    def test_environment_changes_need_reload(self):
        with environment(TRIGGER_SECRET_KEY=DEV_KEY), without_trigger_setting():
            self.assertEqual(trigger_settings.get()["ACCESS_TOKEN"], DEV_KEY)
            os.environ["TRIGGER_SECRET_KEY"] = PROD_KEY
            self.assertEqual(trigger_settings.get()["ACCESS_TOKEN"], DEV_KEY)
            trigger_settings.reload()
            self.assertEqual(trigger_settings.get()["ACCESS_TOKEN"], PROD_KEY)

    def test_dotenv_file_read_by_settings(self):
        # What a settings.py does: environ.Env.read_env(BASE_DIR / ".env").
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as f:
            f.write(
                "# Trigger.dev\n"
                f"TRIGGER_SECRET_KEY={PAT}\n"
                f"TRIGGER_PROJECT_REF='{PROJECT_REF}'\n"
                'TRIGGER_API_URL="https://trigger.example.com/"\n'
                "TRIGGER_PREVIEW_BRANCH=$feature\n"
            )
        self.addCleanup(os.unlink, f.name)
        with environment(), without_trigger_setting():
            environ.Env.read_env(f.name)
            trigger_settings.reload()
            config = trigger_settings.get()
            self.assertEqual(config["ACCESS_TOKEN"], PAT)
            self.assertEqual(config["PROJECT_REF"], PROJECT_REF)
            self.assertEqual(config["API_URL"], "https://trigger.example.com")
            self.assertEqual(config["PREVIEW_BRANCH"], "$feature")  # not None
            self.assertIsNone(environ.Env().str("TRIGGER_PREVIEW_BRANCH", default=None))
        self.assertNotIn("TRIGGER_SECRET_KEY", os.environ)  # environment() restored it

    def test_no_token_anywhere(self):
        with without_trigger_setting():
            with self.assertRaisesMessage(
                ConfigurationError,
                "No Trigger.dev access token: set TRIGGER['default']['ACCESS_TOKEN'] (or the "
                "TRIGGER_SECRET_KEY or TRIGGER_ACCESS_TOKEN environment variable). HINT: Set "
                "ACCESS_TOKEN to a secret key (tr_dev_…, tr_prod_…) or a personal access token "
                "(tr_pat_…). (django_trigger.E005)",
            ):
                trigger_settings.get()


class ReloadTests(ConfTestCase):
    def test_override_settings_takes_effect_and_is_undone(self):
        before = trigger_settings.get()
        with override_settings(
            TRIGGER={"default": {"ACCESS_TOKEN": PROD_KEY, "API_URL": "https://a.example.com"}}
        ):
            self.assertEqual(trigger_settings.get()["API_URL"], "https://a.example.com")
            self.assertEqual(trigger_settings.get()["ACCESS_TOKEN"], PROD_KEY)
        after = trigger_settings.get()
        self.assertIsNot(after, before)  # rebuilt from the restored setting
        self.assertEqual(dict(after), dict(before))
        self.assertEqual(after["API_URL"], "http://127.0.0.1:9")  # tests/settings.py

    def test_same_object_until_reload(self):
        first = trigger_settings.get()
        self.assertIs(trigger_settings.get(), first)
        trigger_settings.reload()
        self.assertIsNot(trigger_settings.get(), first)

    def test_debug_change_reloads(self):
        trigger = {"default": {"ACCESS_TOKEN": DEV_KEY, "API_URL": "http://trigger.internal"}}
        with override_settings(TRIGGER=trigger):
            self.assertEqual([p.id for p in trigger_settings.problems], ["django_trigger.W001"])
            with override_settings(DEBUG=True):
                self.assertEqual(trigger_settings.problems, ())
            self.assertEqual([p.id for p in trigger_settings.problems], ["django_trigger.W001"])


class GetTests(ConfTestCase):
    TRIGGER = {
        "default": {"ACCESS_TOKEN": DEV_KEY, "API_URL": "http://trigger.internal"},
        "ops": {"ACCESS_TOKEN": PAT},
        "broken": "tr_dev_nope",
    }

    def test_unknown_alias_names_the_configured_ones(self):
        with (
            override_settings(TRIGGER=self.TRIGGER),
            self.assertRaisesMessage(
                ConfigurationError,
                "No Trigger.dev client alias 'staging' in TRIGGER (configured: 'default', 'ops').",
            ),
        ):
            trigger_settings.get("staging")

    def test_errors_block_only_their_alias_and_warnings_never(self):
        with override_settings(TRIGGER=self.TRIGGER):
            self.assertIsInstance(trigger_settings.get(), ClientSettings)  # W001 only
            with self.assertRaisesMessage(ConfigurationError, "(django_trigger.E007)") as caught:
                trigger_settings.get("ops")
            self.assertIn("HINT: Set PROJECT_REF", str(caught.exception))
            with self.assertRaisesMessage(ConfigurationError, "(django_trigger.E002)"):
                trigger_settings.get("broken")
            # Problems are all collected, nothing was raised while reading.
            self.assertEqual(
                [(p.id, p.alias) for p in trigger_settings.problems],
                [
                    ("django_trigger.W001", "default"),
                    ("django_trigger.E007", "ops"),
                    ("django_trigger.E002", "broken"),
                ],
            )

    def test_setting_wide_error_blocks_every_alias(self):
        with override_settings(TRIGGER=["default"]):
            for alias in ("default", "other"):
                with self.assertRaisesMessage(ConfigurationError, "(django_trigger.E001)"):
                    trigger_settings.get(alias)

    def test_missing_default_alias(self):
        with override_settings(TRIGGER={"ops": {"ACCESS_TOKEN": DEV_KEY}}):
            self.assertEqual(trigger_settings.get("ops")["ACCESS_TOKEN"], DEV_KEY)
            with self.assertRaisesMessage(ConfigurationError, "(django_trigger.E003)"):
                trigger_settings.get()

    def test_problem_error_carries_id_and_hint(self):
        with override_settings(
            TRIGGER={"default": {"ACCESS_TOKEN": DEV_KEY, "ENVIRONMENT": "prod"}}
        ):
            problem = trigger_settings.problems[0]
            self.assertTrue(problem.blocking)
            error = problem.error()
            self.assertIsInstance(error, ConfigurationError)
            self.assertEqual(
                str(error),
                "TRIGGER['default']['ACCESS_TOKEN'] is a dev secret key (tr_dev_…1234) but "
                "ENVIRONMENT is 'prod'. HINT: A secret key always acts as its own environment: "
                "use the key of the environment you mean, or fix ENVIRONMENT. "
                "(django_trigger.E008)",
            )


class EnvironmentSourceTests(SimpleTestCase):
    """The environment fallbacks read django-environ's ``Env.ENVIRON`` when django-environ is
    imported (whatever it was replaced with), else ``os.environ``."""

    def test_env_environ_when_django_environ_is_imported(self):
        from django_trigger.conf import _read_env

        original = environ.Env.ENVIRON
        environ.Env.ENVIRON = {"TRIGGER_X": "from-env-environ"}
        self.addCleanup(setattr, environ.Env, "ENVIRON", original)
        self.assertEqual(_read_env(("TRIGGER_X",)), ("from-env-environ", "TRIGGER_X"))
        environ.Env.ENVIRON = {}  # replaced by an empty mapping: nothing, not os.environ
        with mock.patch.dict(os.environ, {"TRIGGER_X": "from-os"}):
            self.assertEqual(_read_env(("TRIGGER_X",)), (None, None))

    def test_os_environ_without_django_environ(self):
        from django_trigger.conf import _read_env

        with (
            mock.patch.dict(sys.modules, {"environ": None}),
            mock.patch.dict(os.environ, {"TRIGGER_X": "from-os"}),
        ):
            self.assertEqual(_read_env(("TRIGGER_X",)), ("from-os", "TRIGGER_X"))
