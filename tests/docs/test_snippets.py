"""Every Python block of the documentation (README.md and docs/**/*.md) runs as shown.

Blocks of one page run in order in one namespace, as a reader pastes them: settings blocks
(those starting ``# settings.py``) in a namespace like a fresh ``startproject`` settings
module, their ``TRIGGER`` is then checked (``manage.py check`` must report no error) and
applied; every other block runs against a seeded emulator, the environment pointing at it
(``TRIGGER_SECRET_KEY``, ``TRIGGER_API_URL``, ``TRIGGER_PROJECT_REF``, ``TRIGGER_OPS_PAT``).

Reference pages use placeholder ids (``"run_..."``, ``"sched_..."``, ``"queue_..."``,
``"batch_..."``, ``"bulk_..."``, ``"waitpoint_..."``, ``"proj_..."``, ``"tr_prod_..."``) and a
few names a reader has in their own code (``run_id``, ``batch_id``, ``user``, ``order``, a
``.env`` file in the current directory):
here they are the emulator's real ids and small stand-ins (``fixtures()``), like the
namespace of a doctest.

A block that cannot run outside a larger context (a view's ``request``, a Celery app, a
TypeScript service) is marked, right before its fence, with ``<!-- no-run: why -->``; the
marking is checked (a reason, a Python block right after it) and the marked blocks counted.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from django.conf import settings
from django.core import checks
from django.test import SimpleTestCase, override_settings

from django_trigger.clients import clients
from django_trigger.conf import trigger_settings
from django_trigger.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)(.*)$")
NO_RUN = re.compile(r"^\s*<!--\s*no-run:(.*?)-->\s*$")
# At most this share of the Python blocks may be marked no-run: the docs show code that runs.
MAX_NO_RUN_SHARE = 0.25


@dataclass
class Block:
    path: Path
    line: int
    code: str
    no_run: str | None  # the reason, when marked

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_settings(self) -> bool:
        return self.code.lstrip().startswith("# settings.py")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def python_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """The Python blocks of one file, and the problems of its no-run markings."""
    blocks: list[Block] = []
    problems: list[str] = []
    lines = path.read_text().splitlines()
    pending: tuple[int, str] | None = None  # a no-run marking waiting for its block
    index = 0
    while index < len(lines):
        line = lines[index]
        marking = NO_RUN.match(line)
        fence = FENCE.match(line)
        if marking:
            reason = marking.group(1).strip()
            if not reason:
                problems.append(f"{path.name}:{index + 1}: no-run without a reason")
            pending = (index + 1, reason)
        elif fence:
            indent, ticks, language = fence.group(1), fence.group(2), fence.group(3)
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(ticks):
                body.append(
                    lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index]
                )
                index += 1
            if language in ("python", "py"):
                blocks.append(
                    Block(
                        path,
                        index - len(body),
                        "\n".join(body) + "\n",
                        pending[1] if pending else None,
                    )
                )
            elif pending:
                problems.append(
                    f"{path.name}:{pending[0]}: no-run before a {language or 'plain'}"
                    " block (only Python blocks run)"
                )
            pending = None
        elif line.strip() and pending:
            problems.append(f"{path.name}:{pending[0]}: no-run not followed by a code block")
            pending = None
        index += 1
    return blocks, problems


def startproject_namespace(base_dir: Path) -> dict[str, Any]:
    """What a settings block can use: the names of a `django-admin startproject` settings.py."""
    return {
        "__name__": "mysite.settings",
        "BASE_DIR": base_dir,
        "Path": Path,
        "DEBUG": True,
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
        ],
    }


class DocumentationSnippetTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.emulator = Emulator(seed=3, runs=30)
        cls.emulator.start()
        cls.addClassCleanup(cls.emulator.stop)

    def setUp(self) -> None:
        self.emulator.reset()
        self.base_dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.base_dir)
        # The reader's project directory: a .env file next to manage.py.
        (self.base_dir / ".env").write_text("REGION=eu\n")
        cwd = os.getcwd()
        os.chdir(self.base_dir)
        self.addCleanup(os.chdir, cwd)
        environment = {
            "TRIGGER_SECRET_KEY": self.emulator.secret_keys["dev"],
            "TRIGGER_API_URL": self.emulator.base_url,
            "TRIGGER_PROJECT_REF": self.emulator.project_ref,
            "TRIGGER_OPS_PAT": self.emulator.access_token,
        }
        patcher = mock.patch.dict(os.environ, environment)
        patcher.start()
        self.addCleanup(patcher.stop)
        for name in ("TRIGGER_ACCESS_TOKEN", "TRIGGER_PREVIEW_BRANCH", "TRIGGER_WEBHOOK_SECRET"):
            os.environ.pop(name, None)

    def apply_settings(self, stack: contextlib.ExitStack, namespace: dict[str, Any]) -> None:
        """Apply what the reader's settings now say (no TRIGGER: the environment only)."""
        trigger = namespace.get("TRIGGER")
        if trigger is None:
            stack.enter_context(override_settings())
            del settings.TRIGGER
        else:
            stack.enter_context(override_settings(TRIGGER=trigger))
        clients.close_all()
        trigger_settings.reload()
        stack.callback(trigger_settings.reload)
        stack.callback(clients.close_all)

    def fixtures(self) -> tuple[dict[str, str], dict[str, Any]]:
        """Placeholder ids -> the emulator's, and the names a page may assume."""
        from django_trigger import get_client

        client = get_client()
        run_id = client.runs.list(status=["COMPLETED"], limit=1).data[0].id
        batch = client.tasks.batch_trigger([{"task": "resize-image", "payload": {"id": 1}}])
        schedule = client.schedules.list().data[0]
        queue = next(iter(client.queues.list()))
        bulk = client.bulk_actions.create("cancel", run_ids=[run_id])
        token = client.waitpoints.create_token(timeout="1d")
        placeholders = {
            "run_...": run_id,
            "batch_...": batch.id,
            "sched_...": schedule.id,
            "queue_...": queue.id,
            "bulk_...": bulk.id,
            "waitpoint_...": token.id,
            "proj_...": self.emulator.project_ref,
            "tr_prod_...": self.emulator.secret_keys["prod"],
        }
        names = {
            "run_id": run_id,
            "batch_id": batch.id,
            "user": SimpleNamespace(pk=7),
            "order": SimpleNamespace(pk=42),
        }
        return placeholders, names

    def run_page(self, blocks: list[Block]) -> list[str]:
        """Run one page's blocks in order; the failures, as "file:line: error"."""
        failures: list[str] = []
        settings_namespace = startproject_namespace(self.base_dir)
        namespace: dict[str, Any] = {"__name__": "docs_snippet"}
        with contextlib.ExitStack() as stack:
            self.emulator.reset()
            self.apply_settings(stack, {})
            placeholders, names = self.fixtures()
            namespace.update(names)
            for block in blocks:
                if block.no_run is not None:
                    continue
                source = block.code
                for placeholder, value in placeholders.items():
                    source = source.replace(f'"{placeholder}"', f'"{value}"')
                try:
                    code = compile(source, block.where, "exec")
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(code, settings_namespace if block.is_settings else namespace)
                    if block.is_settings:
                        failures += self.check_settings(block, stack, settings_namespace)
                except Exception as exc:
                    failures.append(f"{block.where}: {type(exc).__name__}: {exc}")
        return failures

    def check_settings(
        self, block: Block, stack: contextlib.ExitStack, namespace: dict[str, Any]
    ) -> list[str]:
        """Apply the settings a block left in ``namespace``; its failures if checks fail."""
        self.apply_settings(stack, namespace)
        errors = [
            m.id
            for m in checks.run_checks()
            if (m.id or "").startswith("django_trigger.") and m.level >= checks.ERROR
        ]
        return [f"{block.where}: the settings fail checks {errors}"] if errors else []

    def test_settings_blocks_need_only_the_minimal_environment(self):
        """Pasted into a new project whose environment holds only what the minimal
        configuration asks for (``TRIGGER_SECRET_KEY``; no ``.env`` file, no project ref),
        every settings block still imports and passes the checks: issue #13's Configuration
        block stopped the settings import with "Set the TRIGGER_OPS_PAT environment
        variable"."""
        for name in ("TRIGGER_API_URL", "TRIGGER_PROJECT_REF", "TRIGGER_OPS_PAT"):
            del os.environ[name]
        (self.base_dir / ".env").unlink()
        failures: list[str] = []
        settings_blocks = 0
        for path in doc_files():
            namespace = startproject_namespace(self.base_dir)
            with contextlib.ExitStack() as stack:
                for block in python_blocks(path)[0]:
                    if not block.is_settings or block.no_run is not None:
                        continue
                    settings_blocks += 1
                    try:
                        with contextlib.redirect_stdout(io.StringIO()):
                            exec(compile(block.code, block.where, "exec"), namespace)
                        failures += self.check_settings(block, stack, namespace)
                    except Exception as exc:
                        failures.append(f"{block.where}: {type(exc).__name__}: {exc}")
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertGreaterEqual(settings_blocks, 5, "the settings blocks were found")

    def test_every_python_block_runs_or_says_why_not(self):
        total = marked = 0
        problems: list[str] = []
        failures: list[str] = []
        for path in doc_files():
            blocks, file_problems = python_blocks(path)
            problems += file_problems
            total += len(blocks)
            marked += sum(block.no_run is not None for block in blocks)
            failures += self.run_page(blocks)
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertEqual(problems, [])
        self.assertGreater(total, 20, "the Python blocks were found")
        self.assertLessEqual(
            marked, total * MAX_NO_RUN_SHARE, f"{marked} of {total} Python blocks are marked no-run"
        )

    def test_the_marking_is_parsed(self):
        page = self.base_dir / "page.md"
        page.write_text(
            "<!-- no-run: needs a view's request -->\n```python\nrequest.user\n```\n\n"
            "```python\nx = 1\n```\n<!-- no-run: -->\n```sh\nls\n```\n<!-- no-run: x -->\ntext\n"
        )
        blocks, problems = python_blocks(page)
        self.assertEqual(
            [(b.no_run, b.code) for b in blocks],
            [("needs a view's request", "request.user\n"), (None, "x = 1\n")],
        )
        self.assertEqual(
            problems,
            [
                "page.md:9: no-run without a reason",
                "page.md:9: no-run before a sh block (only Python blocks run)",
                "page.md:13: no-run not followed by a code block",
            ],
        )
