#!/bin/bash
# make install PREFIX=... puts the program, the nightly wrapper, the layouts, the sample configuration
# (pointing at the installed layouts), the systemd units and cron line (PREFIX filled in), the docs
# and the man page in place; the installed program runs from anywhere and its man page renders with
# man; make uninstall removes every file it installed and nothing else.
source "$(dirname "$0")/../lib.sh"
t_init ops_install
P=$T/prefix
mkdir -p "$P/share/doc" && echo mine > "$P/share/doc/not-ours.txt"

# -o pipeline: install the program under test as it is, never rebuild it (a SANITIZE=1 run stays one)
out=$(make -s -o pipeline -C "$REPO" install PREFIX="$P" 2>&1) || t_fail "make install failed: $out"
for f in bin/pipeline bin/pipeline-nightly share/man/man1/pipeline.1 \
	share/pipeline/formats/sgbank-corp.layout share/pipeline/formats/schemas/pain.001.001.03.xsd \
	share/doc/pipeline/pipeline.conf.sample \
	share/doc/pipeline/operations.md share/doc/pipeline/configuration.md \
	share/pipeline/systemd/pipeline-nightly.service share/pipeline/systemd/pipeline-nightly.timer \
	share/pipeline/crontab; do
	[ -f "$P/$f" ] || t_fail "not installed: $f"
done
[ -x "$P/bin/pipeline" ] && [ -x "$P/bin/pipeline-nightly" ] || t_fail "programs not executable"
assert_eq "pipeline $(cat "$REPO/VERSION")" "$(cd / && "$P/bin/pipeline" --version)" "installed program runs"
assert_contains "$(grep '^formats_dir' "$P/share/doc/pipeline/pipeline.conf.sample")" "$P/share/pipeline/formats" "sample config points at the installed layouts"
assert_eq "ExecStart=$P/bin/pipeline-nightly" "$(grep '^ExecStart=' "$P/share/pipeline/systemd/pipeline-nightly.service")" "unit with PREFIX"
assert_contains "$(grep -E '^[0-9]' "$P/share/pipeline/crontab")" "$P/bin/pipeline-nightly" "cron line with PREFIX"

# the installed sample configuration with the installed layouts: doctor finds the layouts
sed -e "s|^data_dir = .*|data_dir = $T/data|" -e "s|^dir = var/reports|dir = $T/reports|" \
	-e "s|^conninfo =.*|conninfo = host=$PGSOCK user=postgres dbname=$T_DB|" \
	"$P/share/doc/pipeline/pipeline.conf.sample" > "$T/installed.conf"
out=$(cd / && "$P/bin/pipeline" --config "$T/installed.conf" doctor --offline)
assert_contains "$out" "ok    formats    $P/share/pipeline/formats" "installed formats dir"
assert_contains "$out" "ok    source.bank_operating format sgbank-corp" "installed layout found"

# the man page renders and has its sections
page=$(MANWIDTH=80 man -l "$P/share/man/man1/pipeline.1" 2>"$T/man.err" | col -b)
assert_eq "" "$(cat "$T/man.err")" "man renders without warnings"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" SCHEDULING NOTIFICATIONS LOGS ENVIRONMENT FILES; do
	assert_contains "$page" "
$s" "man section $s"
done
for c in run status doctor housekeep "notify --test" "notify --cut-off" "db init" "ledger import"; do
	assert_contains "$page" "$c" "man documents $c"
done
page=$(MANPATH=$P/share/man MANWIDTH=80 man pipeline 2>/dev/null | col -b)
assert_contains "$page" "pipeline - nightly reconciliation" "man pipeline finds the installed page"
# every command of the program is in the man page
for c in $("$PIPELINE" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ { on = 0 }'); do
	assert_contains "$page" "$c" "man page lists the command $c"
done
warn=$(LC_ALL=C groff -man -ww -z "$REPO/docs/pipeline.1" 2>&1)
assert_eq "" "$warn" "groff -ww finds nothing"

# uninstall removes exactly what install put there
out=$(make -s -C "$REPO" uninstall PREFIX="$P" 2>&1) || t_fail "make uninstall failed: $out"
assert_eq "share/doc/not-ours.txt" "$(cd "$P" && find . -type f | sed 's|^\./||' | sort)" "only the file that was not ours remains"
t_done
