#!/bin/bash
# Builds a newer libcurl than Debian 12's 7.88.1 into PREFIX, for the bench
# only (bench.py --libcurl PREFIX/lib): what a probe costs under the curl a
# newer distribution ships. Nothing in the build or CI uses it.
#
#   tests/bench/build-curl.sh PREFIX [SUITE]
#
# The source is Debian's own curl package from SUITE (trixie by default, or
# sid for the newest), with Debian's patches, fetched as source only: the
# list file below has deb-src lines and nothing else, so no binary package
# ever comes from that suite, and it is removed again at the end. Build
# dependencies come from Debian 12. Run as root (apt-get). Prints the
# directory that holds libcurl.so.4.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PREFIX [SUITE]" >&2
    exit 2
fi
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
suite=${2:-trixie}

list=/etc/apt/sources.list.d/upmon-bench-src.sources
cat >"$list" <<EOF
# Source packages only, for tests/bench/build-curl.sh: deb-src, never deb.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
work=$(mktemp -d /tmp/upmon-curl-src.XXXXXX)
# The machine's package lists are left as they were found.
trap 'rm -rf "$work" "$list"; apt-get update -q >/dev/null || true' EXIT
apt-get update -q >/dev/null
# From Debian 12 (the only binary suites listed): what this configure needs.
apt-get install -y -q --no-install-recommends dpkg-dev make gcc pkg-config \
    libssl-dev zlib1g-dev libnghttp2-dev >/dev/null

chmod 755 "$work" # apt's download user writes here
cd "$work"
# The suite's versions, newest first: a mirror may list one it does not
# hold yet, so the first that downloads is taken.
got=
for v in $(apt-cache madison curl | awk -v s="$suite/main" \
    '$6 == s && $7 == "Sources" { print $3 }' | sort -rV); do
    if apt-get source --download-only -q "curl=$v" >/dev/null 2>&1; then
        got=$v
        break
    fi
    rm -f curl_*
done
if [ -z "$got" ]; then
    echo "$0: no curl source from $suite could be downloaded" >&2
    exit 1
fi
echo "curl source $got ($suite)" >&2
dpkg-source -x curl_*.dsc src >/dev/null
cd src
# Debian's compiler flags (hardening included), so that instructions counted
# compare with its own 7.88.1; versioned symbols as Debian's (CURL_OPENSSL_4),
# which upmond was linked against: without them the loader warns at every start.
CFLAGS=$(dpkg-buildflags --get CFLAGS) CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) \
    LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
    ./configure --prefix="$prefix" --with-openssl --disable-ldap --disable-ldaps \
    --without-libpsl --without-brotli --without-zstd --without-libidn2 \
    --with-nghttp2 --without-libssh2 --without-librtmp --disable-manual \
    --enable-versioned-symbols \
    --disable-static >configure.log 2>&1 || {
    tail -30 configure.log >&2
    exit 1
}
make -j2 >make.log 2>&1 || {
    tail -30 make.log >&2
    exit 1
}
make install >/dev/null
"$prefix/bin/curl" --version | head -1 >&2
echo "$prefix/lib"
