package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk"
	"github.com/lastfluss/lastfluss/sdk/sdktest"
)

// recorder is a sink and an enricher that keeps what it is given.
type recorder struct {
	mu       sync.Mutex
	batches  []*sdk.Batch
	cfg      sdk.Config
	writeErr error
	names    map[uint32]sdk.ASInfo
	asked    [][]uint32
}

var (
	_ sdk.Sink     = (*recorder)(nil)
	_ sdk.Enricher = (*recorder)(nil)
)

func (r *recorder) Info() sdk.Info { return sdk.Info{Name: "recorder", Version: "0.1.0"} }

func (r *recorder) ConfigSchema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "path", Type: sdk.TypeString, Required: true, Description: "where"},
		{Name: "batch_size", Type: sdk.TypeNumber, Default: 100.0},
		{Name: "verbose", Type: sdk.TypeBool, Default: false},
		{Name: "timeout", Type: sdk.TypeDuration, Default: "30s"},
		{Name: "tags", Type: sdk.TypeList, Default: []string{"a", "b"}},
		{Name: "password", Type: sdk.TypeString, Sensitive: true},
	}}
}

func (r *recorder) Configure(_ context.Context, cfg sdk.Config) error {
	if strings.HasPrefix(cfg.String("path"), "/nonexistent") {
		return fmt.Errorf("open %s: no such directory", cfg.String("path"))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg = cfg
	return nil
}

func (r *recorder) Write(_ context.Context, b *sdk.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.writeErr != nil {
		return r.writeErr
	}
	r.batches = append(r.batches, b)
	return nil
}

func (r *recorder) Enrich(_ context.Context, asns []uint32) (map[uint32]sdk.ASInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, asns)
	out := map[uint32]sdk.ASInfo{}
	for _, a := range asns {
		if n, ok := r.names[a]; ok {
			out[a] = n
		}
	}
	return out, nil
}

// testBatch makes a batch of n rows over 200 interfaces, naming nASNs ASNs
// with long descriptions so that the names alone exceed 4 MiB.
func testBatch(n, nASNs int) *sdk.Batch {
	rng := rand.New(rand.NewPCG(1, 2))
	b := &sdk.Batch{
		ID:          "fra1/2026-12-04T16:00:00Z/3f2a/7",
		CollectorID: "fra1",
		Start:       time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC),
		Interval:    time.Minute,
		Partial:     true,
		ASNames:     map[uint32]sdk.ASInfo{},
	}
	for i := range 200 {
		b.Interfaces = append(b.Interfaces, sdk.Interface{
			Exporter: fmt.Sprintf("edge%d", i%7), Name: fmt.Sprintf("if-%d", i), Role: "transit",
			IfIndex: uint32(500 + i), PeerASN: uint32(174 + i), Description: "Ümlaut & co",
		})
	}
	for i := range nASNs {
		b.ASNames[uint32(i+1)] = sdk.ASInfo{
			Name: fmt.Sprintf("AS-NAME-%d", i), Country: "DE",
			Description: strings.Repeat("a network operator ", 5),
		}
	}
	for range n {
		r := sdk.Row{
			Interface: rng.Uint32N(200), Direction: sdk.Direction(rng.IntN(2)),
			RemoteASN: rng.Uint32(), LocalASN: rng.Uint32N(70000), IPVersion: 4,
			Bytes: rng.Uint64(), Packets: rng.Uint64N(1 << 40), Flows: rng.Uint64N(1000),
		}
		if rng.IntN(50) == 0 {
			r.Other, r.RemoteASN, r.LocalASN, r.IPVersion = true, 0, 0, 6
		}
		b.Rows = append(b.Rows, r)
	}
	return b
}

func TestWriteMillionRows(t *testing.T) {
	rec := &recorder{}
	sink := sdktest.Sink(t, rec)
	want := testBatch(1_000_000, 50_000)
	if err := sink.Write(t.Context(), want); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if len(rec.batches) != 1 {
		t.Fatalf("sink got %d batches, want 1", len(rec.batches))
	}
	if diff := cmp.Diff(rec.batches[0], want); diff != "" {
		t.Errorf("batch (-got +want):\n%s", diff)
	}
}

