#!/usr/bin/env bash
# Set up alignsim from nothing: find a Python >= 3.12, create .venv, install the package with
# everything the tests need. Idempotent: re-installs only when pyproject.toml changed.
#   scripts/bootstrap.sh            # package, demo, notebooks and test tools
#   scripts/bootstrap.sh --browser  # also Debian's chromium for the browser test (needs root/apt)
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  local c
  for c in "${ALIGNSIM_PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && py_ok "$(command -v "$c")"; then command -v "$c"; return; fi
  done
  local roots=()
  command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
  roots+=("${PYENV_ROOT:-$HOME/.pyenv}" /root/.pyenv /usr/local /opt/python)
  for r in "${roots[@]}"; do
    for c in "$r"/versions/3.1[2-9]*/bin/python3.1[2-9] "$r"/bin/python3.1[2-9]; do
      if [ -x "$c" ] && py_ok "$c"; then echo "$c"; return; fi
    done
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! py_ok .venv/bin/python; then
  PY=$(find_python) || { echo "bootstrap: error: no Python >= 3.12 found (set ALIGNSIM_PYTHON=/path/to/python3.12)" >&2; exit 2; }
  echo "bootstrap: creating .venv with $PY ($("$PY" --version))"
  rm -rf .venv
  "$PY" -m venv .venv
fi

stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat .venv/.alignsim-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "bootstrap: installing alignsim and its dependencies into .venv (first time: several minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  echo "$stamp" > .venv/.alignsim-stamp
fi

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian's chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "bootstrap: warning: /usr/bin/chromium missing and apt-get unavailable (not root): the browser test will be skipped" >&2
  fi
fi
