#!/usr/bin/env bash
# run.sh [demo]: Lastfluss on examples/lastfluss.hcl with its private
# PostgreSQL (scripts/local-postgres.sh). With "demo", `lastfluss flowgen`
# feeds it from the four exporters the example configures, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/local-postgres.sh start
export LASTFLUSS_DSN="${LASTFLUSS_DSN:-$(scripts/local-postgres.sh dsn)}"

if [ "${1:-}" != demo ]; then
	exec bin/lastfluss run -config examples/lastfluss.hcl
fi

bin/lastfluss run -config examples/lastfluss.hcl &
core=$!
gen=""
cleanup() {
	[ -n "$gen" ] && kill "$gen" 2>/dev/null || true
	kill -TERM "$core" 2>/dev/null || true
	wait "$core" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
# Wait for the metrics endpoint: the collector is listening.
for _ in $(seq 100); do
	if (exec 3<>/dev/tcp/127.0.0.1/9155) 2>/dev/null; then break; fi
	sleep 0.1
done
cat >&2 <<MSG

demo: flowgen sends 2000 flows/s from 127.0.0.10-13; rows land in PostgreSQL every minute.
demo: look at them with   scripts/local-postgres.sh psql -c 'SELECT time, iface, ingress, remote_asn, bandwidth FROM traffic ORDER BY time DESC, bandwidth DESC LIMIT 20'
demo: live view: bin/lastfluss tui -socket var/lastfluss.sock   status: bin/lastfluss status -socket var/lastfluss.sock
demo: metrics at http://127.0.0.1:9155/metrics; Ctrl-C stops.

MSG
bin/lastfluss flowgen -target 127.0.0.1:2055 -sflow-target 127.0.0.1:6343 -rate 2000 -malformed 0 &
gen=$!
wait "$gen"
