"""How many HTTP requests ``manage.py trigger_sync_envvars`` makes for 1,000 variables.

    python bench/envsync_requests.py                 # 1,000 variables
    python bench/envsync_requests.py --variables 5000

Runs the real command (``call_command``) against the emulator on loopback and counts the
requests from the emulator's journal, per scenario, on one environment:

1. first push of N new variables;
2. the same again, with ``--no-verify``, into a fresh environment;
3. a re-run when already in sync;
4. 10 % of the values changed;
5. half of the names pushed as secrets (``--secret``), into a fresh environment;
6. ``--prune --dry-run`` and ``--prune --check`` with remote names to delete (50 stale ones
   plus the emulator's 6 seeded ones), then ``--prune`` itself.

Wall times are for one process on loopback (the emulator's own work included), a rough guide.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django
from django.conf import settings


def configure(base_settings: dict) -> None:
    settings.configure(
        INSTALLED_APPS=["django_trigger"],
        DATABASES={},
        USE_TZ=True,
        TRIGGER={"default": base_settings},
    )
    django.setup()


def run(emu, *args: str) -> dict:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    emu.journal.clear()
    started = time.perf_counter()
    code = 0
    try:
        call_command(
            "trigger_sync_envvars",
            *args,
            "--no-input",
            "-v",
            "0",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            stdin=io.StringIO(),
        )
    except CommandError as err:
        code = err.returncode
    elapsed = time.perf_counter() - started
    entries = emu.journal.entries
    methods = Counter(entry.method for entry in entries)
    imports = [entry for entry in entries if entry.path.endswith("/import")]
    body = max((len(json.dumps(entry.body)) for entry in imports), default=0)
    return {
        "exit": code,
        "requests": len(entries),
        "by_method": dict(methods),
        "seconds": elapsed,
        "largest_import_bytes": body,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variables", type=int, default=1000)
    options = parser.parse_args(argv)
    count = options.variables

    from django_trigger.testing import Emulator

    with Emulator(seed=1, runs=0) as emu, tempfile.TemporaryDirectory() as tmp:
        configure(
            emu.client_settings(
                ACCESS_TOKEN=emu.access_token, ENVIRONMENT="dev", RETRY={"MAX_ATTEMPTS": 1}
            )
        )
        from django_trigger.conf import trigger_settings

        trigger_settings.reload()
        names = [f"BENCH_VAR_{i:05d}" for i in range(count)]
        base = Path(tmp) / "base.env"
        base.write_text("".join(f"{n}=value-{i}-{'x' * 24}\n" for i, n in enumerate(names)))
        changed = Path(tmp) / "changed.env"
        changed.write_text(
            "".join(
                f"{n}=value-{i}-{'y' if i % 10 == 0 else 'x'}{'x' * 23}\n"
                for i, n in enumerate(names)
            )
        )
        secrets = ",".join(names[: count // 2])

        def extra_remote(how_many: int) -> None:
            with emu.state.lock:
                env = emu.state.environments_by_public_slug(emu.project_ref)["dev"]
                for i in range(how_many):
                    emu.state.envvars.set(env, f"STALE_{i:03d}", "old")

        rows = []
        rows.append(("first push", run(emu, "--env-file", str(base))))
        emu.reset()
        rows.append(("first push, --no-verify", run(emu, "--env-file", str(base), "--no-verify")))
        rows.append(("re-run, in sync", run(emu, "--env-file", str(base))))
        rows.append(("10 % changed", run(emu, "--env-file", str(changed))))
        emu.reset()
        rows.append(("half as --secret", run(emu, "--env-file", str(base), "--secret", secrets)))
        emu.reset()
        run(emu, "--env-file", str(base))
        extra_remote(50)
        rows.append(
            ("--prune --dry-run", run(emu, "--env-file", str(base), "--prune", "--dry-run"))
        )
        rows.append(("--prune --check", run(emu, "--env-file", str(base), "--prune", "--check")))
        pruned = run(emu, "--env-file", str(base), "--prune")
        rows.append((f"--prune, {pruned['by_method'].get('DELETE', 0)} to delete", pruned))

    print(f"trigger_sync_envvars, {count:,} variables, one environment (emulator on loopback)")
    print(f"{'scenario':<26} {'exit':>4} {'requests':>8}  {'by method':<28} {'time':>8}")
    for label, row in rows:
        methods = ", ".join(f"{m} {n}" for m, n in sorted(row["by_method"].items()))
        print(
            f"{label:<26} {row['exit']:>4} {row['requests']:>8}  {methods:<28} "
            f"{row['seconds'] * 1000:>6.0f} ms"
        )
    largest = max(row["largest_import_bytes"] for _label, row in rows)
    print(f"largest import body: {largest:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
