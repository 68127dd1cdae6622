#!/bin/bash
# scripts/sftp-server.sh - a local OpenSSH SFTP server standing in for the bank's and the trustee's
# servers, for the demo, the tests and the benchmark.
#
#   scripts/sftp-server.sh start  [PORT|auto] [ROOT]   start sshd; prints the port on stdout
#   scripts/sftp-server.sh stop   [PORT]               stop the server on PORT
#   scripts/sftp-server.sh status [PORT]               exit 0 and print "running PORT PID ROOT" if up
#   scripts/sftp-server.sh root   [PORT]               print the ROOT directory clients see as "/"
#   scripts/sftp-server.sh crash  [PORT]               SIGKILL the server and its open sessions (tests:
#                                                      "the server died in the middle of a transfer")
#   scripts/sftp-server.sh stall  [PORT]               SIGSTOP the open sessions (they stop answering; new
#                                                      connections still work); prints their pids
#
# PORT defaults to $SFTP_PORT or 2222 (what pipeline.conf points at); "auto" (or 0) picks a free port,
# which is what tests use: `port=$(scripts/sftp-server.sh start auto "$T/sftp")`. With
# SFTP_OWNER_PID=PID in the environment the server stops by itself once that process is gone (a test
# killed or aborted before its cleanup). SFTP_SSHD_OPTIONS="Keyword value<newline>..." puts sshd
# options first in the generated config, where they win (tests: a server with weak algorithms only).
# ROOT defaults to $SFTP_ROOT or var/sftp/root in the repository. Clients log in as the system user
# `dabs` (created if missing, no password, no shell) with fixtures/ssh/client_ed25519, client_ecdsa or
# client_ed25519_pass (the one with a passphrase),
# and see ROOT as "/" with the layout pipeline.conf expects:
#   /bank/client /bank/operating /bank/status /bank/payments-in /trustee/cash /trustee/register /trustee/issuance-in
# (the leaf directories belong to `dabs`, so it may upload, rename and archive there).
#
# sshd runs as root (we are root), in the foreground of a background job (-D), with a generated
# config: 127.0.0.1 only, the committed host key fixtures/ssh/ssh_host_ed25519_key, public-key
# authentication only, `ForceCommand internal-sftp`, `ChrootDirectory ROOT`, strong algorithms only.
# Config, pid file and log go to var/sftp/ (sshd-PORT.conf, .pid, .log).
#
# ChrootDirectory needs ROOT and every directory above it owned by root and not group/world
# writable; a clone under /tmp or a home directory may break that. If ROOT's path does not qualify,
# the real root is /var/lib/dabs-sftp/root-<hash of ROOT's path> and ROOT becomes a symlink to it
# (its previous contents are moved there), so callers can keep copying files into ROOT.
# sshd's StrictModes also checks the authorized keys and host key paths, so copies of those live in
# /var/lib/dabs-sftp/etc (root-owned, 0600/0644). Git does not keep mode 0600: the private keys under
# fixtures/ssh are chmod 600 here.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${SFTP_STATE_DIR:-$REPO/var/sftp}
SYS=/var/lib/dabs-sftp
SSH_FIX=$REPO/fixtures/ssh
SFTP_USER=dabs

die() { echo "sftp-server.sh: $*" >&2; exit 1; }

