package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/lastfluss/lastfluss/sdk/proto"
)

// Sizes of the parts a batch and an Enrich call are cut into. gRPC limits a
// message to 4 MiB: a row is at most 49 bytes on the wire (15 typical), so a
// chunk of rows stays under 1 MiB; AS names are cut by their size.
const (
	chunkRows      = 16384
	chunkNameBytes = 1 << 20
	chunkASNs      = 4096
)

// SinkPlugin is the go-plugin glue of a sink: Impl is set in the plugin
// process; the core dispenses a *SinkClient.
type SinkPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Sink
}

func (p *SinkPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, &pluginServer{impl: p.Impl, kind: KindSink})
	pb.RegisterSinkServer(s, &sinkServer{impl: p.Impl})
	return nil
}

func (p *SinkPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &SinkClient{PluginClient{pb.NewPluginClient(c)}, pb.NewSinkClient(c)}, nil
}

// EnricherPlugin is the go-plugin glue of an enricher.
type EnricherPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Enricher
}

func (p *EnricherPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, &pluginServer{impl: p.Impl, kind: KindEnricher})
	pb.RegisterEnricherServer(s, &enricherServer{impl: p.Impl})
	return nil
}

func (p *EnricherPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &EnricherClient{PluginClient{pb.NewPluginClient(c)}, pb.NewEnricherClient(c)}, nil
}

// remoteError turns the error of a call into one that reads well: a
// plugin's own error comes back as its message, a transport error as is.
func remoteError(what string, err error) error {
	if s, ok := status.FromError(err); ok && s.Code() == codes.Unknown {
		return fmt.Errorf("%s: %s", what, s.Message())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// --- Plugin service ---

type pluginServer struct {
	pb.UnimplementedPluginServer
	impl Plugin
	kind Kind
}

func (s *pluginServer) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	info := s.impl.Info()
	if info.Kind == "" {
		info.Kind = s.kind
	}
	if info.APIVersion == 0 {
		info.APIVersion = APIVersion
	}
	return &pb.InfoResponse{Name: info.Name, Kind: string(info.Kind), Version: info.Version, ApiVersion: int32(info.APIVersion)}, nil
}

func (s *pluginServer) ConfigSchema(context.Context, *pb.ConfigSchemaRequest) (*pb.ConfigSchemaResponse, error) {
	var resp pb.ConfigSchemaResponse
	for _, a := range s.impl.ConfigSchema().Attributes {
		pa := &pb.Attribute{Name: a.Name, Type: string(a.Type), Required: a.Required, Sensitive: a.Sensitive, Description: a.Description}
		if a.Default != nil {
			d, err := json.Marshal(a.Default)
			if err != nil {
				return nil, fmt.Errorf("default of %q: %w", a.Name, err)
			}
			pa.DefaultJson = d
		}
		resp.Attributes = append(resp.Attributes, pa)
	}
	return &resp, nil
}

func (s *pluginServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	cfg, err := UnmarshalConfig(req.ConfigJson, s.impl.ConfigSchema())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.impl.Configure(ctx, cfg); err != nil {
		return nil, err
	}
	return &pb.ConfigureResponse{}, nil
}

// PluginClient calls the methods every plugin serves. Unlike the Plugin
// interface, its calls return the transport's errors.
type PluginClient struct {
	rpc pb.PluginClient
}

// GetInfo asks the plugin who it is.
func (c *PluginClient) GetInfo(ctx context.Context) (Info, error) {
	r, err := c.rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, remoteError("plugin info", err)
	}
	return Info{Name: r.Name, Kind: Kind(r.Kind), Version: r.Version, APIVersion: int(r.ApiVersion)}, nil
}

// GetConfigSchema asks the plugin for its config schema.
func (c *PluginClient) GetConfigSchema(ctx context.Context) (Schema, error) {
	r, err := c.rpc.ConfigSchema(ctx, &pb.ConfigSchemaRequest{})
	if err != nil {
		return Schema{}, remoteError("plugin config schema", err)
	}
	var s Schema
	for _, a := range r.Attributes {
		attr := Attribute{Name: a.Name, Type: AttrType(a.Type), Required: a.Required, Sensitive: a.Sensitive, Description: a.Description}
		if len(a.DefaultJson) > 0 {
			var d any
			if err := json.Unmarshal(a.DefaultJson, &d); err != nil {
				return Schema{}, fmt.Errorf("plugin config schema: default of %q: %w", a.Name, err)
			}
			if attr.Default, err = convert(attr.Type, d); err != nil {
				return Schema{}, fmt.Errorf("plugin config schema: default of %q: %w", a.Name, err)
			}
			if attr.Type == TypeDuration {
				attr.Default = d // a default keeps its documented shape: "30s"
			}
		}
		s.Attributes = append(s.Attributes, attr)
	}
	return s, nil
}

// Info implements Plugin; a failed call gives a zero Info (use GetInfo).
func (c *PluginClient) Info() Info {
	i, _ := c.GetInfo(context.Background())
	return i
}

