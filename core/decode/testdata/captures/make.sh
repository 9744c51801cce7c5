#!/bin/sh
# Regenerates the softflowd captures: a synthetic pcap (mkpcap.py) replayed
# through softflowd (Debian's softflowd 1.1.0) into a UDP listener that
# writes each datagram as a 4-octet big-endian length and the datagram.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && python3 "$OLDPWD/mkpcap.py")
port=25000
for spec in "-v 5:softflowd-v5" "-v 9:softflowd-v9" "-v 10:softflowd-ipfix" \
	"-v 9 -s 4:softflowd-v9-sampled" "-v 10 -s 4:softflowd-ipfix-sampled" "-v 10 -b:softflowd-ipfix-bidir"; do
	port=$((port + 1))
	python3 recv.py "$port" "${spec##*:}.bin" &
	sleep 0.5
	softflowd -r "$tmp/in.pcap" -n "127.0.0.1:$port" ${spec%%:*} -d >/dev/null 2>&1
	wait
done
