#!/bin/sh
# Checks the journal catalog: that every text names only fields that each
# entry of its MESSAGE_ID carries (check_fields.py, against the entries the
# payload builders make); then compiles it into a scratch root with
# journalctl, lists it, and checks that it documents exactly the
# MESSAGE_IDs the daemon sends.
#   test_catalog.sh CATALOG PAYLOAD_C PAYLOAD_SAMPLES PYTHON
set -eu
catalog=$1
source=$2
samples=$3
python=$4
"$python" "$(dirname "$0")/check_fields.py" "$catalog" "$samples"
command -v journalctl >/dev/null || { echo "SKIP: journalctl is not installed"; exit 77; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$catalog" "$root/usr/lib/systemd/catalog/upmon.catalog"
journalctl --root="$root" --update-catalog
journalctl --root="$root" --list-catalog | grep ' upmon: ' | sort > "$root/listed"
cat "$root/listed"
# The ids in the daemon's table, and those the catalog lists, must agree.
grep -o '"[0-9a-f]\{32\}"' "$source" | tr -d '"' | sort > "$root/sent"
cut -d' ' -f1 "$root/listed" > "$root/documented"
if ! diff -u "$root/sent" "$root/documented"; then
    echo "FAIL: catalog and daemon disagree on MESSAGE_IDs"
    exit 1
fi
[ "$(wc -l < "$root/sent")" -eq 8 ] || { echo "FAIL: expected 8 event types"; exit 1; }
# Every entry has a subject, Defined-By and Documentation.
for field in Subject Defined-By Documentation; do
    n=$(grep -c "^$field:" "$catalog")
    [ "$n" -eq 8 ] || { echo "FAIL: $n entries with $field:, expected 8"; exit 1; }
done
echo "2 passed, 0 failed"
