#!/usr/bin/env bash
# local-postgres.sh start|stop|dsn: a private PostgreSQL for `make run` and
# `make demo`, under ./var/pg of the project, from the host's server binaries
# (scripts/ensure-postgres.sh installs them as root when they are missing).
# It listens on 127.0.0.1:${LASTFLUSS_PG_PORT:-55432} and on a socket in
# var/pg/run, so it never meets a system cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${LASTFLUSS_PG_PORT:-55432}"
ROOT="$PWD/var/pg"
DATA="$ROOT/data"
RUN="$ROOT/run"
LOG="$ROOT/postgres.log"
DB=lastfluss

bindir() {
	local d
	for d in "${LASTFLUSS_PG_BINDIR:-}" /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	done
	return 1
}

# as runs a server command as the postgres user when we are root: initdb
# and postgres refuse to run as root.
as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start() {
	scripts/ensure-postgres.sh
	local bin
	bin="$(bindir)" || { echo "local-postgres: no PostgreSQL server binaries; run scripts/ensure-postgres.sh as root" >&2; exit 1; }
	mkdir -p "$RUN"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres:postgres "$ROOT"
		# The server must reach its directory through the project's path.
		local p="$ROOT"
		while [ "$p" != / ]; do p="$(dirname "$p")"; chmod o+x "$p" 2>/dev/null || true; done
	fi
	if [ ! -f "$DATA/PG_VERSION" ]; then
		as "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
	fi
	if ! as "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
		as "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w \
			-o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$RUN" start >/dev/null
	fi
	if ! as "$bin/psql" -h "$RUN" -p "$PORT" -U postgres -Atqc "SELECT 1 FROM pg_database WHERE datname='$DB'" postgres | grep -q 1; then
		as "$bin/createdb" -h "$RUN" -p "$PORT" -U postgres "$DB"
	fi
	echo "local-postgres: running on 127.0.0.1:$PORT, database $DB (log: $LOG)" >&2
}

stop() {
	local bin
	bin="$(bindir)" || exit 0
	if [ -f "$DATA/PG_VERSION" ]; then
		as "$bin/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
dsn) echo "postgres://postgres@127.0.0.1:$PORT/$DB?sslmode=disable" ;;
psql) shift; bin="$(bindir)"; exec "$bin/psql" -h "$RUN" -p "$PORT" -U postgres "$DB" "$@" ;;
*) echo "usage: $0 start|stop|dsn|psql" >&2; exit 2 ;;
esac
