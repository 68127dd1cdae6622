#!/bin/bash
# tests/same-output.sh [REV] - a refactoring changed nothing anyone outside sees (issue 13).
#
# Builds REV (default HEAD~1) in a temporary git worktree, runs the nightly on the fixture world
# (tests/lib.sh t_day, all three days, late files included) once with REV's pipeline and once with
# ./pipeline, each in its own database, and compares what each made:
#   - `pipeline export exceptions` for each day, CSV and JSON: byte for byte;
#   - every payment (pain.001) and issuance file in the outbox: byte for byte, except the one
#     element that holds the moment the file was first made (<CreDtTm>, from outbound_file.created_at);
#   - `pipeline inspect` of every fixture statement file: byte for byte;
#   - every workbook, cell by cell over every sheet (values, and header/footer texts), except the
#     generation time.
# Prints "same-output: N compared, all the same" and exits 0, or shows the differences and exits 1.
# Not part of `make test` (it compares two builds, so it belongs to a refactoring); run it at each
# step of one: `bash tests/same-output.sh ed67a63`.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
REV=${1:-HEAD~1}
W=$REPO/var/same-output
PY=/usr/bin/python3

rm -rf "$W" && mkdir -p "$W"
git worktree remove --force "$W/base-src" >/dev/null 2>&1 || true
git worktree add --detach "$W/base-src" "$REV" >/dev/null 2>&1 || { echo "same-output: cannot check out $REV" >&2; exit 2; }
trap 'git -C "$REPO" worktree remove --force "$W/base-src" >/dev/null 2>&1' EXIT
(cd "$W/base-src" && make -s pipeline >"$W/base-build.log" 2>&1) || { echo "same-output: $REV does not build (see $W/base-build.log)" >&2; exit 2; }
make -s pipeline >/dev/null || exit 2

# run_world WHICH BINARY: the world's nightlies with BINARY; outputs under $W/WHICH.
run_world() {
	local which=$1 bin=$2 out=$W/$1
	mkdir -p "$out"
	PIPELINE=$bin bash -c '
		source tests/lib.sh
		t_init same_output   # one name for both: the same paths, so the same configuration digest
		for day in 2026-11-23 2026-11-24 2026-11-25; do
			t_day "$day" >/dev/null 2>&1
			echo "$day rc=$?" >> "$2/rc"
			t_pipeline -q export exceptions --date "$day" --format csv > "$2/export-$day.csv"
			t_pipeline -q export exceptions --date "$day" --format json > "$2/export-$day.json"
		done
		mkdir -p "$2/outbox" "$2/reports"
		[ -d "$T/data/outbox" ] && cp -R "$T/data/outbox/." "$2/outbox/"
		cp -R "$T/reports/." "$2/reports/"
		for f in $(cd "$REPO/fixtures/statements" && find . -type f | sort); do
			mkdir -p "$2/inspect/$(dirname "$f")"
			t_pipeline -q inspect "$REPO/fixtures/statements/$f" > "$2/inspect/$f.jsonl" 2>&1
		done
	' _ "$which" "$out"
}

run_world base "$W/base-src/pipeline"
run_world new "$REPO/pipeline"

# The one element of a payment file that is the time it was first made.
for f in $(find "$W/base/outbox" "$W/new/outbox" -type f); do
	sed -i 's#<CreDtTm>[^<]*</CreDtTm>#<CreDtTm>(creation time)</CreDtTm>#' "$f"
done
# Workbooks as text: every sheet, every cell, header and footer; timestamps of generation masked.
for which in base new; do
	for x in $(find "$W/$which/reports" -name '*.xlsx' | sort); do
		$PY - "$x" > "${x%.xlsx}.cells" <<'EOF2'
import re, sys, datetime, openpyxl
ts = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?(\.\d+)?( ?[A-Z]{3,5}|Z|[+-]\d\d:?\d\d)?")
wb = openpyxl.load_workbook(sys.argv[1])
def show(v):
    if isinstance(v, datetime.datetime) and (v.hour, v.minute, v.second) != (0, 0, 0):
        return "(time)"
    return ts.sub("(time)", v) if isinstance(v, str) else repr(v)
for ws in wb.worksheets:
    print("== sheet", ws.title)
    for part in ("oddHeader", "oddFooter"):
        hf = getattr(ws, part)
        for pos in ("left", "center", "right"):
            t = getattr(hf, pos).text
            if t:
                print(part, pos, show(t))
    for row in ws.iter_rows():
        for c in row:
            if c.value is not None:
                print(c.coordinate, show(c.value))
EOF2
		rm -f "$x"
	done
done

n=$(cd "$W/new" && find . -type f | wc -l)
if diff -r "$W/base" "$W/new" -x base-src > "$W/diff.txt" 2>&1; then
	echo "same-output: $n files compared with $REV's, all the same"
	exit 0
fi
echo "same-output: differences from $REV (all in $W/diff.txt):"
head -60 "$W/diff.txt"
exit 1