// ConfigSchema implements Plugin; a failed call gives an empty Schema (use
// GetConfigSchema).
func (c *PluginClient) ConfigSchema() Schema {
	s, _ := c.GetConfigSchema(context.Background())
	return s
}

// Configure sends cfg to the plugin; the plugin's refusal comes back as an
// error with its message.
func (c *PluginClient) Configure(ctx context.Context, cfg Config) error {
	data, err := MarshalConfig(cfg)
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	if _, err := c.rpc.Configure(ctx, &pb.ConfigureRequest{ConfigJson: data}); err != nil {
		if s, ok := status.FromError(err); ok && s.Code() == codes.InvalidArgument {
			return fmt.Errorf("configure: %s", s.Message())
		}
		return remoteError("configure", err)
	}
	return nil
}

// --- Sink service ---

// SinkClient is a sink in another process.
type SinkClient struct {
	PluginClient
	sink pb.SinkClient
}

var _ Sink = (*SinkClient)(nil)

// Write streams b to the plugin and returns once the plugin has stored it.
func (c *SinkClient) Write(ctx context.Context, b *Batch) error {
	stream, err := c.sink.Write(ctx)
	if err != nil {
		return remoteError("write batch "+b.ID, err)
	}
	if err := sendBatch(stream, b); err != nil {
		if errors.Is(err, io.EOF) {
			// The server ended the stream early: its status says why.
			_, err = stream.CloseAndRecv()
		}
		return remoteError("write batch "+b.ID, err)
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		return remoteError("write batch "+b.ID, err)
	}
	return nil
}

func sendBatch(stream grpc.ClientStreamingClient[pb.WriteRequest, pb.WriteResponse], b *Batch) error {
	h := &pb.BatchHeader{
		Id:            b.ID,
		CollectorId:   b.CollectorID,
		StartUnixNano: b.Start.UnixNano(),
		IntervalNanos: int64(b.Interval),
		Partial:       b.Partial,
		RowCount:      uint64(len(b.Rows)),
		Interfaces:    make([]*pb.Interface, len(b.Interfaces)),
	}
	for i, f := range b.Interfaces {
		h.Interfaces[i] = &pb.Interface{Exporter: f.Exporter, Name: f.Name, Role: f.Role, Ifindex: f.IfIndex, PeerAsn: f.PeerASN, Description: f.Description}
	}
	if err := stream.Send(&pb.WriteRequest{Part: &pb.WriteRequest_Header{Header: h}}); err != nil {
		return err
	}

	names := &pb.ASNames{Names: map[uint32]*pb.ASInfo{}}
	size := 0
	for asn, n := range b.ASNames {
		names.Names[asn] = &pb.ASInfo{Name: n.Name, Description: n.Description, Country: n.Country}
		size += len(n.Name) + len(n.Description) + len(n.Country) + 32
		if size >= chunkNameBytes {
			if err := stream.Send(&pb.WriteRequest{Part: &pb.WriteRequest_AsNames{AsNames: names}}); err != nil {
				return err
			}
			names, size = &pb.ASNames{Names: map[uint32]*pb.ASInfo{}}, 0
		}
	}
	if len(names.Names) > 0 {
		if err := stream.Send(&pb.WriteRequest{Part: &pb.WriteRequest_AsNames{AsNames: names}}); err != nil {
			return err
		}
	}

	// One chunk, reused: Send has encoded the message when it returns.
	c := &pb.RowChunk{}
	req := &pb.WriteRequest{Part: &pb.WriteRequest_Rows{Rows: c}}
	for start := 0; start < len(b.Rows); start += chunkRows {
		fillChunk(c, b.Rows[start:min(start+chunkRows, len(b.Rows))])
		if err := stream.Send(req); err != nil {
			return err
		}
	}
	return nil
}

// fillChunk sets c's columns to rows, reusing their arrays.
func fillChunk(c *pb.RowChunk, rows []Row) {
	c.Interface, c.Direction, c.RemoteAsn, c.LocalAsn = c.Interface[:0], c.Direction[:0], c.RemoteAsn[:0], c.LocalAsn[:0]
	c.IpVersion, c.Other, c.Bytes, c.Packets, c.Flows = c.IpVersion[:0], c.Other[:0], c.Bytes[:0], c.Packets[:0], c.Flows[:0]
	for _, r := range rows {
		c.Interface = append(c.Interface, r.Interface)
		c.Direction = append(c.Direction, uint32(r.Direction))
		c.RemoteAsn = append(c.RemoteAsn, r.RemoteASN)
		c.LocalAsn = append(c.LocalAsn, r.LocalASN)
		c.IpVersion = append(c.IpVersion, uint32(r.IPVersion))
		c.Other = append(c.Other, r.Other)
		c.Bytes = append(c.Bytes, r.Bytes)
		c.Packets = append(c.Packets, r.Packets)
		c.Flows = append(c.Flows, r.Flows)
	}
}

type sinkServer struct {
	pb.UnimplementedSinkServer
	impl Sink
}

