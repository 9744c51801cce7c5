// Package sdk is the only package a Lastfluss plugin imports: the types a
// sink or an enricher sees, the handshake and the gRPC glue.
package sdk

import (
	"context"
	"time"
)

// APIVersion is the plugin protocol version. Bump it for breaking changes;
// the core refuses a plugin whose Info reports another.
const APIVersion = 1

// Kind of plugin.
type Kind string

const (
	KindSink     Kind = "sink"
	KindEnricher Kind = "enricher"
)

// Info identifies a plugin.
type Info struct {
	Name       string
	Kind       Kind
	Version    string // the plugin's own version
	APIVersion int    // APIVersion the plugin was built with
}

// AttrType is the type of a config attribute.
type AttrType string

const (
	TypeString   AttrType = "string"
	TypeNumber   AttrType = "number"
	TypeBool     AttrType = "bool"
	TypeDuration AttrType = "duration" // a string such as "30s"
	TypeList     AttrType = "list(string)"
)

// Attribute describes one attribute of a plugin's `config {}` block.
type Attribute struct {
	Name        string
	Type        AttrType
	Required    bool
	Default     any // string, float64, bool or []string; nil when none
	Sensitive   bool
	Description string
}

// Schema is what a plugin accepts in its `config {}` block.
type Schema struct {
	Attributes []Attribute
}

// Config holds decoded attribute values, defaults applied: string, float64,
// bool, time.Duration or []string per the attribute's type.
type Config map[string]any

// Direction of traffic on an interface.
type Direction uint8

const (
	In  Direction = 0
	Out Direction = 1
)

func (d Direction) String() string {
	if d == Out {
		return "out"
	}
	return "in"
}

// Interface is one declared interface; rows refer to it by index.
type Interface struct {
	Exporter    string
	Name        string
	Role        string
	IfIndex     uint32
	PeerASN     uint32
	Description string
}

// Row is one aggregation key with its values. Bytes and packets are scaled
// by the sampling rate; flows counts records.
type Row struct {
	Interface uint32 // index into Batch.Interfaces
	Direction Direction
	RemoteASN uint32 // 0 and meaningless on Other rows
	LocalASN  uint32
	IPVersion uint8
	Other     bool // the excess over the key cap; ASNs unset
	Bytes     uint64
	Packets   uint64
	Flows     uint64
}

// ASInfo is what an enricher knows about an ASN.
type ASInfo struct {
	Name        string
	Description string
	Country     string
}

// Batch is one interval of one collector. Its ID is unique; a sink must
// treat a batch it has already stored as a no-op (batches can be
// redelivered after a crash).
type Batch struct {
	ID          string
	CollectorID string
	Start       time.Time     // interval start, UTC
	Interval    time.Duration // nominal length, also for a partial batch
	Partial     bool
	Interfaces  []Interface
	ASNames     map[uint32]ASInfo
	Rows        []Row
}

// Plugin is what every plugin implements.
type Plugin interface {
	Info() Info
	ConfigSchema() Schema
	Configure(ctx context.Context, cfg Config) error
}

// Sink stores batches. Write returns nil only once the batch is durably
// stored; an error sends the batch back to the core's queue for a retry.
type Sink interface {
	Plugin
	Write(ctx context.Context, b *Batch) error
}

// Enricher attaches information to ASNs.
type Enricher interface {
	Plugin
	// Enrich returns what it knows about asns; unknown ASNs are left out.
	Enrich(ctx context.Context, asns []uint32) (map[uint32]ASInfo, error)
}
