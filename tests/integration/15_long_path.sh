#!/bin/bash
# Tests pass wherever the checkout is: a copy of this checkout at a path exactly 150 characters
# long runs a representative subset of its own tests there (13_roles: roles on the shared test
# cluster and on an embedded one; 14_embedded: the embedded cluster's life), with its own test
# cluster. A Unix socket path is limited to 107 bytes, so this fails if any socket lives under
# the checkout (the embedded cluster's and the test cluster's are in /tmp/pipeline-*-HASH).
source "$(dirname "$0")/../lib.sh"
t_init long_path
base=$T/x
long=$base
while [ ${#long} -lt 150 ]; do long=$long/$(printf 'd%.0s' $(seq 1 $(( 150 - ${#long} - 1 > 40 ? 40 : 150 - ${#long} - 1 )))); done
assert_eq 150 "${#long}" "the copy's path is 150 characters"
mkdir -p "$long"
# the working tree as it is (tracked and new files, not var/), with the build, so nothing is rebuilt
(cd "$REPO" && git ls-files -co --exclude-standard -z | grep -zv '^var/' | xargs -0 cp --parents -a -t "$long")
cp -a "$REPO/build" "$REPO/pipeline" "$long/"
stop_copy() { "$long/tests/pg.sh" stop >/dev/null 2>&1; }
trap stop_copy EXIT
out=$(cd "$long" && make -s pipeline 2>&1) || t_fail "build in the long path: $out"
out=$(cd "$long" && PGSOCK= bash tests/run-integration.sh tests/integration/13_roles.sh tests/integration/14_embedded.sh 2>&1)
rc=$?
echo "$out"
assert_eq 0 "$rc" "13_roles and 14_embedded from a 150-character path: $(echo "$out" | tail -15)"
assert_contains "$out" "integration: 2 passed, 0 failed" "both ran and passed"
t_done
