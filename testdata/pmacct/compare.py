#!/usr/bin/env python3
"""Compare per-(ifIndex, direction, remote AS, local AS, IP version) totals
from Lastfluss's sink-jsonl output with pmacct's own accounting and with the
generator's truth.

Sources (each optional but --lf):
  --lf FILE        Lastfluss sink-jsonl lines (summed over all batches)
  --ifmap N=I,..   Lastfluss interface name -> ifIndex
  --print FILE     pmacctd print plugin CSV, aggregate tag, tag2, src_as,
                   dst_as, etype (tag 1 = in, 2 = out; tag2 = ifIndex)
  --nfacctd FILE   nfacctd print plugin CSV, aggregate in_iface, out_iface,
                   src_as, dst_as, etype
  --expected FILE  genpcap.py's truth
  --totals FILE    totals saved with --save (captures/*.json): for a replay
  --local-asn N    the exporter's local_asn in Lastfluss's config: a local AS
                   of 0 in the other sources is compared as N
  --declared 5,6   ifIndexes declared in Lastfluss (others: unclassified)
  --no-asn         compare per (ifIndex, direction, IP version) only
  --metrics FILE   Lastfluss metrics scraped after the last interval closed:
                   lastfluss_unclassified_bytes{ifindex} must equal the truth
                   for the undeclared ifIndexes (with --expected)
  --save FILE      when everything agrees, write Lastfluss's totals (and
                   records received, unclassified bytes) as JSON: the truth
                   for a replay of the captured export stream
  --softflowd FILE goflow2 JSON lines decoded from softflowd's stream; with
  --softflowd-log  softflowd's output (its statistics at exit), --expected
                   and --metrics: totals only (softflowd reading a file
                   exports no ifIndex and no AS), see softflowd_check

Exit status 0 when every source given agrees with Lastfluss on every key.
"""

import re

import argparse
import csv
import json
import sys
from collections import defaultdict


def add(tab, key, b, p):
    tab[key][0] += b
    tab[key][1] += p


def load_lf(path, ifmap):
    tab = defaultdict(lambda: [0, 0])
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("other"):
                sys.exit("an 'other' row: the key cap was hit")
            key = (ifmap[r["interface"]], r["direction"], r["remote_asn"], r["local_asn"], r["ip_version"])
            add(tab, key, r["bytes"], r["packets"])
    return tab


def etype_version(e):
    return {"800": 4, "86dd": 6, "86DD": 6}[e]


def load_print(path):
    tab = defaultdict(lambda: [0, 0])
    with open(path) as f:
        for r in csv.DictReader(f):
            d = {"1": "in", "2": "out"}.get(r["TAG"])
            if d is None:
                continue  # no direction: nfprobe exports no ifIndex for it
            src, dst = int(r["SRC_AS"]), int(r["DST_AS"])
            remote, local = (src, dst) if d == "in" else (dst, src)
            add(tab, (int(r["TAG2"]), d, remote, local, etype_version(r["ETYPE"])),
                int(r["BYTES"]), int(r["PACKETS"]))
    return tab


def load_nfacctd(path):
    tab = defaultdict(lambda: [0, 0])
    with open(path) as f:
        for r in csv.DictReader(f):
            src, dst = int(r["SRC_AS"]), int(r["DST_AS"])
            v = etype_version(r["ETYPE"])
            b, p = int(r["BYTES"]), int(r["PACKETS"])
            if int(r["IN_IFACE"]):
                add(tab, (int(r["IN_IFACE"]), "in", src, dst, v), b, p)
            if int(r["OUT_IFACE"]):
                add(tab, (int(r["OUT_IFACE"]), "out", dst, src, v), b, p)
    return tab


def load_expected(path):
    tab = defaultdict(lambda: [0, 0])
    for r in json.load(open(path))["rows"]:
        add(tab, (r["ifindex"], r["direction"], r["remote_asn"], r["local_asn"], r["ip_version"]),
            r["bytes"], r["packets"])
    return tab


