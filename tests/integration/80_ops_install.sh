#!/bin/bash
# make install PREFIX=... puts the program, the nightly wrapper, the layouts, the sample configuration
# (pointing at the installed layouts), the systemd units and cron line (PREFIX filled in), the docs
# and the man page in place; the installed program runs from anywhere and its man page renders with
# man; make uninstall removes every file it installed and nothing else. The sample configuration is
# the production one (deploy/pipeline.conf.sample), not the demo's: paths under /var/lib/pipeline,
# placeholders for the servers, no test keys; the unit's sandbox lets it write exactly its
# data_dir; `systemd-analyze verify` accepts the units; doctor on the sample creates nothing.
source "$(dirname "$0")/../lib.sh"
t_init ops_install
P=$T/prefix
mkdir -p "$P/share/doc" && echo mine > "$P/share/doc/not-ours.txt"

# -o pipeline: install the program under test as it is, never rebuild it (a SANITIZE=1 run stays one)
out=$(make -s -o pipeline -C "$REPO" install PREFIX="$P" 2>&1) || t_fail "make install failed: $out"
for f in bin/pipeline bin/pipeline-nightly share/man/man1/pipeline.1 \
	share/pipeline/formats/sgbank-corp.layout share/doc/pipeline/pipeline.conf.sample \
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

# the sample is written for production, not the demo
S=$P/share/doc/pipeline/pipeline.conf.sample
cmp -s "$S" "$REPO/pipeline.conf" && t_fail "the installed sample is the demo's configuration"
assert_eq "data_dir = /var/lib/pipeline" "$(grep '^data_dir' "$S")" "sample: data_dir under /var/lib/pipeline"
assert_eq "dir = /var/lib/pipeline/reports" "$(grep '^dir' "$S")" "sample: reports under /var/lib/pipeline"
grep -nE '127\.0\.0\.1|2222|fixtures/|client_ed25519|^conninfo *=$' "$S" && t_fail "sample: demo hosts, ports, test keys or the embedded cluster"
for k in key_file known_hosts password_file; do
	grep "^$k" "$S" | grep -v ' = /etc/pipeline/' && t_fail "sample: $k not under /etc/pipeline"
done
grep -q '^user = CHANGE-ME' "$S" || t_fail "sample: no placeholder for the SFTP user"
grep -q '^host = sftp\.bank\.example\.com' "$S" || t_fail "sample: no placeholder for the bank's host"
[ "$(grep -c '^;' "$S")" -ge 30 ] || t_fail "sample: not commented"
# the installed units: the sandbox's writable paths are the sample's data_dir, for User=pipeline
U=$P/share/pipeline/systemd/pipeline-nightly.service
assert_eq "ProtectSystem=strict" "$(grep '^ProtectSystem=' "$U")" "unit: ProtectSystem=strict"
assert_eq "StateDirectory=pipeline" "$(grep '^StateDirectory=' "$U")" "unit: StateDirectory (/var/lib/pipeline)"
assert_eq "User=pipeline" "$(grep '^User=' "$U")" "unit: User=pipeline"
rw=$(grep '^ReadWritePaths=' "$U" | cut -d= -f2)
assert_contains " $rw " " $(grep '^data_dir' "$S" | sed 's/.* = //') " "unit: data_dir writable"
assert_eq "WorkingDirectory=/var/lib/pipeline" "$(grep '^WorkingDirectory=' "$U")" "unit: runs in data_dir"
assert_contains "$(grep '^Environment=PIPELINE_CONF' "$U")" "/etc/pipeline/pipeline.conf" "unit: reads /etc/pipeline"
# systemd's own check of both units as installed (no running systemd needed; --man=no: no man lookups)
out=$(systemd-analyze verify --man=no "$U" "$P/share/pipeline/systemd/pipeline-nightly.timer" 2>&1)
assert_eq "0" "$?" "systemd-analyze verify: $out"
assert_eq "" "$out" "systemd-analyze verify says nothing"
# and it does catch a broken unit (the check can fail)
sed 's#^ExecStart=.*#ExecStart=/nonexistent/pipeline-nightly#' "$U" > "$T/pipeline-nightly.service"
systemd-analyze verify --man=no "$T/pipeline-nightly.service" >/dev/null 2>&1 && t_fail "systemd-analyze verify accepts a unit without its program"

# doctor on the sample as installed: nothing created, it names what is missing and how to make it
had_none=; [ -e /var/lib/pipeline ] || [ -e /etc/pipeline ] || had_none=1
out=$(cd / && "$P/bin/pipeline" --config "$S" doctor --offline)
assert_contains "$out" "password_file: /etc/pipeline/db.password: No such file or directory (create it: install -m 0600" "sample: doctor names the missing password file and how to create it"
if [ -n "$had_none" ] && { [ -e /var/lib/pipeline ] || [ -e /etc/pipeline ]; }; then t_fail "doctor created /var/lib/pipeline or /etc/pipeline"; fi

# the installed sample configuration with the installed layouts: doctor finds the layouts
sed -e "s|^data_dir = .*|data_dir = $T/proddata|" -e "s|^dir = /var/lib/pipeline/reports|dir = $T/reports|" \
	-e "s|^conninfo =.*|conninfo = host=$PGSOCK user=postgres dbname=$T_DB|" -e "/^password_file/d" \
	"$S" > "$T/installed.conf"
out=$(cd / && "$P/bin/pipeline" --config "$T/installed.conf" doctor --offline)
assert_contains "$out" "ok    formats    $P/share/pipeline/formats" "installed formats dir"
assert_contains "$out" "ok    source.bank_operating format sgbank-corp" "installed layout found"
assert_contains "$out" "FAIL  source.bank_client key_file /etc/pipeline/keys/bank_ed25519: No such file or directory" "doctor names the missing key"
[ -e "$T/proddata" ] && t_fail "doctor --offline created data_dir"

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
