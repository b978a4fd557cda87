#!/usr/bin/env bash
# Make sure a system package the project needs is present: `java` (17+) or `chromium`.
# As root with apt-get, install it from Debian's packages; otherwise stop and
# print the exact command to run.
set -euo pipefail
what=${1:?usage: system-deps.sh java|chromium}

java_major() {
  java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}

case "$what" in
  java)
    have() { command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null; }
    package=openjdk-17-jre-headless
    need="Java 17 or newer (Spark runs on the JVM)"
    ;;
  chromium)
    have() { [ -x /usr/bin/chromium ]; }
    package=chromium
    need="Debian's Chromium at /usr/bin/chromium (the browser tests drive it)"
    ;;
  *) echo "unknown system dependency: $what" >&2; exit 2 ;;
esac

have && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing $package ($need)…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  have && exit 0
  echo "Installed $package but $need is still not usable." >&2
  exit 1
fi
echo "Missing: $need." >&2
echo "Run: sudo apt-get update && sudo apt-get install -y $package" >&2
exit 1
