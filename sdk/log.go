package sdk

import (
	"io"
	"log/slog"
	"os"
)

// LogLevelEnv is set by the core to the level a plugin should log at.
const LogLevelEnv = "LASTFLUSS_PLUGIN_LOG_LEVEL"

// stderr is the process's real standard error, taken before go-plugin's
// Serve redirects os.Stderr into its stdio stream. The core reads log lines
// from this one.
var stderr io.Writer = os.Stderr

// Logger returns a logger for plugins: hclog-shaped JSON lines (@level,
// @message, @timestamp) on standard error, which the core shows at the
// line's level under the plugin's name. Plugins never write to standard
// output: it carries the handshake.
func Logger() *slog.Logger {
	return newLogger(stderr, levelFromEnv())
}

func levelFromEnv() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv(LogLevelEnv))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// hclogTime is the only timestamp layout go-plugin's host accepts.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format(hclogTime))
			case slog.LevelKey:
				return slog.String("@level", hclogLevel(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				return slog.Attr{Key: "@message", Value: a.Value}
			}
			return a
		},
	}))
}

func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
