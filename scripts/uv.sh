# Sourced by scripts/bootstrap.sh and scripts/lock (with ROOT and PYTHON set): locked_uv.
# uv at the version and hashes of requirements/uv.lock (a stamp holds the lock's hash); prints
# its path, or nothing when it cannot be installed here (then pip installs the locks).
locked_uv() {
  local tool="$ROOT/.tools/uv" uv_lock="$ROOT/requirements/uv.lock"
  local uv_stamp="$tool/.switchboard-uv-lock-sha256" uv_want
  uv_want="$(sha256sum "$uv_lock" | cut -d' ' -f1)"
  if [ ! -x "$tool/bin/uv" ] || [ ! -f "$uv_stamp" ] || [ "$(cat "$uv_stamp")" != "$uv_want" ]; then
    rm -rf "$tool"
    if ! { "$PYTHON" -m venv "$tool" \
           && "$tool/bin/python" -m pip install --quiet --disable-pip-version-check \
                --require-hashes --no-deps -r "$uv_lock"; } >&2; then
      echo "Could not install uv from $uv_lock." >&2
      rm -rf "$tool"
      return 0
    fi
    echo "$uv_want" > "$uv_stamp"
  fi
  echo "$tool/bin/uv"
}
