#!/usr/bin/env bash
# Make sure the system packages the suite and the demo need are present: Java 17+, the PostgreSQL
# server binaries and Maven (`make jvm-artifacts` fetches the jars with it, the PostgreSQL JDBC driver
# among them). As root with apt-get, install what is missing; otherwise stop with one line naming what
# to install.
set -euo pipefail

missing=()
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)
  [ "${v:-0}" -ge 17 ]
}
pg_ok() { command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; }

java_ok || missing+=(openjdk-17-jre-headless)
pg_ok || missing+=(postgresql)
command -v mvn >/dev/null 2>&1 || missing+=(maven)  # make jvm-artifacts fetches the Delta/JDBC/s3a jars with it
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "missing system packages: please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
exit 1
