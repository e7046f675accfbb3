#!/usr/bin/env bash
# Install django-trigger and its demo into .venv, then start the demo: the example project's
# admin on http://127.0.0.1:8000/admin/ talking to a seeded local emulator (offline).
#
#   ./demo.sh                  install (first run only) and start the demo
#   ./demo.sh --install-only   install, do not start
#   PORT=8001 ./demo.sh        another port for the example project
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
stamp=.venv/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)

if [ ! -f "$stamp" ]; then
  echo "== installing into .venv (once)"
  [ -d .venv ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi

exec .venv/bin/python example_project/manage.py trigger_demo --port "${PORT:-8000}"
