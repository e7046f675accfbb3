"""``manage.py trigger_runs export`` at scale: peak memory and throughput of the real command
in its own process, against the emulator (in another process) seeded with N runs.

    python bench/runs_export.py                       # 10,000 then 100,000 runs, CSV and JSONL
    python bench/runs_export.py --runs 100000 --formats jsonl

For each size the emulator is started with that many runs in the dev environment, and the
command runs as ``python -m django trigger_runs export --from 2000-01-01 --output FILE`` in a
child process. Reported per export: runs written, requests (pages of 100), wall time, runs per
second, and the child's peak resident memory (``wait4`` rusage of that process alone: Python,
Django and the command). Constant memory means the peak does not grow with the number of runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from client_bench import start_emulator  # noqa: E402

SETTINGS = """\
SECRET_KEY = "bench"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django_trigger"]
DATABASES = {{}}
TRIGGER = {{"default": {{"ACCESS_TOKEN": {key!r}, "API_URL": {url!r}}}}}
"""


def export(directory: Path, url: str, key: str, fmt: str) -> dict[str, float]:
    (directory / "bench_settings.py").write_text(SETTINGS.format(key=key, url=url))
    output = directory / f"runs.{fmt}"
    output.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django",
            "trigger_runs",
            "export",
            "--from",
            "2000-01-01",
            "--format",
            fmt,
            "--output",
            str(output),
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"export failed: {error}")
    lines = sum(1 for _ in output.open("rb"))
    runs = lines - (1 if fmt == "csv" else 0)
    # ru_maxrss is in KiB on Linux.
    return {
        "runs": runs,
        "seconds": elapsed,
        "rate": runs / elapsed,
        "peak_mib": usage.ru_maxrss / 1024,
        "size_mib": output.stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs",
        type=int,
        action="append",
        help="runs to seed (repeatable; default 10,000 and 100,000)",
    )
    parser.add_argument("--formats", nargs="+", default=["csv", "jsonl"])
    args = parser.parse_args()
    sizes = args.runs or [10_000, 100_000]
    print("trigger_runs export, emulator on loopback (separate processes)")
    print(
        f"{'seeded':>8} {'format':>6} {'runs':>8} {'pages':>6} {'wall':>8} {'runs/s':>8} "
        f"{'peak RSS':>9} {'file':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            server = start_emulator(size)
            try:
                for fmt in args.formats:
                    r = export(Path(tmp), server.base_url, server.secret_key, fmt)
                    pages = -(-int(r["runs"]) // 100)
                    print(
                        f"{size:>8} {fmt:>6} {int(r['runs']):>8} {pages:>6} "
                        f"{r['seconds']:>7.1f}s {r['rate']:>8.0f} {r['peak_mib']:>7.1f}MiB "
                        f"{r['size_mib']:>7.1f}MiB",
                        flush=True,
                    )
            finally:
                server.stop()


if __name__ == "__main__":
    main()
