package pluginhost

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hclogToSlog returns the hclog logger go-plugin wants, forwarding every
// line to log at the line's own level. go-plugin parses a plugin's JSON
// stderr lines and logs each at its @level through this logger.
func hclogToSlog(log *slog.Logger, level slog.Level) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Output: io.Discard, // everything goes through the sink below
		Level:  hclogLevel(level),
	})
	l.RegisterSink(slogSink{log})
	return l
}

type slogSink struct{ log *slog.Logger }

func (s slogSink) Accept(_ string, level hclog.Level, msg string, args ...any) {
	lvl := slogLevel(level)
	if !s.log.Enabled(context.Background(), lvl) {
		return
	}
	attrs := make([]any, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == "timestamp" {
			continue // the plugin's own time: slog stamps the line
		}
		attrs = append(attrs, args[i], args[i+1])
	}
	s.log.Log(context.Background(), lvl, msg, attrs...)
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Info:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l < slog.LevelDebug:
		return hclog.Trace
	case l < slog.LevelInfo:
		return hclog.Debug
	case l < slog.LevelWarn:
		return hclog.Info
	case l < slog.LevelError:
		return hclog.Warn
	}
	return hclog.Error
}

// lineLogger logs what a plugin writes to os.Stdout or os.Stderr after its
// start (go-plugin forwards those streams), one record per line.
type lineLogger struct {
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.Warn("plugin wrote outside its logger", "stream", w.stream, "line", string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
