"""Every internal error code the emulator puts on a run is one the SDK knows: its
``TaskRunErrorCodes`` enum, read from the installed ``@trigger.dev/core`` (``TRIGGER_SDK_DIR``,
as tests/emulator/test_official_sdk.py; skipped without it). A code outside the enum makes the
SDK's zod parse of a run result fail."""

from __future__ import annotations

import re
import unittest

from django_trigger.testing.resources.runs import FINAL_STATUS_ERROR_CODES, _final_status_error

from .base import EmulatorCase
from .test_official_sdk import SDK_DIR

COMMON_JS = SDK_DIR / "node_modules/@trigger.dev/core/dist/esm/v3/schemas/common.js"


def sdk_error_codes() -> set[str]:
    source = COMMON_JS.read_text(encoding="utf-8")
    block = re.search(
        r"TaskRunInternalError = z\.object\(\{\s*type: z\.literal\(\"INTERNAL_ERROR\"\),"
        r"\s*code: z\.enum\(\[(.*?)\]\)",
        source,
        re.S,
    )
    assert block, f"no TaskRunInternalError code enum in {COMMON_JS}"
    return set(re.findall(r'"([A-Z0-9_]+)"', block.group(1)))


@unittest.skipUnless(
    COMMON_JS.is_file(),
    "set TRIGGER_SDK_DIR to a directory where `npm install @trigger.dev/sdk` ran",
)
class SeededErrorCodesTests(EmulatorCase):
    def test_the_enum_is_read(self):
        codes = sdk_error_codes()
        self.assertIn("TASK_RUN_CANCELLED", codes)
        self.assertGreater(len(codes), 30)

    def test_every_seeded_and_final_status_code_is_in_the_sdk_enum(self):
        known = sdk_error_codes()
        used = {}
        for env in self.emu.state.environments.values():
            with self.emu.state.lock:
                runs = self.emu.state.runs.in_environment(env.id)
            for run in runs:
                if run.error and run.error.get("type") == "INTERNAL_ERROR":
                    used.setdefault(run.error["code"], run.friendly_id)
        # Every final status without an error of its own, as the result route renders it.
        for status in (*FINAL_STATUS_ERROR_CODES, "EXPIRED", "SOMETHING_ELSE"):
            error = _final_status_error(status)
            if error["type"] == "INTERNAL_ERROR":
                used.setdefault(error["code"], status)
        self.assertIn("TASK_EXECUTION_ABORTED", used)  # the seeded INTERRUPTED runs
        self.assertEqual({code: w for code, w in used.items() if code not in known}, {})
