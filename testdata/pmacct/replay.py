#!/usr/bin/env python3
"""Send the UDP payloads of a pcap (an exporter's stream captured on the
loopback, Ethernet link type) to HOST:PORT in order, one socket per original
source port, so a collector sees the same exporters' datagrams again.

usage: replay.py CAPTURE.pcap HOST PORT
"""
import socket
import struct
import sys
import time


def udp_payloads(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        sys.exit("%s: not a little-endian microsecond pcap" % path)
    off = 24
    while off < len(data):
        _, _, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + caplen]
        off += caplen
        if struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ihl = (frame[14] & 15) * 4
        if frame[23] != 17:
            continue
        udp = frame[14 + ihl:]
        sport, _, ulen = struct.unpack("!HHH", udp[:6])
        yield sport, udp[8:ulen]


def main():
    path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    socks = {}
    for sport, payload in udp_payloads(path):
        s = socks.get(sport)
        if s is None:
            s = socks[sport] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
        s.sendto(payload, (host, port))
        time.sleep(0.005)  # no burst: a replay must not overrun the socket


if __name__ == "__main__":
    main()