def normalise(tab, local_asn, declared, no_asn):
    out = defaultdict(lambda: [0, 0])
    for (ifx, d, remote, local, v), (b, p) in tab.items():
        if declared and ifx not in declared:
            continue
        if local == 0 and local_asn:
            local = local_asn
        key = (ifx, d, v) if no_asn else (ifx, d, remote, local, v)
        add(out, key, b, p)
    return out


def load_metrics(path):
    """lastfluss_unclassified_bytes per ifIndex, and flows received."""
    uncl, flows = {}, 0
    for line in open(path):
        m = re.match(r'lastfluss_unclassified_bytes\{.*ifindex="(\d+)".*\} (\S+)', line)
        if m:
            uncl[int(m.group(1))] = int(float(m.group(2)))
        m = re.match(r'lastfluss_flows_received_total\{.*\} (\S+)', line)
        if m:
            flows += int(float(m.group(1)))
    return uncl, flows


def unclassified_check(metrics, expected, declared):
    uncl, _ = load_metrics(metrics)
    want = defaultdict(int)
    for r in json.load(open(expected))["rows"]:
        if r["ifindex"] not in declared:
            want[r["ifindex"]] += r["bytes"]
    ok = dict(want) == uncl
    print("unclassified bytes per ifIndex: lastfluss %s, pcap %s%s" % (
        uncl, dict(want), "" if ok else "  <-- differs"))
    return ok


def softflowd_stats(path):
    """softflowd's own account at exit: records exported, octets, packets."""
    text = open(path).read()
    recs = int(re.search(r"Flows exported: \d+ \((\d+) records\)", text).group(1))
    octets = packets = 0
    for m in re.finditer(r"^\s+\S+ \(\d+\):\s+(\d+)\s+(\d+)", text, re.M):
        octets += int(m.group(1))
        packets += int(m.group(2))
    return recs, octets, packets


def softflowd_check(path, metrics, expected, stats):
    """softflowd from a file: every record has ifIndex 0 both ways, so
    Lastfluss counts it all as unclassified on ifIndex 0 (bytes only in the
    metrics). The truth is softflowd's own account (records, octets) and the
    capture; goflow2's decode of the same stream is shown for reference.

    softflowd 1.1.0 counts a packet's octets as its frame length minus the
    link header (softflowd.c: process_packet(..., phdr->len - s, ...)), so
    Ethernet padding of short frames is counted: its byte totals equal
    frame_bytes - 14 * packets of the capture, not the IP bytes."""
    gf = defaultdict(lambda: [0, 0, 0])
    for line in open(path):
        r = json.loads(line)
        v = {"IPv4": 4, "IPv6": 6, 2048: 4, 34525: 6}[r.get("etype")]
        gf[v][0] += int(r.get("bytes", 0))
        gf[v][1] += int(r.get("packets", 0))
        gf[v][2] += 1
    exp = json.load(open(expected))
    fb = sum(r["frame_bytes"] - 14 * r["packets"] for r in exp["rows"])
    recs, octets, packets = softflowd_stats(stats)
    uncl, flows = load_metrics(metrics)
    print("softflowd's own account: %d records, %d octets, %d packets" % (recs, octets, packets))
    print("capture: %d packets, frame-14 bytes %d, IP bytes %d" % (exp["packets"], fb, exp["bytes"]))
    print("goflow2 (reference only): %d records, %d bytes, %d packets" % (
        gf[4][2] + gf[6][2], gf[4][0] + gf[6][0], gf[4][1] + gf[6][1]))
    ok = octets == fb and packets == exp["packets"] and uncl == {0: octets} and flows == recs
    print("lastfluss: %d records, unclassified bytes %s%s" % (flows, uncl, "" if ok else "  <-- differs"))
    return ok


def decode_errors(path):
    errs = {}
    for line in open(path):
        m = re.match(r'lastfluss_decode_errors_total\{.*reason="(\w+)".*\} (\S+)', line)
        if m and float(m.group(2)):
            errs[m.group(1)] = int(float(m.group(2)))
    return errs


