#!/bin/sh
# Manual check: real exporters (pmacctd's nfprobe, softflowd) against Lastfluss.
# usage: testdata/pmacct/run.sh [WORKDIR] [SCENARIO...]
# scenarios: nfprobe-v9 nfprobe-v10 nfprobe-mixed-v9 nfprobe-mixed-v10 softflowd-v9 softflowd-v10
#            (the default), and replay: the captured streams in captures/ against their
#            saved totals, which needs neither pmacct nor softflowd.
# Needs: make build; python3; apt-get install pmacct softflowd tcpdump (not for replay).
# Uses ports 22055-22057 and 22155 on 127.0.0.1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-/tmp/lastfluss-pmacct}
[ $# -gt 0 ] && shift
scenarios=${*:-nfprobe-v9 nfprobe-v10 nfprobe-mixed-v9 nfprobe-mixed-v10 softflowd-v9 softflowd-v10}
case " $scenarios " in *" replay "*)
	scenarios=$(echo "$scenarios" | sed 's/\breplay\b//')
	for c in "$here"/captures/*.pcap; do
		c=${c##*/}
		scenarios="$scenarios replay-${c%.pcap}"
	done
esac
LF=127.0.0.1:22055 NFA_PORT=22056 GF=127.0.0.1:22057 METRICS=127.0.0.1:22155

mkdir -p "$work"
cd "$work"
python3 "$here/genpcap.py" --flows "${FLOWS:-400}" capture.pcap expected.json
cp "$here/networks.lst" "$here/pretag.map" .

stop() { # pid signal: signal, then wait for the process to finish its flush
	kill -"$2" "$1" 2>/dev/null || true
	while kill -0 "$1" 2>/dev/null; do sleep 0.2; done
}

softflowd_run() { # version destination name
	# softflowd 1.1.0 does not always exit at the end of the file: wait until
	# it has read every packet, then ask it to shut down (it flushes every
	# flow on the way out).
	softflowd -d -r capture.pcap -v "$1" -n "$2" -c "$PWD/softflowd-$3.ctl" \
		-p "$PWD/softflowd-$3.pid" > "softflowd-$3.log" 2>&1 &
	sf=$!
	want=$(python3 -c 'import json; print(json.load(open("../expected.json"))["packets"])')
	while kill -0 $sf 2>/dev/null && ! softflowctl -c "$PWD/softflowd-$3.ctl" statistics 2>/dev/null |
		grep -q "^Packets processed: $want\$"; do sleep 0.5; done
	softflowctl -c "$PWD/softflowd-$3.ctl" shutdown > /dev/null 2>&1 || true
	wait $sf || true
	grep -E "^(Packets processed|Flows exported)" "softflowd-$3.log"
}

