#!/usr/bin/env bash
# bench-e2e.sh: send the same generated NetFlow v9 stream, in turn, to pmacct's
# nfacctd, to goflow2 and to Lastfluss (JSON-lines sink), and print one table:
# flows accounted, CPU seconds of each collector's processes, CPU per flow and
# the ratios against Lastfluss. All three run in one invocation, so the ratios
# hold on a noisy machine even when the absolute figures move.
#
#   scripts/bench-e2e.sh [-rate 1000000] [-duration 10s] [-seed 1] [-keep]
#                        [-collectors nfacctd,goflow2,lastfluss]
#
# The table is also written to var/bench-e2e/last.txt.
#
# The stream is generated once by `lastfluss flowgen` (seed, 2 exporters, 24
# records per datagram, 1:1000) and recorded; scripts/bench-e2e/replay then
# sends the recorded datagrams, from the exporters' addresses and paced at the
# rate asked for, to each collector in turn. Replaying costs a fraction of the
# CPU generating does, so on a 2-core machine the collectors face the rate
# asked for, and they receive the very same bytes. The recording and the
# stream's expected totals are kept under var/bench-e2e/ for the next run.
#
# It installs what it needs: nfacctd from Debian's `pmacct` package (as root),
# goflow2 v2.2.6 built from the Go module proxy into bin/tools, jq and curl.
# Every collector gets the same 8 MiB receive buffer; as root the script raises
# net.core.rmem_max for the run (and restores it) so nfacctd is granted it.
#
# How each collector's "flows accounted" is counted:
#   nfacctd   sum of the FLOWS column of its print plugin output (one per record)
#   goflow2   goflow2_flow_process_nf_flowset_records_total{type="DataFlowSet"}
#   Lastfluss sum of "flows" in the JSON-lines output, against the totals that
#             flowgen computes for the same stream (a record crossing two
#             declared interfaces counts on both; DESIGN.md "What is counted")
# CPU is utime+stime from /proc/<pid>/stat over the collector's process tree
# (threads and plugin processes included): read once the collector has settled
# after its start, and again once it has drained the stream, just before it is
# stopped; the difference is what the stream cost (start-up is left out).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GOFLOW2_VERSION="v2.2.6"
GOFLOW2="$ROOT/bin/tools/goflow2"
LASTFLUSS="$ROOT/bin/lastfluss"
RCVBUF=$((8 << 20)) # the receive buffer every collector asks for
CLK_TCK="$(getconf CLK_TCK)"

RATE=1000000
DURATION=10s
SEED=1
KEEP=0
COLLECTORS="nfacctd,goflow2,lastfluss"
REPLAY="$ROOT/bin/tools/bench-e2e-replay"

# The stream: the issue's setup (2 exporters, 24 records per datagram, 1:1000).
GEN_ARGS=(-protocols v9 -exporters 2 -records-per-packet 24 -sampling 1000 -malformed 0)

STARTED_PIDS=() # every collector started, for cleanup
SYSCTL_RESTORE=() # "key=value" pairs to put back on exit
POLICY_RC_CREATED=0

log() { printf 'bench-e2e: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

usage() {
	cat >&2 <<EOF
usage: $0 [-rate FLOWS_PER_S] [-duration D] [-seed N] [-keep] [-collectors LIST]
  -rate        flows per second sent to each collector (default $RATE)
  -duration    how long it sends, e.g. 10s, 500ms, 1m (default $DURATION)
  -seed        flowgen scenario seed (default $SEED)
  -keep        keep the run directory (outputs, logs, truth) under var/bench-e2e
  -collectors  which to run, in this order (default $COLLECTORS)
EOF
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		-rate | --rate) RATE="${2:?}"; shift 2 ;;
		-duration | --duration) DURATION="${2:?}"; shift 2 ;;
		-seed | --seed) SEED="${2:?}"; shift 2 ;;
		-keep | --keep) KEEP=1; shift ;;
		-collectors | --collectors) COLLECTORS="${2:?}"; shift 2 ;;
		-h | --help) usage ;;
		*) log "unknown argument: $1"; usage ;;
		esac
	done
	[[ "$RATE" =~ ^[0-9]+$ && "$RATE" -gt 0 ]] || die "-rate must be a positive integer, got $RATE"
	local c
	for c in ${COLLECTORS//,/ }; do
		case "$c" in
		nfacctd | goflow2 | lastfluss) ;;
		*) die "unknown collector $c (nfacctd, goflow2, lastfluss)" ;;
		esac
	done
}

