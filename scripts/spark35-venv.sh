#!/usr/bin/env bash
# The Spark 3.5 lane's venv (Glue 5 / EMR 7 / Databricks 14-16 run Spark 3.5): the project installed editable
# with pyspark 3.5 instead of the `local` extra's pyspark 4, plus what the lane's tests need.
#
#   bash scripts/spark35-venv.sh [VENV]        # default .venv-spark35; PYTHON=python3.11 picks the interpreter
#
# pyspark 3.5.9 declares numpy<2 (its sql/pandas extras), so pyarrow stays below 26 (26 needs numpy 2); it runs
# on Python 3.8-3.11, and Glue 5 is Python 3.11.
# Idempotent: the venv's stamp holds a hash of this script and pyproject.toml, and a re-run with the same hash
# does nothing. On failure it prints one line naming what is missing and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${1:-.venv-spark35}
STAMP="$VENV/.installed"
PACKAGES=(
  "pyspark==3.5.9"
  "numpy>=1.24,<2"
  "pandas>=2.2,<3"
  "pyarrow>=15,<26"  # pyarrow 26 needs numpy 2
  "deltalake>=1.6.6"
  "psycopg[binary]>=3.1"
  "boto3>=1.34"
  # the tests of the lane (tests/engines/spark35 and the -m spark subset it runs)
  "pytest>=8"
  "pytest-httpserver>=1.0"
  "aiosmtpd>=1.4"
  "moto[server]>=5.0"
)

fail() { echo "spark35-venv: $*" >&2; exit 1; }

want=$(cat "$0" pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
[ -n "$python" ] || fail "no Python found: install python3.11 (pyspark 3.5 runs on Python 3.8-3.11)"
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
  || fail "$python does not run: install python3.11"
case "$version" in
  3.10 | 3.11) ;;
  *) fail "$python is Python $version; pyspark 3.5 needs 3.10 or 3.11 (set PYTHON=python3.11)" ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  "$python" -m venv "$VENV" 2>/dev/null || fail "cannot create $VENV with $python: install python$version-venv"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$VENV/bin/python" -m pip install -q --upgrade pip >"$log" 2>&1 \
  || ! "$VENV/bin/python" -m pip install -q -e . "${PACKAGES[@]}" >"$log" 2>&1; then
  reason=$(grep -m1 -E "^ERROR|No matching distribution|Could not find" "$log" || tail -n1 "$log")
  fail "pip install into $VENV failed: ${reason:-see the pip log}"
fi
installed=$("$VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)' 2>/dev/null || echo none)
case "$installed" in
  3.5.*) ;;
  *) fail "$VENV has pyspark $installed, not 3.5" ;;
esac
echo "$want" >"$STAMP"
versions=$("$VENV/bin/python" -m pip list 2>/dev/null | awk '$1 ~ /^(pyspark|numpy|pandas|pyarrow|deltalake)$/ {printf " %s %s", $1, $2}')
echo "spark35-venv: $VENV ready:$versions"
