package config

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is the effective configuration: defaults applied, paths absolute.
type Config struct {
	File        string // absolute path of the file it was read from
	CollectorID string
	Interval    time.Duration
	MaxKeys     int // aggregation keys per interval; the excess goes to per-interface other rows
	PluginDir   string
	StateDir    string
	Log         Log
	Listen      []Listen
	Control     Control
	Metrics     Metrics
	Exporters   []Exporter
	Enrich      []Plugin
	Sinks       []Plugin
}

type Log struct {
	Level  string // debug, info, warn, error; default info
	Format string // text or json; default text
}

// Listen is one `listen "netflow"|"sflow"` block.
type Listen struct {
	Protocol      string // "netflow" (v5, v9, IPFIX) or "sflow"
	Address       string // host:port
	Workers       int    // default: number of CPUs
	ReceiveBuffer int    // bytes; default 32 MiB
	Spread        string // how datagrams are spread over the workers: SpreadExporter or SpreadRandom
	Range         hcl.Range
}

type Control struct {
	Socket string // absolute path; default <state_dir>/lastfluss.sock
}

type Metrics struct {
	Address string // host:port; empty: no metrics endpoint
}

// How a listener spreads datagrams over its workers.
const (
	// SpreadExporter: the kernel hashes the sender's address and port, so
	// one exporter's datagrams stay on one worker, in order.
	SpreadExporter = "exporter"
	// SpreadRandom: each datagram goes to a random worker, so that one
	// exporter sending most of the traffic is shared by all workers. A data
	// set may then be decoded before the template that came just before it
	// on another worker: right after an exporter's first template (or a
	// changed one) a few datagrams can be counted as template_unknown.
	SpreadRandom = "random"
)

// Records says which records an exporter sends (IPFIX/v9 field 61).
const (
	RecordsIngress = "ingress"
	RecordsBoth    = "both"
)

// Roles an interface may have.
var Roles = []string{"transit", "peering", "ix", "pni", "customer", "core", "other"}

type Exporter struct {
	Name              string
	Address           netip.Addr // normalised: IPv4-mapped IPv6 is IPv4
	SamplingRate      uint32     // 0: not set
	ForceSamplingRate uint32     // 0: not set
	LocalASN          uint32     // 0: not set
	Records           string     // RecordsIngress (default) or RecordsBoth
	Interfaces        []Interface
	Range             hcl.Range
}

type Interface struct {
	Name              string
	IfIndex           uint32
	Role              string
	PeerASN           uint32
	Description       string
	Speed             uint64 // bit/s; 0: not set
	SamplingRate      uint32
	ForceSamplingRate uint32
	Range             hcl.Range
}

// Plugin is one `enrich` or `sink` block. Its config body is decoded later
// against the plugin's own schema (core/pluginhost).
type Plugin struct {
	Kind   string // "enrich" or "sink"
	Name   string // the block label
	Plugin string // binary lastfluss-<Plugin> in PluginDir
	Config hcl.Body
	Range  hcl.Range

	// BaseDir is the config file's directory: decode Config with
	// EvalContext(BaseDir) so that file() resolves as everywhere else.
	BaseDir string
	// A sink's durable queue (zero for enrich blocks): its size limit in
	// bytes (default 1 GiB) and what to do when it is full,
	// QueueOnFullPause (default) or QueueOnFullDropOldest.
	QueueMaxSize int64
	QueueOnFull  string
}