func (s *sinkServer) Write(stream grpc.ClientStreamingServer[pb.WriteRequest, pb.WriteResponse]) error {
	b, err := recvBatch(stream)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.impl.Write(stream.Context(), b); err != nil {
		return err
	}
	return stream.SendAndClose(&pb.WriteResponse{})
}

func recvBatch(stream grpc.ClientStreamingServer[pb.WriteRequest, pb.WriteResponse]) (*Batch, error) {
	m, err := stream.Recv()
	if err != nil {
		return nil, fmt.Errorf("receive batch header: %w", err)
	}
	h := m.GetHeader()
	if h == nil {
		return nil, errors.New("batch stream does not start with a header")
	}
	b := &Batch{
		ID:          h.Id,
		CollectorID: h.CollectorId,
		Start:       timeFromUnixNano(h.StartUnixNano),
		Interval:    durationFromNanos(h.IntervalNanos),
		Partial:     h.Partial,
	}
	for _, f := range h.Interfaces {
		b.Interfaces = append(b.Interfaces, Interface{Exporter: f.Exporter, Name: f.Name, Role: f.Role, IfIndex: f.Ifindex, PeerASN: f.PeerAsn, Description: f.Description})
	}
	if h.RowCount > 0 {
		b.Rows = make([]Row, 0, min(h.RowCount, 1<<24))
	}
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("receive batch %s: %w", b.ID, err)
		}
		switch p := m.Part.(type) {
		case *pb.WriteRequest_AsNames:
			if b.ASNames == nil {
				b.ASNames = make(map[uint32]ASInfo, len(p.AsNames.Names))
			}
			for asn, n := range p.AsNames.Names {
				b.ASNames[asn] = ASInfo{Name: n.Name, Description: n.Description, Country: n.Country}
			}
		case *pb.WriteRequest_Rows:
			if err := appendRows(b, p.Rows); err != nil {
				return nil, fmt.Errorf("batch %s: %w", b.ID, err)
			}
		default:
			return nil, fmt.Errorf("batch %s: unexpected %T after the header", b.ID, m.Part)
		}
	}
	if uint64(len(b.Rows)) != h.RowCount {
		return nil, fmt.Errorf("batch %s: got %d rows, header announced %d", b.ID, len(b.Rows), h.RowCount)
	}
	return b, nil
}

func appendRows(b *Batch, c *pb.RowChunk) error {
	n := len(c.Interface)
	for _, l := range []int{len(c.Direction), len(c.RemoteAsn), len(c.LocalAsn), len(c.IpVersion), len(c.Other), len(c.Bytes), len(c.Packets), len(c.Flows)} {
		if l != n {
			return fmt.Errorf("row chunk columns differ in length (%d, %d)", n, l)
		}
	}
	for i := range n {
		if int(c.Interface[i]) >= len(b.Interfaces) {
			return fmt.Errorf("row refers to interface %d of %d", c.Interface[i], len(b.Interfaces))
		}
		b.Rows = append(b.Rows, Row{
			Interface: c.Interface[i],
			Direction: Direction(c.Direction[i]),
			RemoteASN: c.RemoteAsn[i],
			LocalASN:  c.LocalAsn[i],
			IPVersion: uint8(c.IpVersion[i]),
			Other:     c.Other[i],
			Bytes:     c.Bytes[i],
			Packets:   c.Packets[i],
			Flows:     c.Flows[i],
		})
	}
	return nil
}

// --- Enricher service ---

// EnricherClient is an enricher in another process.
type EnricherClient struct {
	PluginClient
	enricher pb.EnricherClient
}

var _ Enricher = (*EnricherClient)(nil)

// Enrich asks the plugin about asns, a few thousand per call so that no
// answer approaches gRPC's message limit.
func (c *EnricherClient) Enrich(ctx context.Context, asns []uint32) (map[uint32]ASInfo, error) {
	out := make(map[uint32]ASInfo)
	for start := 0; start < len(asns); start += chunkASNs {
		r, err := c.enricher.Enrich(ctx, &pb.EnrichRequest{Asns: asns[start:min(start+chunkASNs, len(asns))]})
		if err != nil {
			return nil, remoteError("enrich", err)
		}
		for asn, i := range r.Infos {
			out[asn] = ASInfo{Name: i.Name, Description: i.Description, Country: i.Country}
		}
	}
	return out, nil
}

type enricherServer struct {
	pb.UnimplementedEnricherServer
	impl Enricher
}

func (s *enricherServer) Enrich(ctx context.Context, req *pb.EnrichRequest) (*pb.EnrichResponse, error) {
	infos, err := s.impl.Enrich(ctx, req.Asns)
	if err != nil {
		return nil, err
	}
	resp := &pb.EnrichResponse{Infos: make(map[uint32]*pb.ASInfo, len(infos))}
	for asn, i := range infos {
		resp.Infos[asn] = &pb.ASInfo{Name: i.Name, Description: i.Description, Country: i.Country}
	}
	return resp, nil
}

func timeFromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }

func durationFromNanos(n int64) time.Duration { return time.Duration(n) }