usage() {
	sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_open() {
	/usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# True if the directory and every directory above it is root-owned and not group/world writable.
chroot_ok() {
	local p=$1 owner mode
	while :; do
		owner=$(stat -c %u "$p") || return 1
		mode=$(stat -c %a "$p") || return 1
		[ "$owner" = 0 ] || return 1
		(( (8#$mode & 8#022) == 0 )) || return 1
		[ "$p" = / ] && return 0
		p=$(dirname "$p")
	done
}

ensure_user() {
	if ! id "$SFTP_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin "$SFTP_USER"
	fi
	# A locked account ("!" password) is refused by sshd without PAM; "*" means no password, not locked.
	if getent shadow "$SFTP_USER" | cut -d: -f2 | grep -q '^!'; then
		usermod -p '*' "$SFTP_USER"
	fi
}

# Prints the directory sshd should chroot into for ROOT, creating the layout.
prepare_root() {
	local root=$1 real
	mkdir -p "$root"
	real=$(realpath "$root")
	if ! chroot_ok "$real"; then
		# The parent chain is not acceptable to sshd: use a root-owned directory elsewhere.
		local key
		key=$(printf '%s' "$real" | sha256sum | cut -c1-16)
		real=$SYS/root-$key
		if [ ! -L "$root" ]; then
			# ROOT is a real directory (e.g. freshly made by a test): its contents are the truth,
			# whatever an earlier run left in the real root.
			rm -rf "$real"
			install -d -o root -g root -m 0755 "$SYS" "$real"
			cp -a "$root"/. "$real"/ 2>/dev/null || true
			rm -rf "$root"
			ln -s "$real" "$root"
		fi
		install -d -o root -g root -m 0755 "$SYS" "$real"
	fi
	chown root:root "$real"
	chmod 0755 "$real"
	install -d -o root -g root -m 0755 "$real/bank" "$real/trustee"
	local d
	for d in bank/client bank/operating bank/status bank/payments-in trustee/cash trustee/register trustee/issuance-in; do
		install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 0755 "$real/$d"
	done
	printf '%s\n' "$real"
}

write_config() {
	local port=$1 chroot=$2 conf=$3
	cat > "$conf" <<EOF
# generated by scripts/sftp-server.sh - do not edit
# SFTP_SSHD_OPTIONS (tests: sshd uses the first value of a keyword, so these win)
${SFTP_SSHD_OPTIONS:-}
Port $port
ListenAddress 127.0.0.1
HostKey $SYS/etc/ssh_host_ed25519_key
PidFile $STATE/sshd-$port.pid
AuthorizedKeysFile $SYS/etc/authorized_keys-$port
AllowUsers $SFTP_USER
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
StrictModes yes
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
AllowStreamLocalForwarding no
PermitTunnel no
PrintMotd no
MaxStartups 64
MaxAuthTries 3
LoginGraceTime 30
ClientAliveInterval 30
ClientAliveCountMax 3
LogLevel VERBOSE
# Strong algorithms only (what a careful bank offers).
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
HostKeyAlgorithms ssh-ed25519
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512
PubkeyAcceptedAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521
Subsystem sftp internal-sftp
ForceCommand internal-sftp
ChrootDirectory $chroot
EOF
}

pid_of() {
	local f=$STATE/sshd-$1.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	printf '%s\n' "$pid"
}

cmd_start() {
	local port=${1:-${SFTP_PORT:-2222}} root=${2:-${SFTP_ROOT:-$REPO/var/sftp/root}}
	[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd not found: apt-get install -y openssh-server"
	[ "$(id -u)" = 0 ] || die "must run as root (sshd needs it for ChrootDirectory)"
	case $root in /*) ;; *) root=$PWD/$root ;; esac
	if [ "$port" = auto ] || [ "$port" = 0 ]; then
		port=$(free_port)
	fi
	[[ $port =~ ^[0-9]+$ ]] || die "bad port '$port'"
	if pid=$(pid_of "$port"); then
		if [ "$(cat "$STATE/sshd-$port.root" 2>/dev/null)" = "$root" ]; then
			printf '%s\n' "$port"   # already running with this root
			return 0
		fi
		die "a server is already running on port $port with another root ($(cat "$STATE/sshd-$port.root" 2>/dev/null))"
	fi
	port_open "$port" && die "port $port is already in use"

	umask 022
	mkdir -p "$STATE"
	chmod 600 "$SSH_FIX"/client_ed25519 "$SSH_FIX"/client_ecdsa "$SSH_FIX"/client_ed25519_pass "$SSH_FIX"/ssh_host_ed25519_key
	ensure_user
	install -d -o root -g root -m 0755 /run/sshd "$SYS" "$SYS/etc"
	install -o root -g root -m 0600 "$SSH_FIX/ssh_host_ed25519_key" "$SYS/etc/ssh_host_ed25519_key"
	cat "$SSH_FIX/client_ed25519.pub" "$SSH_FIX/client_ecdsa.pub" "$SSH_FIX/client_ed25519_pass.pub" \
		> "$SYS/etc/authorized_keys-$port.tmp"
	chmod 0644 "$SYS/etc/authorized_keys-$port.tmp"
	# One file per server: a server started from another checkout (another list of keys) must not
	# rewrite the keys this one accepts while its tests run.
	mv "$SYS/etc/authorized_keys-$port.tmp" "$SYS/etc/authorized_keys-$port"

	local chroot conf log
	chroot=$(prepare_root "$root")
	conf=$STATE/sshd-$port.conf
	log=$STATE/sshd-$port.log
	write_config "$port" "$chroot" "$conf"
	/usr/sbin/sshd -t -f "$conf" || die "sshd rejected $conf"
	printf '%s\n' "$root" > "$STATE/sshd-$port.root"
	rm -f "$STATE/sshd-$port.pid"
	nohup /usr/sbin/sshd -D -f "$conf" -E "$log" </dev/null >/dev/null 2>&1 &
	local pid=$! end=$((SECONDS + 120))
	# ready when the port accepts connections; a generous bound for a loaded machine
	while [ $SECONDS -lt $end ]; do
		if port_open "$port"; then
			printf '%s\n' "$pid" > "$STATE/sshd-$port.pid"
			if [ -n "${SFTP_OWNER_PID:-}" ]; then
				# Tests: stop the server when its owner dies, even by SIGKILL or an abort.
				# (the pid file is removed only if it is still this server's: a restart may own it)
				nohup bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
					kill "$2" 2>/dev/null; [ "$(cat "$3" 2>/dev/null)" = "$2" ] && rm -f "$3"' \
					_ "$SFTP_OWNER_PID" "$pid" "$STATE/sshd-$port.pid" \
					</dev/null >/dev/null 2>&1 &
			fi
			printf '%s\n' "$port"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill "$pid" 2>/dev/null || true
	die "sshd did not start on port $port; see $log"
}

cmd_stop() {
	local port=${1:-${SFTP_PORT:-2222}} pid i
	if ! pid=$(pid_of "$port"); then
		rm -f "$STATE/sshd-$port.pid"
		return 0
	fi
	kill "$pid"
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	rm -f "$STATE/sshd-$port.pid" "$STATE/sshd-$port.conf" "$STATE/sshd-$port.root"   # the log stays
}

# The pids of a process's descendants (children first found, then theirs).
descendants() {
	local kids k
	kids=$(pgrep -P "$1" 2>/dev/null || true)
	for k in $kids; do
		printf '%s\n' "$k"
		descendants "$k"
	done
}

cmd_crash() {
	local port=${1:-${SFTP_PORT:-2222}} pid p
	pid=$(pid_of "$port") || die "no server running on port $port"
	for p in $(descendants "$pid") "$pid"; do
		kill -9 "$p" 2>/dev/null || true
	done
	rm -f "$STATE/sshd-$port.pid"
}

cmd_stall() {
	local port=${1:-${SFTP_PORT:-2222}} pid p
	pid=$(pid_of "$port") || die "no server running on port $port"
	for p in $(descendants "$pid"); do
		kill -STOP "$p" 2>/dev/null && printf '%s\n' "$p"
	done
	return 0
}

cmd_status() {
	local port=${1:-${SFTP_PORT:-2222}} pid
	if pid=$(pid_of "$port"); then
		echo "running $port $pid $(cat "$STATE/sshd-$port.root" 2>/dev/null)"
		return 0
	fi
	echo "stopped $port"
	return 1
}

cmd_root() {
	local port=${1:-${SFTP_PORT:-2222}}
	[ -f "$STATE/sshd-$port.root" ] || die "no server was started on port $port"
	cat "$STATE/sshd-$port.root"
}

case ${1:-} in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
status) shift; cmd_status "$@" ;;
root) shift; cmd_root "$@" ;;
crash) shift; cmd_crash "$@" ;;
stall) shift; cmd_stall "$@" ;;
*) usage ;;
esac
