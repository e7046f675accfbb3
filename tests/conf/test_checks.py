"""System checks: every id, compared as exact check messages (anymail's tests/test_checks.py)."""

from __future__ import annotations

import os
import re

from django.core import checks
from django.core.checks import Error, Warning
from django.test import override_settings

from django_trigger.checks import check_settings
from django_trigger.conf import CHECK_IDS

from .utils import (
    ALL_TOKENS,
    DEV_KEY,
    OAT,
    PAT,
    PREVIEW_KEY,
    PROD_KEY,
    PROJECT_REF,
    STG_KEY,
    ConfTestCase,
    environment,
    without_trigger_setting,
)

HINTS = {code: hint for code, (_level, hint) in CHECK_IDS.items()}


def error(code: str, msg: str, hint: str | None = None) -> Error:
    return Error(msg, hint=hint or HINTS[code], id=f"django_trigger.{code}")


def warning(code: str, msg: str, hint: str | None = None) -> Warning:
    return Warning(msg, hint=hint or HINTS[code], id=f"django_trigger.{code}")


def run(trigger, **settings) -> list[checks.CheckMessage]:
    with override_settings(TRIGGER=trigger, **settings):
        return check_settings()


def alias(**options):
    return {"default": options}


class RegistrationTests(ConfTestCase):
    def test_registered_by_ready(self):
        with override_settings(TRIGGER="nope"):
            messages = checks.run_checks()
        self.assertIn(error("E001", "TRIGGER must be a dict, not str."), messages)

    def test_valid_settings_have_no_messages(self):
        self.assertEqual(check_settings(), [])  # tests/settings.py
        self.assertEqual(
            run(
                {
                    "default": {
                        "ACCESS_TOKEN": PROD_KEY,
                        "ENVIRONMENT": "production",
                        "PROJECT_REF": PROJECT_REF,
                        "RETRY": {"MAX_ATTEMPTS": 1},
                    },
                    "ops": {"ACCESS_TOKEN": PAT, "PROJECT_REF": PROJECT_REF, "ENVIRONMENT": "stg"},
                    "preview": {"ACCESS_TOKEN": PREVIEW_KEY, "PREVIEW_BRANCH": "feat"},
                    "local": {"ACCESS_TOKEN": DEV_KEY, "API_URL": "http://[::1]:3030"},
                }
            ),
            [],
        )

    def test_every_id_is_documented(self):
        with open(os.path.join(os.path.dirname(__file__), "../../docs/configuration.md")) as f:
            documented = set(re.findall(r"django_trigger\.([EW]\d{3})", f.read()))
        self.assertEqual(documented, set(CHECK_IDS))
        for code, (level, hint) in CHECK_IDS.items():
            self.assertEqual(level, checks.ERROR if code[0] == "E" else checks.WARNING)
            self.assertTrue(hint.endswith("."), code)


