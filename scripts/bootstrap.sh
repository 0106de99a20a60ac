# Sourced by scripts/serve and scripts/test: make .venv and install Switchboard into it from a
# pinned lock (requirements/serve.lock or requirements/test.lock; refresh them with scripts/lock).
# Every dependency is installed at its locked version with its hash checked; Switchboard itself
# is then installed editable without dependencies or an isolated build. Re-installs only when
# the lock or pyproject.toml changed (a stamp file remembers their hash).
#
# The installer is uv (pinned and hash-checked in requirements/uv.lock, installed with pip into
# .tools/uv): it installs the ~100 locked wheels in seconds where pip took minutes on a fresh
# machine (docs/decisions.md). The locks stay the one source of truth: uv installs exactly them,
# --require-hashes, --no-deps, from PyPI. Without a uv wheel for this platform, pip does it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"
LOCK="$ROOT/requirements/${EXTRAS:-serve}.lock"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Switchboard needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -f "$LOCK" ]; then
  echo "No lock file $LOCK; run scripts/lock to make one." >&2
  exit 1
fi

source "$ROOT/scripts/uv.sh"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.switchboard-installed-${EXTRAS:-serve}"
want="$(cat "$LOCK" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing Switchboard's locked dependencies (${LOCK#"$ROOT"/}) into $VENV ..." >&2
  UV="$(locked_uv)"
  if [ -n "$UV" ]; then
    "$UV" pip install --quiet --python "$VENV/bin/python" --require-hashes --no-deps -r "$LOCK"
    "$UV" pip install --quiet --python "$VENV/bin/python" --no-deps --no-build-isolation \
      -e "$ROOT"
  else
    echo "Installing with pip instead (slower)." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
      --no-deps -r "$LOCK"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
      --no-build-isolation -e "$ROOT"
  fi
  echo "$want" > "$stamp"
fi
