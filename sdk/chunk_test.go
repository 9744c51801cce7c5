package sdk

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/lastfluss/lastfluss/sdk/proto"
)

// TestChunkSize measures a full chunk of rows on the wire: typical rows and
// the largest rows possible must both stay well below gRPC's 4 MiB limit.
func TestChunkSize(t *testing.T) {
	typical := Row{Interface: 12, Direction: Out, RemoteASN: 13335, LocalASN: 64500, IPVersion: 4, Bytes: 1_500_000, Packets: 1000, Flows: 3}
	largest := Row{Interface: math.MaxUint32, Direction: Out, RemoteASN: math.MaxUint32, LocalASN: math.MaxUint32,
		IPVersion: math.MaxUint8, Other: true, Bytes: math.MaxUint64, Packets: math.MaxUint64, Flows: math.MaxUint64}
	for name, r := range map[string]Row{"typical": typical, "largest": largest} {
		rows := make([]Row, chunkRows)
		for i := range rows {
			rows[i] = r
		}
		c := &pb.RowChunk{}
		fillChunk(c, rows)
		size := proto.Size(&pb.WriteRequest{Part: &pb.WriteRequest_Rows{Rows: c}})
		t.Logf("%s: %d rows, %d bytes, %.1f bytes a row", name, chunkRows, size, float64(size)/chunkRows)
		if size > 1<<20 {
			t.Errorf("%s chunk is %d bytes, want at most 1 MiB", name, size)
		}
	}
}
