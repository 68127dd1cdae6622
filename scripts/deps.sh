#!/bin/sh
# deps.sh - installs the Debian packages the pipeline needs to build, test and run the demo, if
# any is missing. Needs root (apt-get); as another user it prints the command to run instead.
# One package a line in PACKAGES; say in README.md why each is there.
set -eu

PACKAGES="
gcc
make
pkg-config
libc6-dev
libpq-dev
postgresql
libssh2-1-dev
libcsv-dev
libxlsxwriter-dev
libpcre2-dev
libinih-dev
libssl-dev
libcmocka-dev
libicu-dev
openssh-server
openssh-client
python3
python3-openpyxl
libxml2-dev
python3-paramiko
libxml2-dev
libxml2-utils
tzdata
procps
time
libcurl4-openssl-dev
libjansson-dev
man-db
groff-base
bsdextrautils
"

# `deps.sh preview`: also what `make report-preview` needs to render a workbook to PDF and PNG
# (large, and no test needs it, so the test set-up does not install it).
[ "${1:-}" = preview ] && PACKAGES="$PACKAGES libreoffice-calc-nogui poppler-utils"
# `deps.sh fuzz`: clang with libFuzzer for `make fuzz`.
[ "${1:-}" = fuzz ] && PACKAGES="$PACKAGES clang"
# `deps.sh bench`: pandas for the comparison in bench/night.sh (bench/pandas_match.py).
[ "${1:-}" = bench ] && PACKAGES="$PACKAGES python3-pandas"

# libssh2 talks to servers outside our control: an installed build older than the security fix
# `pipeline doctor` requires (LIBSSH2_DEBIAN_FIXED in commands/doctor.c) is upgraded like a missing one.
LIBSSH2_FIXED=1.10.0-3+deb12u1
upgrade=""
v=$(dpkg-query -W -f='${Version}' libssh2-1 2>/dev/null || true)
if [ -n "$v" ] && dpkg --compare-versions "$v" lt "$LIBSSH2_FIXED"; then
	upgrade="libssh2-1 libssh2-1-dev"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
missing="$missing $upgrade"
[ -z "${missing## }" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root: apt-get install -y$missing" >&2
	exit 2
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The Debian postgresql package starts a system cluster; the pipeline runs its own under var/.