class StructureChecksTests(ConfTestCase):
    def test_e001_trigger_not_a_dict(self):
        self.assertEqual(run(None), [error("E001", "TRIGGER must be a dict, not NoneType.")])

    def test_e002_alias_not_a_dict(self):
        self.assertEqual(
            run({"default": {"ACCESS_TOKEN": DEV_KEY}, "ops": [PAT], 3: {}}),
            [
                error("E002", "TRIGGER['ops'] must be a dict, not list."),
                error("E002", "TRIGGER alias 3 is not a non-empty string."),
            ],
        )

    def test_e003_no_default_alias(self):
        self.assertEqual(
            run({"ops": {"ACCESS_TOKEN": DEV_KEY}}),
            [error("E003", "TRIGGER has no 'default' alias (aliases: 'ops').")],
        )
        self.assertEqual(
            run({}), [error("E003", "TRIGGER has no 'default' alias (aliases: none).")]
        )

    def test_e004_unknown_keys_with_did_you_mean(self):
        self.assertEqual(
            run(
                alias(
                    ACCESS_TOKEN=DEV_KEY,
                    TIMOUT=5,
                    api_url="x",
                    ZZZ=1,
                    RETRY={"MAX_ATEMPTS": 2, "BACKOFF": 2},
                )
            ),
            [
                error(
                    "E004",
                    "Unknown key 'TIMOUT' in TRIGGER['default'].",
                    "Did you mean 'TIMEOUT'? Remove the key or fix its spelling.",
                ),
                error(
                    "E004",
                    "Unknown key 'api_url' in TRIGGER['default'].",
                    "Did you mean 'API_URL'? Remove the key or fix its spelling.",
                ),
                error(
                    "E004",
                    "Unknown key 'ZZZ' in TRIGGER['default'].",
                    "Known keys: ACCESS_TOKEN, ADMIN_CACHE_TIMEOUT, ADMIN_DEADLINE, API_URL, "
                    "CONNECT_TIMEOUT, DASHBOARD_URL, DEADLINE, ENVIRONMENT, ENVVARS, HEADERS, "
                    "MAX_RESPONSE_SIZE, NOT_FOUND_RETRY_BUDGET, POOL_MAXSIZE, PREVIEW_BRANCH, "
                    "PROJECT_REF, RATE_LIMIT_CACHE, RETRY, TIMEOUT, WEBHOOK_SECRET. "
                    "Remove the key or fix its spelling.",
                ),
                error(
                    "E004",
                    "Unknown key 'MAX_ATEMPTS' in TRIGGER['default']['RETRY'].",
                    "Did you mean 'MAX_ATTEMPTS'? Remove the key or fix its spelling.",
                ),
                error(
                    "E004",
                    "Unknown key 'BACKOFF' in TRIGGER['default']['RETRY'].",
                    "Known keys: FACTOR, MAX_ATTEMPTS, MAX_DELAY, MIN_DELAY, RANDOMIZE. "
                    "Remove the key or fix its spelling.",
                ),
            ],
        )