def totals_check(path, metrics):
    """Records, unclassified bytes and decode errors of a replay against
    the saved totals."""
    want = json.load(open(path))
    uncl, flows = load_metrics(metrics)
    got = {"records": flows, "unclassified_bytes": {str(k): v for k, v in uncl.items()},
           "decode_errors": decode_errors(metrics)}
    ok = True
    for k, v in got.items():
        same = want.get(k, {}) == v
        ok &= same
        print("%s: lastfluss %s, saved %s%s" % (k, v, want.get(k), "" if same else "  <-- differs"))
    return ok


def save(path, tab, metrics):
    uncl, flows = load_metrics(metrics) if metrics else ({}, 0)
    rows = [dict(ifindex=k[0], direction=k[1], remote_asn=k[2], local_asn=k[3], ip_version=k[4],
                 bytes=v[0], packets=v[1]) for k, v in sorted(tab.items(), key=str)]
    with open(path, "w") as f:
        json.dump({"records": flows, "unclassified_bytes": {str(k): v for k, v in uncl.items()},
                   "decode_errors": decode_errors(metrics) if metrics else {},
                   "rows": rows}, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lf")
    ap.add_argument("--ifmap")
    ap.add_argument("--metrics")
    ap.add_argument("--softflowd")
    ap.add_argument("--softflowd-log")
    ap.add_argument("--save")
    ap.add_argument("--print", dest="print_")
    ap.add_argument("--nfacctd")
    ap.add_argument("--expected")
    ap.add_argument("--totals")
    ap.add_argument("--local-asn", type=int, default=0)
    ap.add_argument("--declared", default="")
    ap.add_argument("--no-asn", action="store_true")
    a = ap.parse_args()
    if a.softflowd:
        ok = softflowd_check(a.softflowd, a.metrics, a.expected, a.softflowd_log)
        if ok and a.save:
            save(a.save, {}, a.metrics)
        sys.exit(0 if ok else 1)
    ifmap = {k: int(v) for k, v in (x.split("=") for x in a.ifmap.split(","))}
    declared = {int(x) for x in a.declared.split(",") if x}

    sources = {"lastfluss": load_lf(a.lf, ifmap)}
    if a.print_:
        sources["pmacctd"] = load_print(a.print_)
    if a.nfacctd:
        sources["nfacctd"] = load_nfacctd(a.nfacctd)
    if a.expected:
        sources["pcap"] = load_expected(a.expected)
    if a.totals:
        sources["saved"] = load_expected(a.totals)
    sources = {n: normalise(t, a.local_asn, declared, a.no_asn) for n, t in sources.items()}

    names = list(sources)
    keys = sorted(set().union(*sources.values()), key=str)
    hdr = "ifidx dir " + ("" if a.no_asn else "remote local ") + "v  " + "  ".join(
        "%22s" % ("%s bytes/pkts" % n) for n in names)
    print(hdr)
    bad = 0
    totals = {n: [0, 0] for n in names}
    for k in keys:
        vals = [tuple(sources[n].get(k, (0, 0))) for n in names]
        for n, v in zip(names, vals):
            totals[n][0] += v[0]
            totals[n][1] += v[1]
        ok = all(v == vals[0] for v in vals)
        bad += not ok
        print(" ".join(str(x) for x in k), " ", "  ".join("%22s" % ("%d/%d" % v) for v in vals),
              "" if ok else "  <-- differs")
    print("total", " ", "  ".join("%22s" % ("%d/%d" % tuple(totals[n])) for n in names))
    print("keys: %d, differing: %d" % (len(keys), bad))
    if a.metrics and a.expected:
        bad += not unclassified_check(a.metrics, a.expected, declared)
    if a.totals and a.metrics:
        bad += not totals_check(a.totals, a.metrics)
    if a.save and not bad and not a.no_asn:
        save(a.save, sources["lastfluss"], a.metrics)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
