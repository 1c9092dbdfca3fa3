#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages PatchProof builds and tests with, only the
# ones missing. Works as root or through sudo.
set -eu

PACKAGES="
  build-essential g++ meson ninja-build pkg-config python3
  libsodium-dev libsecp256k1-dev libjansson-dev nettle-dev
  libfcgi-dev libmemcached-dev libmariadb-dev libcurl4-openssl-dev
  libcmocka-dev
  clang libclang-rt-14-dev
  nginx mariadb-server memcached spawn-fcgi wrk curl openssl
  python3-aiosmtpd
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: missing:$missing" >&2
    echo "deps: run as root or install sudo" >&2
    exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Packaged services must not start system-wide instances: the tests and
# make run start their own on private sockets.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