class TokenChecksTests(ConfTestCase):
    def test_e005_no_token(self):
        self.assertEqual(
            run({"default": {}, "ops": {"PROJECT_REF": PROJECT_REF}}),
            [
                error(
                    "E005",
                    "No Trigger.dev access token: set TRIGGER['default']"
                    "['ACCESS_TOKEN'] (or the TRIGGER_SECRET_KEY or TRIGGER_ACCESS_TOKEN "
                    "environment variable).",
                ),
                error("E005", "No Trigger.dev access token: set TRIGGER['ops']['ACCESS_TOKEN']."),
            ],
        )

    def test_e005_without_trigger_setting(self):
        with without_trigger_setting():
            self.assertEqual(
                check_settings(),
                [
                    error(
                        "E005",
                        "No Trigger.dev access token: set TRIGGER['default']"
                        "['ACCESS_TOKEN'] (or the TRIGGER_SECRET_KEY or TRIGGER_ACCESS_TOKEN "
                        "environment variable).",
                    )
                ],
            )

    def test_e006_not_a_trigger_token(self):
        self.assertEqual(
            run(
                {
                    "default": {"ACCESS_TOKEN": "sk_live_0123456789abcdefWXYZ"},
                    "ops": {"ACCESS_TOKEN": "tr_dev_AbCdEf GhIjKlMnOpQrSt1234"},
                }
            ),
            [
                error(
                    "E006",
                    "TRIGGER['default']['ACCESS_TOKEN'] (…WXYZ) is not a Trigger.dev access token.",
                ),
                error("E006", "TRIGGER['ops']['ACCESS_TOKEN'] (tr_dev_…1234) contains whitespace."),
            ],
        )

    def test_e006_names_the_environment_variable(self):
        with (
            environment(TRIGGER_SECRET_KEY="pk_dev_0123456789abcdefWXYZ"),
            without_trigger_setting(),
        ):
            self.assertEqual(
                check_settings(),
                [
                    error(
                        "E006",
                        "The TRIGGER_SECRET_KEY environment variable (…WXYZ) is not a "
                        "Trigger.dev access token.",
                    )
                ],
            )

    def test_e007_personal_token_without_project_ref(self):
        self.assertEqual(
            run({"default": {"ACCESS_TOKEN": PAT}, "org": {"ACCESS_TOKEN": OAT}}),
            [
                error(
                    "E007",
                    "TRIGGER['default']['ACCESS_TOKEN'] is a personal or organization "
                    "access token (tr_pat_…7890), which needs a project: PROJECT_REF is not "
                    "set.",
                ),
                error(
                    "E007",
                    "TRIGGER['org']['ACCESS_TOKEN'] is a personal or organization "
                    "access token (tr_oat_…4321), which needs a project: PROJECT_REF is not "
                    "set.",
                ),
            ],
        )

    def test_e008_secret_key_contradicts_environment(self):
        self.assertEqual(
            run(
                {
                    "default": {"ACCESS_TOKEN": STG_KEY, "ENVIRONMENT": "prod"},
                    "same": {"ACCESS_TOKEN": STG_KEY, "ENVIRONMENT": "stg"},
                    "pat": {"ACCESS_TOKEN": PAT, "ENVIRONMENT": "prod", "PROJECT_REF": PROJECT_REF},
                }
            ),
            [
                error(
                    "E008",
                    "TRIGGER['default']['ACCESS_TOKEN'] is a staging secret key "
                    "(tr_stg_…5678) but ENVIRONMENT is 'prod'.",
                )
            ],
        )

    def test_e009_preview_key_without_branch(self):
        self.assertEqual(
            run(alias(ACCESS_TOKEN=PREVIEW_KEY, ENVIRONMENT="preview")),
            [
                error(
                    "E009",
                    "TRIGGER['default']['ACCESS_TOKEN'] is a preview secret key "
                    "(tr_preview_…3456) but PREVIEW_BRANCH is not set.",
                )
            ],
        )
        with environment(TRIGGER_PREVIEW_BRANCH="feat"):
            self.assertEqual(run(alias(ACCESS_TOKEN=PREVIEW_KEY)), [])

    def test_w002_unknown_token_kind(self):
        self.assertEqual(
            run(alias(ACCESS_TOKEN="tr_new_0123456789abcdefWXYZ")),
            [
                warning(
                    "W002",
                    "TRIGGER['default']['ACCESS_TOKEN'] (tr_new_…WXYZ) is not a kind "
                    "of token this version knows.",
                )
            ],
        )

    def test_w003_branch_ignored_by_staging_and_production_keys(self):
        self.assertEqual(
            run(
                {
                    "default": {"ACCESS_TOKEN": PROD_KEY, "PREVIEW_BRANCH": "feat"},
                    "dev": {"ACCESS_TOKEN": DEV_KEY, "PREVIEW_BRANCH": "feat"},
                }
            ),
            [
                warning(
                    "W003",
                    "TRIGGER['default']['PREVIEW_BRANCH'] is ignored: the access token "
                    "is a prod secret key (tr_prod_…9012).",
                )
            ],
        )

    def test_tokens_never_appear_in_messages(self):
        messages = []
        for token in ALL_TOKENS:
            messages += run(
                {
                    "default": {
                        "ACCESS_TOKEN": token,
                        "ENVIRONMENT": "nope",
                        "PREVIEW_BRANCH": 1,
                        token: 1,
                        "PROJECT_REF": token,
                        "RETRY": {token: 1, "FACTOR": token},
                        "TIMEOUT": token,
                        "CONNECT_TIMEOUT": [token],
                        "HEADERS": {"X": token, "Y": 1},
                    },
                    "wrong": {
                        "ACCESS_TOKEN": " ".join(token),
                        "ENVIRONMENT": token,
                        "API_URL": f"http://u:{token}@example.com",
                    },
                }
            )
        self.assertGreater(len(messages), 20)
        text = "\n".join(str(m) for m in messages)
        for token in ALL_TOKENS:
            self.assertNotIn(token, text)
            self.assertNotIn(token[7:], text)  # not even without its prefix


