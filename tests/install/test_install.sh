#!/bin/sh
# Installs into a DESTDIR as a distribution package would, checks the tree,
# checks that an operator's configuration is never overwritten, and checks
# the installed units (upmond.service and the template upmond@.service) with
# systemd-analyze: verify must be clean and the offline security exposure
# at most 1.5.
set -eu
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Paths are fixed when the build is configured; install with those.
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
case $prefix in /usr) etc=/etc ;; *) etc=$prefix/etc ;; esac
p=${prefix#/}
e=${etc#/}
DESTDIR="$dest" cmake --install "$build" >/dev/null
echo "installed tree ($prefix):"
(cd "$dest" && find . -type f | sort)

unit=$(find "$dest" -name upmond.service -path '*/systemd/system/*')
[ -n "$unit" ] || fail "no unit in a systemd unit directory"
template=$(dirname "$unit")/upmond@.service
[ -f "$template" ] || fail "no template unit upmond@.service beside upmond.service"
# The template is the same unit but for the instance's configuration file,
# user, state and runtime directories and description: drift in anything
# else (the hardening above all) fails here.
sed -e '/^#/d' "$unit" > "$dest/plain.service"
sed -e '/^#/d' -e '/^User=upmond-%i$/d' -e 's|/upmon/%i\.yaml|/upmon/upmon.yaml|' -e 's|=upmon-%i$|=upmon|' \
    -e 's|^\(Description=.*\) (%i)$|\1|' "$template" > "$dest/instance.service"
diff -u "$dest/plain.service" "$dest/instance.service" ||
    fail "upmond@.service differs from upmond.service in more than the instance's files"
grep -q '^StateDirectory=upmon-%i$' "$template" || fail "the template's state directory"
grep -q "^ExecStart=$prefix/sbin/upmond -c $etc/upmon/%i.yaml\$" "$template" || fail "template ExecStart"
rm "$dest/plain.service" "$dest/instance.service"
for f in $p/sbin/upmond $p/bin/upmonctl $e/upmon/upmon.yaml $e/upmon/watch.d/example.yaml \
         $p/share/man/man8/upmond.8 $p/share/man/man5/upmon.yaml.5 \
         $p/share/man/man1/upmonctl.1 \
         $p/lib/systemd/catalog/upmon.catalog \
         $p/share/upmon/config.schema.json $p/share/upmon/watch-list.schema.json \
         $p/share/upmon/webhook-standard.schema.json $p/share/upmon/webhook-slack.schema.json \
         $p/share/upmon/webhook-alertmanager.schema.json \
         $p/share/upmon/prometheus/upmon.rules.yml $p/share/upmon/grafana/upmon.json \
         $p/share/doc/upmon/scale-out.md \
         $p/share/upmon/webhook-alertmanager-webhook.schema.json; do
    [ -f "$dest/$f" ] || fail "missing $f"
done
[ -x "$dest/$p/sbin/upmond" ] || fail "upmond is not executable"
[ -x "$dest/$p/bin/upmonctl" ] || fail "upmonctl is not executable"
grep -q "^ExecStart=$prefix/sbin/upmond -c $etc/upmon/upmon.yaml\$" "$unit" || fail "ExecStart paths"
"$dest/$p/sbin/upmond" --help | grep -q "default $etc/upmon/upmon.yaml" || fail "default config path"

# The installed configuration is valid as shipped.
"$dest/$p/sbin/upmond" --check-config -c "$dest/$e/upmon/upmon.yaml" || fail "shipped config"

# The installed schemas are what the installed daemon prints, and the
# shipped examples point editors at them.
for kind in config watch-list; do
    "$dest/$p/sbin/upmond" --print-schema=$kind | cmp -s - "$dest/$p/share/upmon/$kind.schema.json" ||
        fail "$kind.schema.json differs from upmond --print-schema=$kind"
done
head -n 1 "$dest/$e/upmon/watch.d/example.yaml" |
    grep -q "^# yaml-language-server: \$schema=/.*/share/upmon/watch-list.schema.json\$" ||
    fail "example watch list does not name the installed schema"

# An operator's files survive a reinstall.
echo "# mine" >> "$dest/$e/upmon/upmon.yaml"
echo "targets: []" > "$dest/$e/upmon/watch.d/example.yaml"
DESTDIR="$dest" cmake --install "$build" >/dev/null
tail -n 1 "$dest/$e/upmon/upmon.yaml" | grep -q '^# mine$' || fail "upmon.yaml overwritten"
grep -q '^targets: \[\]$' "$dest/$e/upmon/watch.d/example.yaml" || fail "watch list overwritten"

if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze is not installed; tree checked only"
    exit 77
fi
# verify checks that the binaries exist and the man pages open: point it at
# the installed ones. The template is checked as an instance of it.
for u in "$unit:upmond.service" "$template:upmond@check.service"; do
    sed "s|$prefix/sbin/upmond|$dest/$p/sbin/upmond|g" "${u%%:*}" > "$dest/${u#*:}"
    out=$(MANPATH="$dest/$p/share/man" systemd-analyze verify "$dest/${u#*:}" 2>&1) ||
        { echo "$out"; fail "systemd-analyze verify ${u#*:}"; }
    [ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify ${u#*:} is not clean"; }
    sec=$(systemd-analyze security --offline=true "$dest/${u#*:}" 2>&1 | tail -n 1)
    echo "$sec"
    level=$(echo "$sec" | sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$level" ] || fail "no exposure level in: $sec"
    awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }' || fail "${u#*:}: exposure $level is over 1.5"
done
echo "1 passed, 0 failed"
