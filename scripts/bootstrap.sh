#!/usr/bin/env bash
# Set up alignsim from nothing: find a Python >= 3.12, create .venv, install the package.
# Idempotent: re-installs only when pyproject.toml changed or a larger set of extras is asked for.
#   scripts/bootstrap.sh                  # the package alone: enough for `alignsim` (make run)
#   scripts/bootstrap.sh --lab            # + the notebooks extra: JupyterLab, game, demo (make lab)
#   scripts/bootstrap.sh --dev            # + everything the tests need (make test, make lint)
#   scripts/bootstrap.sh --dev --browser  # also Debian's chromium for the browser test (root/apt)
# Why levels: the `game` extra (pygambit) has no wheel for every Python and compiles for minutes;
# only the equilibrium tools, the notebooks and the tests need it.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
level=0   # 0: the package, 1: [notebooks], 2: [dev] (each includes the one before)
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    --lab) [ "$level" -ge 1 ] || level=1 ;;
    --dev) level=2 ;;
    *) echo "bootstrap: error: unknown option '$arg'; allowed: --lab, --dev, --browser" >&2; exit 2 ;;
  esac
done
extras=("" "[notebooks]" "[dev]")

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

# the stamp records the pyproject.toml it was installed from and the level of extras
stamp=$(cat pyproject.toml setup.py constraints.txt | sha256sum | cut -d' ' -f1)
read -r have_stamp have_level 2>/dev/null < .venv/.alignsim-stamp || true
if [ "${have_stamp:-}" != "$stamp" ] || [ "${have_level:-0}" -lt "$level" ]; then
  [ "${have_level:-0}" -le "$level" ] || level=$have_level   # never drop extras installed before
  echo "bootstrap: installing alignsim${extras[$level]} and its dependencies into .venv (first time: about a minute for make run, a few for make test)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # -c: the versions the tests passed with (constraints.txt, `make lock` regenerates it)
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".${extras[$level]}"
  echo "$stamp $level" > .venv/.alignsim-stamp
fi

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian's chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "bootstrap: warning: /usr/bin/chromium missing and apt-get unavailable (not root): the browser test will be skipped" >&2
  fi
fi