class ValueChecksTests(ConfTestCase):
    def test_e010_environment(self):
        self.assertEqual(
            run(alias(ACCESS_TOKEN=DEV_KEY, ENVIRONMENT="live")),
            [
                error(
                    "E010",
                    "TRIGGER['default']['ENVIRONMENT'] must be dev, staging (or stg), "
                    "prod or preview, not 'live'.",
                )
            ],
        )
        self.assertEqual(
            run(alias(ACCESS_TOKEN=DEV_KEY, ENVIRONMENT=["dev"])),
            [error("E010", "TRIGGER['default']['ENVIRONMENT'] must be a string, not list.")],
        )

    def test_e011_timeouts(self):
        self.assertEqual(
            run(alias(ACCESS_TOKEN=DEV_KEY, TIMEOUT=0, CONNECT_TIMEOUT="5")),
            [
                error(
                    "E011",
                    "TRIGGER['default']['TIMEOUT'] must be a positive number of seconds, not 0.",
                ),
                error(
                    "E011",
                    "TRIGGER['default']['CONNECT_TIMEOUT'] must be a positive number "
                    "of seconds, not '5'.",
                ),
            ],
        )
        self.assertEqual(
            run(alias(ACCESS_TOKEN=DEV_KEY, TIMEOUT=float("inf"), CONNECT_TIMEOUT=(1, 2))),
            [
                error(
                    "E011",
                    "TRIGGER['default']['TIMEOUT'] must be a positive number of seconds, not inf.",
                ),
                error(
                    "E011",
                    "TRIGGER['default']['CONNECT_TIMEOUT'] must be a positive number "
                    "of seconds, not tuple.",
                ),
            ],
        )

    def test_e012_retry(self):
        self.assertEqual(
            run(
                {
                    "default": {"ACCESS_TOKEN": DEV_KEY, "RETRY": 3},
                    "ops": {
                        "ACCESS_TOKEN": DEV_KEY,
                        "RETRY": {"MAX_ATTEMPTS": 0, "MIN_DELAY": 5, "MAX_DELAY": 1},
                    },
                }
            ),
            [
                error("E012", "TRIGGER['default']['RETRY'] must be a dict, not int."),
                error(
                    "E012",
                    "TRIGGER['ops']['RETRY']: invalid retry policy: max_attempts must "
                    "be an integer >= 1, not 0; max_delay must not be smaller than min_delay.",
                ),
            ],
        )
        self.assertEqual(
            run(alias(ACCESS_TOKEN=DEV_KEY, RETRY={"FACTOR": "2", "MIN_DELAY": [1]})),
            [
                error("E012", "TRIGGER['default']['RETRY']['FACTOR'] must be a number, not '2'."),
                error(
                    "E012", "TRIGGER['default']['RETRY']['MIN_DELAY'] must be a number, not list."
                ),
            ],
        )

    def test_e013_urls(self):
        self.assertEqual(
            run(
                alias(
                    ACCESS_TOKEN=DEV_KEY,
                    API_URL="api.trigger.dev",
                    DASHBOARD_URL="https://u:p@cloud.trigger.dev",
                )
            ),
            [
                error(
                    "E013",
                    "TRIGGER['default']['API_URL'] must be an absolute http:// or "
                    "https:// URL with a host.",
                ),
                error(
                    "E013",
                    "TRIGGER['default']['DASHBOARD_URL'] must not contain credentials "
                    "(user:password@).",
                ),
            ],
        )
        with environment(TRIGGER_API_URL="https://api.trigger.dev/?x=1"):
            self.assertEqual(
                run(alias(ACCESS_TOKEN=DEV_KEY)),
                [
                    error(
                        "E013",
                        "The TRIGGER_API_URL environment variable must not contain "
                        "a query string or a fragment.",
                    )
                ],
            )

    def test_e014_headers(self):
        self.assertEqual(
            run(
                {
                    "default": {"ACCESS_TOKEN": DEV_KEY, "HEADERS": {"X-A": 1}},
                    "b": {"ACCESS_TOKEN": DEV_KEY, "HEADERS": [("X-A", "1")]},
                    "c": {"ACCESS_TOKEN": DEV_KEY, "HEADERS": {"authorization": "Bearer x"}},
                }
            ),
            [
                error("E014", "TRIGGER['default']['HEADERS'] must map X-A to a string, not int."),
                error("E014", "TRIGGER['b']['HEADERS'] must be a dict, not list."),
                error(
                    "E014",
                    "TRIGGER['c']['HEADERS'] must not set Authorization (the token is "
                    "ACCESS_TOKEN / access_token).",
                ),
            ],
        )

    def test_e015_not_a_string(self):
        self.assertEqual(
            run(alias(ACCESS_TOKEN=b"tr_dev_x", PREVIEW_BRANCH=7)),
            [
                error("E015", "TRIGGER['default']['ACCESS_TOKEN'] must be a string, not bytes."),
                error("E020", "TRIGGER['default']['PREVIEW_BRANCH'] must be a string, not int."),
            ],
        )

    def test_e016_project_ref_with_a_dotenv_comment(self):
        with environment(TRIGGER_PROJECT_REF=f"{PROJECT_REF} # production"):
            self.assertEqual(
                run(alias(ACCESS_TOKEN=DEV_KEY)),
                [
                    error(
                        "E016",
                        "The TRIGGER_PROJECT_REF environment variable is not a project ref "
                        f"(proj_…): '{PROJECT_REF} # production'.",
                    )
                ],
            )

    def test_e016_project_ref(self):
        self.assertEqual(
            run(
                {
                    "default": {"ACCESS_TOKEN": PAT, "PROJECT_REF": "my-project"},
                    "b": {"ACCESS_TOKEN": DEV_KEY, "PROJECT_REF": 12},
                }
            ),
            [
                error(
                    "E016",
                    "TRIGGER['default']['PROJECT_REF'] is not a project ref (proj_…): "
                    "'my-project'.",
                ),  # and no E007 "PROJECT_REF is not set"
                error("E016", "TRIGGER['b']['PROJECT_REF'] must be a string, not int."),
            ],
        )


