#!/usr/bin/env bash
# Creates (or updates) the Python environment for the peer benchmarks and installs the pinned
# versions from bench/requirements.txt. Idempotent: pip skips what is already installed.
#
#   bench/setup.sh                        # venv in bench/.venv
#   SOSRISK_BENCH_VENV=/path bench/setup.sh   # another (or an existing) venv, e.g.
#   SOSRISK_BENCH_VENV=/root/.cache/sosrisk/benchenv bench/setup.sh
#
# Then: "$VENV/bin/python" bench/peers.py all
set -euo pipefail
# Standard output carries only the interpreter's path (bench/run.sh reads it): everything else,
# pip's log included, goes to standard error.
exec 3>&1 1>&2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${SOSRISK_BENCH_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  # shellcheck source=scripts/needs.sh
  source "$here/../scripts/needs.sh"
  install_needs "the benchmarks" need_venv
  echo "creating $venv" >&2
  "$python" -m venv "$venv"
fi
# Skip pip entirely when every pin is already met (no network needed for a rerun).
if "$venv/bin/python" - "$here/requirements.txt" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    # torch's wheels carry a local suffix (2.15.0+cu132).
    if have.split("+")[0] != want:
        sys.exit(1)
PY
then
  echo "$venv: requirements already met" >&2
else
  "$venv/bin/python" -m pip install --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -r "$here/requirements.txt"
fi
echo "$venv/bin/python" >&3
