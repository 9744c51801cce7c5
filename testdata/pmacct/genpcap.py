#!/usr/bin/env python3
"""Write a small, deterministic pcap of IPv4 and IPv6 traffic crossing a
router's interfaces, and the exact per-(interface, direction, AS) totals it
contains, for checking Lastfluss against pmacctd/nfprobe and softflowd by hand.

The capture looks like a mirror port on a border router (MAC de:ad:be:ef:00:00):
a frame from a neighbour's MAC entered on that neighbour's interface, a frame
to it left on it. pmacct's pre_tag_map turns those MACs into direction and
ifIndex (see pretag.map). Addresses map to ASNs as networks.lst says.

Bytes in the expected totals are layer-3 bytes (IP total length; IPv6 payload
length + 40), what NetFlow octet counters carry. Small frames are padded to the
Ethernet minimum of 60 bytes so that frame length and IP length differ.

usage: genpcap.py OUT.pcap EXPECTED.json [--seed N] [--flows N]
"""

import argparse
import ipaddress
import json
import random
import struct

ROUTER_MAC = bytes.fromhex("deadbeef0000")

# Neighbours: ifIndex -> MAC of the device at the other end.
NEIGHBOUR_MAC = {5: bytes.fromhex("001122334405"),
                 6: bytes.fromhex("001122334406"),
                 7: bytes.fromhex("001122334407")}

# Remote networks: (prefix, ASN as networks.lst maps it, ifIndex it is reached on).
# ASN 0: not in networks.lst. ifIndex 7 is left undeclared in Lastfluss's
# config on purpose (its traffic must be unclassified).
REMOTE = [
    ("10.1.0.0/16", 64501, 5),
    ("2001:db8:1::/48", 64501, 5),
    ("10.2.0.0/16", 64502, 6),
    ("2001:db8:2::/48", 64502, 6),
    ("10.3.0.0/16", 64503, 6),
    ("2001:db8:3::/48", 64503, 6),
    ("198.51.100.0/24", 0, 6),
    ("2001:db8:ff::/48", 0, 6),
    ("10.4.0.0/16", 64504, 7),
    ("2001:db8:4::/48", 64504, 7),
]

# Local networks: 64500 is the router's own AS; 203.0.113.0/24 and
# 2001:db8:200::/48 are local but not in networks.lst (AS 0 on the local side,
# which Lastfluss turns into the exporter's local_asn).
LOCAL = [
    ("192.0.2.0/24", 64500),
    ("2001:db8:100::/48", 64500),
    ("203.0.113.0/24", 0),
    ("2001:db8:200::/48", 0),
]


def pick_addr(rng, prefix):
    net = ipaddress.ip_network(prefix)
    host = rng.randrange(1, min(net.num_addresses - 1, 1 << 16))
    return net.network_address + host


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def l4(proto, sport, dport, length, flags):
    """A transport header plus zero payload making `length` bytes in all."""
    if proto == 6:
        hdr = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)
    elif proto == 17:
        hdr = struct.pack("!HHHH", sport, dport, length, 0)
    else:  # ICMP / ICMPv6 echo request
        hdr = struct.pack("!BBHHH", 8 if proto == 1 else 128, 0, 0, sport, 1)
    return hdr + b"\0" * (length - len(hdr))


def ip_packet(src, dst, proto, sport, dport, l3len, flags):
    if src.version == 4:
        payload = l4(proto, sport, dport, l3len - 20, flags)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, l3len, 0, 0x4000, 64, proto, 0,
                          src.packed, dst.packed)
        hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
        return 0x0800, hdr + payload
    nh = 58 if proto == 1 else proto
    payload = l4(nh, sport, dport, l3len - 40, flags)
    hdr = struct.pack("!IHBB16s16s", 6 << 28, l3len - 40, nh, 64, src.packed, dst.packed)
    return 0x86DD, hdr + payload


def frame(src_mac, dst_mac, ethertype, ip):
    f = dst_mac + src_mac + struct.pack("!H", ethertype) + ip
    return f + b"\0" * max(0, 60 - len(f))  # Ethernet minimum (no FCS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("expected")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flows", type=int, default=400)
    ap.add_argument("--start", type=int, default=1767225600)  # 2026-01-01T00:00:00Z
    ap.add_argument("--span", type=float, default=20.0, help="seconds the capture covers")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    packets = []  # (time, frame bytes, key, l3len)
    for _ in range(args.flows):
        rprefix, ras, ifidx = rng.choice(REMOTE)
        v = ipaddress.ip_network(rprefix).version
        lprefix, las = rng.choice([l for l in LOCAL if ipaddress.ip_network(l[0]).version == v])
        raddr, laddr = pick_addr(rng, rprefix), pick_addr(rng, lprefix)
        proto = rng.choice([6, 6, 17, 1])
        rport, lport = rng.randrange(1024, 65535), rng.choice([80, 443, 53, 123, 8080])
        t0 = args.start + rng.uniform(0, args.span * 0.8)
        # A flow in one direction, often with an answer in the other
        # (one bidirectional flow in a flow cache, two records on export).
        dirs = ["in", "out"]
        rng.shuffle(dirs)
        if rng.random() < 0.6:
            dirs = dirs[:1]
        for d in dirs:
            n = rng.choice([1, 1, 2, 3, 5, 8, 20, 60])
            t = t0
            for i in range(n):
                t += rng.uniform(0, args.span * 0.2 / n)
                minlen = 40 if v == 4 else 60
                l3len = rng.choice([minlen, minlen, 52 if v == 4 else 72, rng.randrange(minlen, 1501), 1500])
                flags = 0x10 if i else 0x02
                if d == "in":
                    src, dst, sport, dport = raddr, laddr, rport, lport
                    smac, dmac = NEIGHBOUR_MAC[ifidx], ROUTER_MAC
                else:
                    src, dst, sport, dport = laddr, raddr, lport, rport
                    smac, dmac = ROUTER_MAC, NEIGHBOUR_MAC[ifidx]
                et, ip = ip_packet(src, dst, proto, sport, dport, l3len, flags)
                key = (ifidx, d, ras, las, v)
                packets.append((t, frame(smac, dmac, et, ip), key, l3len))

    packets.sort(key=lambda p: p[0])
    with open(args.pcap, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, fr, _, _ in packets:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            if usec == 1000000:
                sec, usec = sec + 1, 0
            f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)))
            f.write(fr)

    totals = {}
    for _, fr, key, l3len in packets:
        e = totals.setdefault(key, {"bytes": 0, "packets": 0, "frame_bytes": 0})
        e["bytes"] += l3len
        e["packets"] += 1
        e["frame_bytes"] += len(fr)
    rows = [dict(ifindex=k[0], direction=k[1], remote_asn=k[2], local_asn=k[3], ip_version=k[4], **e)
            for k, e in sorted(totals.items())]
    out = {
        "packets": len(packets),
        "bytes": sum(p[3] for p in packets),
        "frame_bytes": sum(len(p[1]) for p in packets),
        "rows": rows,
    }
    with open(args.expected, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