# duration_ms turns 10s, 1500ms, 2m, 1m30s into milliseconds.
duration_ms() {
	local d="$1" total=0 n unit
	[[ "$d" =~ ^([0-9]+(ms|s|m))+$ ]] || die "bad -duration $d (use e.g. 10s, 500ms, 1m)"
	while [[ "$d" =~ ^([0-9]+)(ms|s|m)(.*)$ ]]; do
		n="${BASH_REMATCH[1]}" unit="${BASH_REMATCH[2]}" d="${BASH_REMATCH[3]}"
		case "$unit" in
		ms) total=$((total + n)) ;;
		s) total=$((total + n * 1000)) ;;
		m) total=$((total + n * 60000)) ;;
		esac
	done
	echo "$total"
}

# ---- cleanup ---------------------------------------------------------------

# descendants PID prints PID's children, grandchildren, ... from /proc.
descendants() {
	local root="$1" stat rest pid ppid
	declare -A kids=()
	for stat in /proc/[0-9]*/stat; do
		pid="${stat#/proc/}" pid="${pid%/stat}"
		read -r rest 2>/dev/null <"$stat" || continue
		rest="${rest##*) }"
		read -r _ ppid _ <<<"$rest"
		kids[$ppid]+="$pid "
	done
	local queue=("$root") p
	while [ ${#queue[@]} -gt 0 ]; do
		p="${queue[0]}" queue=("${queue[@]:1}")
		for pid in ${kids[$p]:-}; do
			echo "$pid"
			queue+=("$pid")
		done
	done
}

# alive PID: the process exists and is not a zombie.
alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat="${stat##*) }"
	[ "${stat:0:1}" != Z ]
}

any_alive() {
	local p
	for p in "$@"; do
		alive "$p" && return 0
	done
	return 1
}

# reaped PID: forget a collector we waited for, so that cleanup never signals
# a process that got its pid later.
reaped() {
	local p keep=()
	for p in "${STARTED_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	STARTED_PIDS=("${keep[@]}")
}

# kill_tree PID: the collector and whatever it started, by pid.
kill_tree() {
	local pid="$1" p
	alive "$pid" || return 0
	for p in $(descendants "$pid") "$pid"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local pid kv
	for pid in "${STARTED_PIDS[@]}"; do
		kill_tree "$pid"
	done
	for kv in "${SYSCTL_RESTORE[@]}"; do
		sysctl -q -w "$kv" >/dev/null || log "could not restore $kv"
	done
	if [ "$POLICY_RC_CREATED" -eq 1 ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
	if [ "$KEEP" -eq 0 ] && [ -n "${RUN_DIR:-}" ]; then
		rm -rf "$RUN_DIR"
	fi
}

# ---- what the run needs ----------------------------------------------------

is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
	is_root || die "missing $*: install it as root (apt-get install $*) or run this script as root"
	log "installing $* from the Debian archive"
	export DEBIAN_FRONTEND=noninteractive
	# policy-rc.d answering 101 keeps packages (pmacct's nfacctd unit) from
	# starting services during the install.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_RC_CREATED=1
	fi
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_tools() {
	local missing=()
	command -v jq >/dev/null || missing+=(jq)
	command -v curl >/dev/null || missing+=(curl)
	command -v ss >/dev/null || missing+=(iproute2)
	command -v nfacctd >/dev/null || missing+=(pmacct)
	[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

	if ! go version -m "$GOFLOW2" 2>/dev/null | grep -q "goflow2/v2[[:space:]]*$GOFLOW2_VERSION"; then
		log "building goflow2 $GOFLOW2_VERSION into bin/tools"
		GOBIN="$ROOT/bin/tools" go install "github.com/netsampler/goflow2/v2/cmd/goflow2@$GOFLOW2_VERSION"
	fi
	if [ ! -x "$LASTFLUSS" ] || [ ! -x "$ROOT/bin/plugins/lastfluss-sink-jsonl" ]; then
		log "building Lastfluss (make build)"
		make -C "$ROOT" build >/dev/null
	fi
	(cd "$ROOT" && go build -o "$REPLAY" ./scripts/bench-e2e/replay)
}

# ensure_rmem lets a plain SO_RCVBUF of 8 MiB through (nfacctd uses that;
# Lastfluss uses SO_RCVBUFFORCE as root). Restored on exit.
ensure_rmem() {
	local cur
	cur="$(sysctl -n net.core.rmem_max)"
	[ "$cur" -lt "$RCVBUF" ] || return 0
	if is_root; then
		log "raising net.core.rmem_max from $cur to $RCVBUF for the run (restored on exit)"
		SYSCTL_RESTORE+=("net.core.rmem_max=$cur")
		sysctl -q -w "net.core.rmem_max=$RCVBUF"
	else
		log "warning: net.core.rmem_max is $cur < $RCVBUF and we are not root: nfacctd gets a smaller buffer"
	fi
}

# free_port BASE prints the first port from BASE with neither a UDP nor a TCP
# socket bound to it.
free_port() {
	local p="$1"
	while [ -n "$(ss -Hanu "sport = :$p")$(ss -Hant "sport = :$p")" ]; do
		p=$((p + 1))
	done
	echo "$p"
}

# ---- measuring -------------------------------------------------------------

# cpu_ticks PID: utime+stime of PID and its descendants, in clock ticks,
# plus the children they already reaped (cutime+cstime).
cpu_ticks() {
	local total=0 p f
	for p in "$1" $(descendants "$1"); do
		read -r f 2>/dev/null <"/proc/$p/stat" || continue
		f="${f##*) }"
		read -ra f <<<"$f"
		# f[0] is field 3 (state): utime=14 stime=15 cutime=16 cstime=17
		total=$((total + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$total"
}

# wait_drained PID: wait until the collector stops burning CPU, i.e. it has
# read and processed what is in its socket (at most 30 s).
wait_drained() {
	local pid="$1" before after i
	after="$(cpu_ticks "$pid")"
	for i in $(seq 60); do
		before="$after"
		sleep 0.5
		after="$(cpu_ticks "$pid")"
		[ $((after - before)) -gt $((CLK_TCK / 50)) ] || return 0
	done
	log "warning: pid $pid still busy 30 s after the stream ended; what it has not processed by now is not accounted"
}

# udp_sockets PORT: "drops rcvbuf" summed over the sockets bound to PORT.
udp_sockets() {
	local port hex drops=0 rb=0 n=0 line
	port="$1"
	hex="$(printf '%04X' "$port")"
	# /proc/net/udp: local_address is field 2 (IP:PORT in hex), drops is the last field.
	drops="$(awk -v p=":$hex" '$2 ~ p"$" {d += $NF} END {print d + 0}' /proc/net/udp)"
	while read -r line; do
		[[ "$line" =~ rb([0-9]+) ]] || continue
		rb="${BASH_REMATCH[1]}" n=$((n + 1))
	done < <(ss -Hanum "sport = :$port")
	echo "$drops $rb $n"
}

wait_udp_bound() {
	local port="$1" pid="$2" i
	for i in $(seq 100); do
		[ -n "$(ss -Hanu "sport = :$port")" ] && return 0
		alive "$pid" || return 1
		sleep 0.1
	done
	return 1
}

wait_http() {
	local url="$1" i
	for i in $(seq 100); do
		curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# stop PID SIGNAL: signal the collector and wait for it and the processes it
# started (nfacctd's plugin writes its output after the core has gone) to
# exit; KILL after 30 s.
stop() {
	local pid="$1" sig="$2" i tree
	tree="$(descendants "$pid") $pid"
	kill "-$sig" "$pid" 2>/dev/null || true
	for i in $(seq 300); do
		# shellcheck disable=SC2086 # a list of pids
		any_alive $tree || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "warning: pid $pid still running 30 s after SIG$sig; killing it"
		kill_tree "$pid"
	fi
	wait "$pid" 2>/dev/null || true
	reaped "$pid"
}

# record_stream: generate the stream once, recording its datagrams, the
# exporter blocks Lastfluss needs and the stream's exact totals into
# STREAM_DIR (reused while seed, flow count and flowgen stay the same).
record_stream() {
	local gen port rec_pid out recorded datagrams old
	gen="$(sha256sum "$LASTFLUSS" | cut -c1-12)"
	STREAM_DIR="$ROOT/var/bench-e2e/stream-seed$SEED-flows$FLOWS-$gen"
	if [ ! -s "$STREAM_DIR/totals" ]; then
		# Recordings by another flowgen are stale (and can take hundreds of MB).
		for old in "$ROOT"/var/bench-e2e/stream-*; do
			[ ! -d "$old" ] || [[ "$old" == *"-$gen" ]] || rm -rf "$old"
		done
		rm -rf "$STREAM_DIR"
		mkdir -p "$STREAM_DIR"
		log "generating and recording the stream ($FLOWS flows, seed $SEED) into $STREAM_DIR"
		port="$(free_port 23050)"
		"$REPLAY" record -listen "127.0.0.1:$port" -out "$STREAM_DIR/stream.bin" >"$STREAM_DIR/record.out" &
		rec_pid=$!
		STARTED_PIDS+=("$rec_pid")
		wait_udp_bound "$port" "$rec_pid" || die "the recorder did not start"
		out="$("$LASTFLUSS" flowgen "${GEN_ARGS[@]}" -seed "$SEED" -flows "$FLOWS" -rate "$RATE" \
			-target "127.0.0.1:$port" -write-config "$STREAM_DIR/exporters.hcl" \
			-truth "$STREAM_DIR/truth.json" 2>&1)" || die "flowgen failed: $out"
		kill -TERM "$rec_pid"
		wait "$rec_pid" || die "the recorder failed"
		reaped "$rec_pid"
		[[ "$out" =~ sent\ ([0-9]+)\ datagrams ]] || die "flowgen output not understood: $out"
		datagrams="${BASH_REMATCH[1]}"
		recorded="$(sed -n 's/^recorded=//p' "$STREAM_DIR/record.out")"
		[ "$recorded" = "$datagrams" ] ||
			die "recorded $recorded of the $datagrams datagrams flowgen sent; try again on a quieter machine"
		{
			jq -r '[([.exporters[].flows_sent] | add), ([.rows[].flows] | add)] | @tsv' "$STREAM_DIR/truth.json"
		} >"$STREAM_DIR/totals.tmp"
		[ "$KEEP" -eq 1 ] || rm -f "$STREAM_DIR/truth.json"
		mv "$STREAM_DIR/totals.tmp" "$STREAM_DIR/totals"
	else
		log "reusing the recorded stream in $STREAM_DIR"
	fi
	read -r SENT EXPECTED_ROWS <"$STREAM_DIR/totals"
	[ "$SENT" -eq "$FLOWS" ] || die "the stream has $SENT flows, not $FLOWS"
}

# send NAME PORT: replay the stream to the collector; sets SEND_RATE to the
# flows/s achieved. The replay runs in the background so that a signal
# reaches the trap at once.
send() {
	local name="$1" port="$2" log="$RUN_DIR/$1/replay.log" pid sent errors seconds
	"$REPLAY" send -in "$STREAM_DIR/stream.bin" -target "127.0.0.1:$port" \
		-seconds "$(awk -v f="$FLOWS" -v r="$RATE" 'BEGIN {print f / r}')" >"$log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait "$pid" || die "replaying to $name failed: $(cat "$log")"
	reaped "$pid"
	read -r sent errors seconds <<<"$(sed -n 's/^sent=\([0-9]*\) errors=\([0-9]*\) seconds=\([0-9.]*\)$/\1 \2 \3/p' "$log")"
	[ -n "$seconds" ] || die "replay output not understood: $(cat "$log")"
	[ "$errors" -eq 0 ] || log "warning: $errors datagrams could not be sent to $name"
	DATAGRAMS="$sent"
	SEND_RATE="$(awk -v f="$FLOWS" -v s="$seconds" 'BEGIN {printf "%d", f / s}')"
}

# Each run_* sets RESULT="accounted expected cpu_ticks drops rcvbuf sockets send_rate".

run_nfacctd() {
	local dir="$RUN_DIR/nfacctd" port pid start ticks sock flows
	mkdir -p "$dir"
	port="$(free_port 23055)"
	cat >"$dir/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $port
nfacctd_pipe_size: $RCVBUF
nfacctd_renormalize: true
plugins: print[bench]
aggregate[bench]: peer_src_ip, in_iface, out_iface, src_as, dst_as, flows
! Tuned as CONFIG-KEYS advises for heavy traffic: the core-to-plugin queue
! with a 1:1000 buffer-to-pipe ratio (at 10240/10240000 its plugin loses ~20%
! at 1M flows/s), and a prime number of cache buckets for the >1M aggregates.
plugin_pipe_size[bench]: 102400000
plugin_buffer_size[bench]: 102400
print_cache_entries[bench]: 999983
print_output[bench]: csv
print_output_file[bench]: $dir/out.csv
print_output_file_append[bench]: true
print_refresh_time[bench]: 60
EOF
	nfacctd -f "$dir/nfacctd.conf" >"$dir/nfacctd.log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_udp_bound "$port" "$pid" || die "nfacctd did not start; see $dir/nfacctd.log"

	wait_drained "$pid"
	start="$(cpu_ticks "$pid")"
	send nfacctd "$port"
	wait_drained "$pid"
	sock="$(udp_sockets "$port")"
	ticks=$(($(cpu_ticks "$pid") - start))
	# The core process blocks SIGTERM while it waits for packets; SIGINT makes
	# it purge the plugin's cache to the output file and exit.
	stop "$pid" INT

	[ -s "$dir/out.csv" ] || die "nfacctd wrote no output; see $dir/nfacctd.log"
	NOTE[nfacctd]="$(grep -c -i 'missing data' "$dir/nfacctd.log" || true) 'missing data' warnings in its log (core to plugin queue)"
	flows="$(awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "FLOWS") c = i; next}
		{s += $c} END {printf "%d", s}' "$dir/out.csv")"
	RESULT="$flows $SENT $ticks $sock $SEND_RATE"
}

run_goflow2() {
	local dir="$RUN_DIR/goflow2" port mport pid start ticks sock flows cur_default
	mkdir -p "$dir"
	port="$(free_port 23056)"
	mport="$(free_port 23156)"
	# goflow2 has no receive buffer setting: its socket gets
	# net.core.rmem_default. Raise that for the moment it opens the socket, to
	# what the kernel grants the others for 8 MiB (it doubles SO_RCVBUF).
	cur_default="$(sysctl -n net.core.rmem_default)"
	if is_root; then
		SYSCTL_RESTORE+=("net.core.rmem_default=$cur_default")
		sysctl -q -w "net.core.rmem_default=$((2 * RCVBUF))"
	else
		log "warning: not root: goflow2's socket gets net.core.rmem_default ($cur_default)"
	fi
	"$GOFLOW2" -listen "netflow://127.0.0.1:$port" -format bin -transport.file /dev/null \
		-addr "127.0.0.1:$mport" >"$dir/goflow2.log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_udp_bound "$port" "$pid" || die "goflow2 did not start; see $dir/goflow2.log"
	if is_root; then
		sysctl -q -w "net.core.rmem_default=$cur_default"
	fi
	wait_http "http://127.0.0.1:$mport/metrics" || die "goflow2 metrics did not come up"

	wait_drained "$pid"
	start="$(cpu_ticks "$pid")"
	send goflow2 "$port"
	wait_drained "$pid"
	sock="$(udp_sockets "$port")"
	ticks=$(($(cpu_ticks "$pid") - start))
	curl -fsS "http://127.0.0.1:$mport/metrics" >"$dir/metrics.txt"
	stop "$pid" TERM

	flows="$(awk '/^goflow2_flow_process_nf_flowset_records_total\{.*type="DataFlowSet"/ {s += $NF}
		END {printf "%d", s}' "$dir/metrics.txt")"
	NOTE[goflow2]="$(awk -v sent="$DATAGRAMS" -v kdrops="${sock%% *}" '
		/^goflow2_flow_traffic_packets_total/ {n += $NF}
		/^goflow2_flow_dropped_packets_total/ {d += $NF}
		END {
			printf "decoded %d of the %d datagrams (goflow2_flow_traffic_packets_total), %d dropped from its queue", n, sent, d
			if (sent - kdrops - n - d > 0) printf ", %d still in its queue when stopped", sent - kdrops - n - d
		}' "$dir/metrics.txt")"
	RESULT="$flows $SENT $ticks $sock $SEND_RATE"
}

run_lastfluss() {
	local dir="$RUN_DIR/lastfluss" port mport pid start ticks sock flows
	mkdir -p "$dir"
	port="$(free_port 23057)"
	mport="$(free_port 23157)"
	cat >"$dir/lastfluss.hcl" <<EOF
collector_id = "bench-e2e"
interval     = "1m"
plugin_dir   = "$ROOT/bin/plugins"
state_dir    = "$dir/state"

listen "netflow" {
  address        = "127.0.0.1:$port"
  receive_buffer = "$((RCVBUF >> 20))MiB"
}

metrics { address = "127.0.0.1:$mport" }

sink "jsonl" {
  plugin = "sink-jsonl"
  config { path = "$dir/out.jsonl" }
}

EOF
	cat "$STREAM_DIR/exporters.hcl" >>"$dir/lastfluss.hcl"
	"$LASTFLUSS" run -config "$dir/lastfluss.hcl" >"$dir/lastfluss.log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_udp_bound "$port" "$pid" || die "Lastfluss did not start; see $dir/lastfluss.log"
	wait_http "http://127.0.0.1:$mport/metrics" || die "Lastfluss metrics did not come up"

	wait_drained "$pid"
	start="$(cpu_ticks "$pid")"
	send lastfluss "$port"
	wait_drained "$pid"
	sock="$(udp_sockets "$port")"
	ticks=$(($(cpu_ticks "$pid") - start))
	curl -fsS "http://127.0.0.1:$mport/metrics" >"$dir/metrics.txt"
	# On SIGTERM Lastfluss closes the partial interval and delivers it.
	stop "$pid" TERM

	[ -s "$dir/out.jsonl" ] || die "Lastfluss wrote no output; see $dir/lastfluss.log"
	flows="$(jq -n '[inputs.flows] | add // 0' "$dir/out.jsonl")"
	NOTE[lastfluss]="read $(awk '/^lastfluss_flows_received_total/ {s += $NF} END {printf "%d", s}' "$dir/metrics.txt") of the $SENT records (lastfluss_flows_received_total)"
	RESULT="$flows $EXPECTED_ROWS $ticks $sock $SEND_RATE"
}

# ---- the table -------------------------------------------------------------

print_table() {
	local c rows=""
	for c in ${COLLECTORS//,/ }; do
		rows+="${LABEL[$c]} ${RESULTS[$c]}"$'\n'
	done
	printf '\n'
	printf 'bench-e2e: NetFlow v9, 2 exporters, 24 records/datagram, sampling 1:1000, seed %s\n' "$SEED"
	printf 'stream: %s flows at %s flows/s asked (%s), replayed; receive buffer %s MiB per socket; %s CPUs\n\n' \
		"$SENT" "$RATE" "$DURATION" "$((RCVBUF >> 20))" "$(nproc)"
	awk -v hz="$CLK_TCK" -v sent="$SENT" '
	BEGIN {
		fmt = "%-10s %10s %10s %8s %8s %7s %8s %8s %9s %9s\n"
		printf fmt, "collector", "sent fl/s", "accounted", "%", "drops", "CPU s", "us/flow", "CPU/LF", "us/fl/LF", "rcvbuf"
	}
	NF > 0 {
		n++
		name[n] = $1; acc[n] = $2; cpu[n] = $4 / hz; drops[n] = $5
		rb[n] = $6; socks[n] = $7; rate[n] = $8
		frac[n] = $3 > 0 ? $2 / $3 : 0
		# CPU per flow actually accounted, in records of the stream.
		us[n] = frac[n] > 0 ? cpu[n] * 1e6 / (frac[n] * sent) : 0
		if ($1 == "Lastfluss") { lf_cpu = cpu[n]; lf_us = us[n] }
	}
	END {
		for (i = 1; i <= n; i++) {
			printf fmt, name[i], rate[i], acc[i], sprintf("%.2f%%", 100 * frac[i]), drops[i],
				sprintf("%.2f", cpu[i]), sprintf("%.3f", us[i]),
				(lf_cpu > 0 ? sprintf("%.2fx", cpu[i] / lf_cpu) : "-"),
				(lf_us > 0 ? sprintf("%.2fx", us[i] / lf_us) : "-"),
				sprintf("%dMiB x%d", rb[i] / 1048576, socks[i])
		}
	}' <<<"$rows"
	cat <<EOF

sent fl/s: the rate the replay achieved towards that collector ($SENT flows each time).
accounted, %: nfacctd = FLOWS of its print output, of the flows sent; goflow2 = v9 data
  records decoded, of the flows sent; Lastfluss = "flows" in the JSON-lines output, of
  the $EXPECTED_ROWS flowgen expects there for this stream (a record on two declared
  interfaces counts on both).
drops: datagrams the kernel dropped on the collector's sockets (/proc/net/udp).
CPU s: utime+stime of the collector's processes and threads (/proc), from before the
  stream (start-up settled) to after it (drained), just before the collector is stopped.
us/flow: CPU µs per flow accounted (in records of the stream).
/LF: the collector's figure over Lastfluss's (above 1: Lastfluss uses less).
rcvbuf: the kernel's receive buffer per socket (ss skmem rb; Linux doubles the 8 MiB asked for) x sockets.
EOF
	for c in ${COLLECTORS//,/ }; do
		[ -z "${NOTE[$c]:-}" ] || printf '%s: %s\n' "${LABEL[$c]}" "${NOTE[$c]}"
	done
}

main() {
	parse_args "$@"
	local ms
	ms="$(duration_ms "$DURATION")"
	FLOWS=$((RATE * ms / 1000))
	[ "$FLOWS" -gt 0 ] || die "-rate × -duration sends no flow"

	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_tools
	mkdir -p "$ROOT/var/bench-e2e"
	RUN_DIR="$(mktemp -d "$ROOT/var/bench-e2e/run.XXXXXX")"
	ensure_rmem

	record_stream

	declare -gA RESULTS=() NOTE=()
	declare -gA LABEL=([nfacctd]=nfacctd [goflow2]=goflow2 [lastfluss]=Lastfluss)
	local c
	for c in ${COLLECTORS//,/ }; do
		log "sending $FLOWS flows at $RATE flows/s to $c"
		"run_$c"
		RESULTS[$c]="$RESULT"
		log "$c: $RESULT"
		sleep 1 # let the previous collector's leftovers settle
	done
	print_table | tee "$ROOT/var/bench-e2e/last.txt"
	if [ "$KEEP" -eq 1 ]; then
		log "outputs and logs kept in $RUN_DIR"
	fi
}

main "$@"