pids=
trap 'for p in $pids; do kill $p 2>/dev/null || true; done' EXIT INT TERM
for port in ${LF#*:} $NFA_PORT ${GF#*:} ${METRICS#*:}; do
	if ss -Hlnu "sport = :$port" | grep -q . || ss -Hlnt "sport = :$port" | grep -q .; then
		echo "port $port is in use: stop what listens there first" >&2
		exit 2
	fi
done

status=0
for s in $scenarios; do
	echo "=== $s"
	rm -rf "$s" && mkdir "$s" && cd "$s"
	cp ../capture.pcap ../networks.lst ../pretag.map .
	sed -e "s#@PLUGIN_DIR@#$root/bin/plugins#" -e "s#@LF@#$LF#" -e "s#@METRICS@#$METRICS#" \
		-e "s#@OUT@#$PWD/lastfluss.jsonl#" "$here/lastfluss.hcl" > lastfluss.hcl
	"$root/bin/lastfluss" run -config lastfluss.hcl > lastfluss.log 2>&1 &
	lf=$!
	pids="$pids $lf"
	nfa=
	case $s in nfprobe-*)
		sed "s/@NFA_PORT@/$NFA_PORT/" "$here/nfacctd.conf" > nfacctd.conf
		nfacctd -f nfacctd.conf > nfacctd.log 2>&1 &
		nfa=$!
		pids="$pids $nfa"
	esac
	td=
	case $s in replay-*) ;; *)
		# The export stream Lastfluss receives, for replays (captures/).
		tcpdump -i lo -U -s0 -w export.pcap "udp and dst port ${LF#*:}" > tcpdump.log 2>&1 &
		td=$!
		pids="$pids $td"
	esac
	sleep 2
	case $s in
	nfprobe-mixed-v*) conf=pmacctd-nfprobe-mixed.conf ;;
	nfprobe-v*) conf=pmacctd-nfprobe.conf ;;
	esac
	v=${s##*-v}
	case $s in
	replay-*)
		python3 "$here/replay.py" "$here/captures/${s#replay-}.pcap" "${LF%:*}" "${LF#*:}"
		;;
	nfprobe-*)
		sed -e "s/@VERSION@/$v/" -e "s/@LF@/$LF/" -e "s/@NFA@/127.0.0.1:$NFA_PORT/" \
			"$here/$conf" > pmacctd.conf
		pmacctd -f pmacctd.conf > pmacctd.log 2>&1
		;;
	softflowd-*)
		# softflowd reads the file and exits once its flows are expired; from a
		# file it knows no ifIndex (input = output = 0). One run to Lastfluss,
		# one to goflow2 (decodes the same records to JSON).
		"$root/bin/tools/goflow2" -listen "netflow://${GF}?workers=1" -transport.file goflow2.json \
			-addr 127.0.0.1:0 > goflow2.log 2>&1 &
		gf=$!
		pids="$pids $gf"
		sleep 1
		softflowd_run "$v" "$LF" lastfluss
		softflowd_run "$v" "$GF" goflow2
		;;
	esac
	# Unclassified traffic shows in the metrics when an interval closes.
	sleep 12
	curl -s "http://$METRICS/metrics" | grep -E '^lastfluss_(flows_received|decode_errors|unclassified|packets_received|flows_unclassified)' > metrics.txt || true
	[ -n "$td" ] && stop $td TERM
	stop $lf TERM
	[ -n "$nfa" ] && stop $nfa INT # pmacct daemons ignore SIGTERM
	case $s in softflowd-*) stop $gf TERM ;; esac
	case $s in
	replay-*)
		python3 "$here/compare.py" --lf lastfluss.jsonl --ifmap peer-64501=5,transit=6 \
			--totals "$here/captures/${s#replay-}.json" --metrics metrics.txt \
			--local-asn 64500 --declared 5,6 || status=1
		;;
	nfprobe-mixed-*)
		# pmacct's broken packets: both collectors lose the same records, so
		# Lastfluss must equal nfacctd; both differ from pmacctd's own count.
		python3 "$here/compare.py" --lf lastfluss.jsonl --ifmap peer-64501=5,transit=6 \
			--print print.csv --nfacctd nfacctd.csv --local-asn 64500 --declared 5,6 || true
		echo "--- Lastfluss against nfacctd only (must agree):"
		python3 "$here/compare.py" --lf lastfluss.jsonl --ifmap peer-64501=5,transit=6 \
			--nfacctd nfacctd.csv --metrics metrics.txt \
			--local-asn 64500 --declared 5,6 --save totals.json || status=1
		;;
	nfprobe-*)
		python3 "$here/compare.py" --lf lastfluss.jsonl --ifmap peer-64501=5,transit=6 \
			--print print.csv --nfacctd nfacctd.csv --expected ../expected.json \
			--local-asn 64500 --declared 5,6 --no-asn --metrics metrics.txt || status=1
		python3 "$here/compare.py" --lf lastfluss.jsonl --ifmap peer-64501=5,transit=6 \
			--print print.csv --nfacctd nfacctd.csv --metrics metrics.txt \
			--local-asn 64500 --declared 5,6 --save totals.json || status=1
		;;
	softflowd-*)
		python3 "$here/compare.py" --softflowd goflow2.json --softflowd-log softflowd-lastfluss.log --metrics metrics.txt \
			--expected ../expected.json --save totals.json || status=1
		;;
	esac
	cat metrics.txt
	cd ..
done
exit $status