class TransportChecksTests(ConfTestCase):
    def test_w001_plain_http_to_a_remote_host_without_debug(self):
        self.assertEqual(
            run(alias(ACCESS_TOKEN=DEV_KEY, API_URL="http://trigger.internal:3030")),
            [
                warning(
                    "W001",
                    "TRIGGER['default']['API_URL'] uses plain http:// (host "
                    "'trigger.internal') while DEBUG is off: the access token would cross the "
                    "network unencrypted.",
                )
            ],
        )

    def test_w001_not_for_loopback_https_or_debug(self):
        for url in (
            "http://127.0.0.1:8000",
            "http://127.3.4.5",
            "http://[::1]:3030",
            "http://localhost:3030",
            "http://trigger.localhost",
            "https://example.com",
        ):
            with self.subTest(url=url):
                self.assertEqual(run(alias(ACCESS_TOKEN=DEV_KEY, API_URL=url)), [])
        self.assertEqual(
            run(alias(ACCESS_TOKEN=DEV_KEY, API_URL="http://trigger.internal"), DEBUG=True), []
        )

    def test_w001_from_the_environment(self):
        with environment(TRIGGER_API_URL="http://10.0.0.5"):
            self.assertEqual(
                run(alias(ACCESS_TOKEN=DEV_KEY)),
                [
                    warning(
                        "W001",
                        "The TRIGGER_API_URL environment variable uses plain http:// "
                        "(host '10.0.0.5') while DEBUG is off: the access token would cross "
                        "the network unencrypted.",
                    )
                ],
            )
