#!/bin/bash
# report-preview.sh - renders a report workbook to PDF with LibreOffice headless and every page to PNG,
# so a person can look at it without Excel (`make report-preview`).
#
#   scripts/report-preview.sh [WORKBOOK.xlsx]
#
# Without an argument it takes the newest var/reports/*/recon-*.xlsx (what `make demo` wrote on the
# fixture world); if there is none, it builds the hand-made day of tests/report/world.sql in a
# test database and renders that. Output: var/report-preview/<name>.pdf, <name>-page-NN.png (every page)
# and <name>-page1.png.
# Needs libreoffice-calc-nogui and poppler-utils (scripts/deps.sh installs them).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$REPO/var/report-preview
mkdir -p "$OUT"

for tool in soffice pdftoppm; do
	command -v "$tool" >/dev/null || { echo "report-preview: $tool not found; run: make deps" >&2; exit 2; }
done

X=${1:-}
if [ -z "$X" ]; then
	X=$(ls -t "$REPO"/var/reports/*/recon-*.xlsx 2>/dev/null | head -1 || true)
fi
if [ -z "$X" ]; then
	echo "report-preview: no report under var/reports; rendering the hand-made day (tests/report/world.sql)" >&2
	# shellcheck source=/dev/null
	source "$REPO/tests/lib.sh"
	set +u
	t_init report_preview
	t_psql "$(cat "$REPO/tests/report/world.sql")" >/dev/null
	t_pipeline -q report --date 2026-11-25
	X=$T/reports/2026-11-25/recon-2026-11-25.xlsx
	set -u
fi
[ -f "$X" ] || { echo "report-preview: $X: no such workbook" >&2; exit 1; }

name=$(basename "$X" .xlsx)
# A private LibreOffice profile: no state in $HOME, no clash with a running instance.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$OUT/$name.pdf"
timeout 300 soffice -env:UserInstallation=file://"$profile" --headless --norestore \
	--convert-to pdf --outdir "$OUT" "$X" >/dev/null 2>"$profile/err" || {
	echo "report-preview: LibreOffice failed: $(cat "$profile/err")" >&2
	exit 1
}
[ -s "$OUT/$name.pdf" ] || { echo "report-preview: LibreOffice wrote no PDF" >&2; exit 1; }
# Every page, so a person can look at each one: NAME-page-01.png ... (and NAME-page1.png, the first).
rm -f "$OUT/$name"-page-*.png
pdftoppm -r 90 -png "$OUT/$name.pdf" "$OUT/$name-page"
pdftoppm -r 90 -png -f 1 -l 1 -singlefile "$OUT/$name.pdf" "$OUT/$name-page1"
pages=$(pdfinfo "$OUT/$name.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
echo "report-preview: $X"
echo "report-preview: $OUT/$name.pdf (${pages:-?} pages)"
echo "report-preview: $OUT/$name-page-*.png (one per page)"