func TestWriteSmallBatches(t *testing.T) {
	for _, n := range []int{0, 1, 16383, 16384, 16385} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rec := &recorder{}
			want := testBatch(n, 0)
			want.ASNames = nil
			want.Partial = false
			if n == 0 {
				want.Rows = nil
			}
			if err := sdktest.Sink(t, rec).Write(t.Context(), want); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if diff := cmp.Diff(rec.batches, []*sdk.Batch{want}); diff != "" {
				t.Errorf("batches (-got +want):\n%s", diff)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	rec := &recorder{writeErr: errors.New("database is read-only")}
	err := sdktest.Sink(t, rec).Write(t.Context(), testBatch(10, 1))
	if err == nil || !strings.Contains(err.Error(), "database is read-only") {
		t.Fatalf("Write error = %v, want the sink's message", err)
	}
}

func TestEnrichRoundTrip(t *testing.T) {
	rec := &recorder{names: map[uint32]sdk.ASInfo{}}
	var asns []uint32
	want := map[uint32]sdk.ASInfo{}
	for a := uint32(1); a <= 10_000; a++ {
		asns = append(asns, a)
		if a%2 == 0 {
			rec.names[a] = sdk.ASInfo{Name: fmt.Sprint("AS", a), Description: "desc", Country: "NL"}
			want[a] = rec.names[a]
		}
	}
	got, err := sdktest.Enricher(t, rec).Enrich(t.Context(), asns)
	if err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("infos (-got +want):\n%s", diff)
	}
	var asked []uint32
	for _, a := range rec.asked {
		asked = append(asked, a...)
	}
	if diff := cmp.Diff(asked, asns); diff != "" {
		t.Errorf("ASNs the enricher was asked about (-got +want):\n%s", diff)
	}
}

func TestInfoAndSchema(t *testing.T) {
	rec := &recorder{}
	sink := sdktest.Sink(t, rec)
	info, err := sink.GetInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info, sdk.Info{Name: "recorder", Kind: sdk.KindSink, Version: "0.1.0", APIVersion: sdk.APIVersion}); diff != "" {
		t.Errorf("info (-got +want):\n%s", diff)
	}
	schema, err := sink.GetConfigSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(schema, rec.ConfigSchema()); diff != "" {
		t.Errorf("schema (-got +want):\n%s", diff)
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sdk.Config
		want    sdk.Config
		wantErr string
	}{
		{
			name: "all types",
			cfg: sdk.Config{"path": "/tmp/x", "batch_size": 5.0, "verbose": true, "timeout": 90 * time.Second,
				"tags": []string{"x"}, "password": "hunter2"},
			want: sdk.Config{"path": "/tmp/x", "batch_size": 5.0, "verbose": true, "timeout": 90 * time.Second,
				"tags": []string{"x"}, "password": "hunter2"},
		},
		{name: "plugin refuses", cfg: sdk.Config{"path": "/nonexistent/dir"}, wantErr: "configure: open /nonexistent/dir: no such directory"},
		{name: "unknown attribute", cfg: sdk.Config{"pathh": "/tmp"}, wantErr: `config attribute "pathh" is not in the schema`},
		{name: "wrong type", cfg: sdk.Config{"verbose": "yes"}, wantErr: `config attribute "verbose": want bool, got string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			err := sdktest.Sink(t, rec).Configure(t.Context(), tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Configure error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Configure: %v", err)
			}
			if diff := cmp.Diff(rec.cfg, tt.want); diff != "" {
				t.Errorf("config (-got +want):\n%s", diff)
			}
			if got := rec.cfg.Duration("timeout"); got != 90*time.Second {
				t.Errorf("Duration(timeout) = %v", got)
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			sink := sdktest.Sink(b, &discard{})
			batch := testBatch(n, 1000)
			b.ReportAllocs()
			for b.Loop() {
				if err := sink.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

type discard struct{ recorder }

func (d *discard) Write(context.Context, *sdk.Batch) error { return nil }
