// Package control serves the control socket: the running core's status and
// its live one-second view, over gRPC (sdk/proto control.proto) on a unix
// socket, for `lastfluss status` and `lastfluss tui`.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/collector"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/dispatch"
	"github.com/lastfluss/lastfluss/sdk/proto"
)

// Configuration of the control server.
type Configuration struct {
	Socket  string // path of the unix socket
	Version string // reported by Status
	Top     int    // live rows per interface and direction when a client asks for 0
	Buffer  int    // live seconds queued per client before updates are dropped
}

func DefaultConfiguration() Configuration {
	return Configuration{Top: 20, Buffer: 4}
}

// Sinks tells the state of every sink's queue (dispatch.Dispatcher).
type Sinks interface {
	Status() []dispatch.SinkStatus
}

// Names looks up the latest AS names the enrichers gave (dispatch.Dispatcher).
type Names interface {
	ASName(asn uint32) (aggregate.ASInfo, bool)
}

// Dependencies are what the server reports on. Any of Sinks, Names,
// Unclassified, Templates and Metrics may be nil.
type Dependencies struct {
	Config       *config.Config // the configuration at start; SetConfig replaces it
	Registry     *aggregate.Registry
	Table        *atomic.Pointer[classify.Table]
	Sinks        Sinks
	Names        Names
	Unclassified func() (time.Time, []aggregate.Unclassified) // of the latest closed batch
	Templates    interface{ Len() int }
	Incarnation  string
	Metrics      prometheus.Registerer
}

// Server is the control component: New, then Tap for the collector's
// dependencies, Start before the collector starts, Stop after it stopped.
type Server struct {
	proto.UnimplementedControlServer

	logger  *slog.Logger
	cfg     Configuration
	deps    Dependencies
	config  atomic.Pointer[config.Config]
	started time.Time
	live    *collector.Live
	grpc    *grpc.Server
	done    chan struct{} // closed by Stop: live streams end
	serveWG sync.WaitGroup
	metrics *metrics

	mu          sync.Mutex
	subscribers map[*subscriber]struct{}
	watchSince  time.Time // when Watching was last switched on
	stopped     bool
}

var _ proto.ControlServer = (*Server)(nil)

// New returns a server that does not listen yet. It owns the collector's
// live tap: a merger with a one-second interval whose batches it fans out.
func New(logger *slog.Logger, cfg Configuration, deps Dependencies) (*Server, error) {
	def := DefaultConfiguration()
	if cfg.Top <= 0 {
		cfg.Top = def.Top
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = def.Buffer
	}
	if cfg.Socket == "" {
		return nil, errors.New("control: no socket path")
	}
	if deps.Config == nil || deps.Registry == nil || deps.Table == nil {
		return nil, errors.New("control: Config, Registry and Table are required")
	}
	s := &Server{
		logger:      logger.With("component", "control"),
		cfg:         cfg,
		deps:        deps,
		started:     time.Now(),
		done:        make(chan struct{}),
		subscribers: make(map[*subscriber]struct{}),
		metrics:     newMetrics(),
	}
	s.config.Store(deps.Config)
	if deps.Metrics != nil {
		if err := deps.Metrics.Register(s.metrics); err != nil {
			return nil, fmt.Errorf("register control metrics: %w", err)
		}
	}
	acfg := aggregate.DefaultConfiguration()
	acfg.CollectorID = deps.Config.CollectorID
	acfg.Interval = time.Second
	s.live = &collector.Live{Merger: aggregate.NewMerger(s.logger, acfg, deps.Registry, s.publish)}
	s.grpc = grpc.NewServer()
	proto.RegisterControlServer(s.grpc, s)
	return s, nil
}

// Tap is the live tap to hand to the collector (collector.Dependencies.Live).
func (s *Server) Tap() *collector.Live { return s.live }

// SetConfig replaces the configuration reported, after a reload.
func (s *Server) SetConfig(c *config.Config) { s.config.Store(c) }

// Start listens on the socket. A socket file left by a core that is gone is
// removed; one a running core still answers on is an error.
func (s *Server) Start(ctx context.Context) error {
	path := s.cfg.Socket
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("control: create socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("control: %s exists and is not a socket", path)
		}
		d := net.Dialer{Timeout: time.Second}
		if c, err := d.DialContext(ctx, "unix", path); err == nil {
			c.Close()
			return fmt.Errorf("control: another process answers on %s (is lastfluss already running?)", path)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("control: remove stale socket: %w", err)
		}
		s.logger.Info("removed a stale control socket", "socket", path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control: listen on %s: %w", path, err)
	}
	// Operators in the socket's group may watch; others may not.
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return fmt.Errorf("control: chmod %s: %w", path, err)
	}
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		if err := s.grpc.Serve(l); err != nil {
			s.logger.Error("control socket stopped serving", "err", err)
		}
	}()
	s.logger.Info("control socket listening", "socket", path)
	return nil
}

// Stop ends the live streams, closes the socket (which removes its file)
// and stops the live tap.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	close(s.done)
	s.mu.Unlock()
	s.grpc.GracefulStop()
	s.serveWG.Wait()
	s.live.Watching.Store(false)
}

// Status answers the Status call.
func (s *Server) Status(context.Context, *proto.StatusRequest) (*proto.StatusResponse, error) {
	return s.status(time.Now()), nil
}
