#!/bin/bash
# tests/reliability/pg.sh start|crash|stop|socket - a PostgreSQL cluster private to the reliability
# scenarios (var/reliability/pg), so that crashing it (pg_ctl stop -m immediate: no checkpoint, as
# if the server died) never disturbs the shared test cluster other tests use. `start` prints the
# socket directory (usable as PGSOCK for tests/lib.sh) and is a no-op when it is running. The same
# script as the shared cluster's (tests/pg.sh), on another directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_ROOT=$PWD/var/reliability/pg PG_MAX_CONNECTIONS=40 exec tests/pg.sh "$@"
