#!/bin/bash
# bench/fetch.sh - throughput of `pipeline fetch` (libssh2) for one 200 MB file over loopback, next
# to OpenSSH's own `sftp` client fetching the same file from the same sshd in the same run.
# Prints figures; never fails because the machine is slow (it fails only if something breaks).
# Each client runs RUNS times (default 3), alternating; the best and the median are printed.
# `pipeline fetch` does more than copy: SHA-256 of every byte, fsync, rename, a database row.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
SIZE_MB=${SIZE_MB:-200}
RUNS=${RUNS:-3}
export PGSOCK
PGSOCK=$(tests/pg.sh start) || { echo "bench/fetch: cannot start the test PostgreSQL" >&2; exit 1; }
source tests/lib.sh
source tests/integration/30_fetch_lib.inc
t_init bench_fetch
sftp_setup
for s in bank_operating trustee_cash trustee_register; do conf_set "source.$s" required no; done
conf_set source.bank_client max_size $(( (SIZE_MB + 1) * 1000000 ))
conf_set source.bank_client io_timeout 60
big=$(remote_path bank_client 20261125)
head -c $((SIZE_MB * 1000000)) /dev/urandom > "$big"
bytes=$(stat -c %s "$big")

ms() { echo $(( $(date +%s%N) / 1000000 )); }
mbps() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.1f", (b / 1e6) / (ms / 1000.0) }'; }
stats() {   # best and median of a list of milliseconds
	sort -n | awk '{ a[NR] = $1 } END { printf "%d %d", a[1], a[int((NR + 1) / 2)] }'
}

p_times=() s_times=()
for i in $(seq "$RUNS"); do
	t0=$(ms)
	if [ "$i" = 1 ]; then
		"$PIPELINE" --config "$T/pipeline.conf" -q fetch --date 2026-11-25 || { echo "bench/fetch: pipeline fetch failed" >&2; exit 1; }
	else
		"$PIPELINE" --config "$T/pipeline.conf" -q fetch --date 2026-11-25 --force || { echo "bench/fetch: pipeline fetch failed" >&2; exit 1; }
	fi
	p_times+=($(( $(ms) - t0 )))
	rm -f "$T/sftp.out"
	t0=$(ms)
	sftp -q -i "$FX_SSH/client_ed25519" -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes \
		-o BatchMode=yes -P "$SFTP_PORT" "dabs@127.0.0.1:/bank/client/$(basename "$big")" "$T/sftp.out" >/dev/null \
		|| { echo "bench/fetch: sftp failed" >&2; exit 1; }
	s_times+=($(( $(ms) - t0 )))
done
local_file=$T/data/inbox/2026-11-25/bank_client/$(basename "$big")
[ "$(sha256sum < "$local_file")" = "$(sha256sum < "$T/sftp.out")" ] || { echo "bench/fetch: the copies differ" >&2; exit 1; }
read -r pb pm < <(printf '%s\n' "${p_times[@]}" | stats)
read -r sb sm < <(printf '%s\n' "${s_times[@]}" | stats)
printf 'fetch: %d MB over loopback, %d runs each (best / median, whole command incl. connect)\n' "$SIZE_MB" "$RUNS"
printf '  pipeline fetch (libssh2, SHA-256, fsync, db row)  %6d ms %8s MB/s   / %6d ms %8s MB/s\n' "$pb" "$(mbps "$pb")" "$pm" "$(mbps "$pm")"
printf '  OpenSSH sftp client                               %6d ms %8s MB/s   / %6d ms %8s MB/s\n' "$sb" "$(mbps "$sb")" "$sm" "$(mbps "$sm")"
awk -v p="$pm" -v s="$sm" 'BEGIN { printf "  pipeline / OpenSSH throughput (median): %.2f (goal >= 0.5)\n", s / p }'
rm -f "$big" "$T/sftp.out" "$local_file"
