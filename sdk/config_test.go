package sdk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigAccessors(t *testing.T) {
	c := Config{"s": "x", "n": 2.5, "b": true, "d": time.Second, "l": []string{"a"}}
	got := []any{c.String("s"), c.Number("n"), c.Bool("b"), c.Duration("d"), c.List("l"),
		c.String("missing"), c.Number("s"), c.Bool("missing"), c.Duration("missing"), c.List("missing")}
	want := []any{"x", 2.5, true, time.Second, []string{"a"}, "", 0.0, false, time.Duration(0), []string(nil)}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("accessors (-got +want):\n%s", diff)
	}
}

func TestConfigWireRoundTrip(t *testing.T) {
	s := Schema{Attributes: []Attribute{{Name: "d", Type: TypeDuration}, {Name: "l", Type: TypeList}, {Name: "n", Type: TypeNumber}}}
	in := Config{"d": 1500 * time.Millisecond, "l": []string{"a", "b"}, "n": 3.0}
	data, err := MarshalConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalConfig(data, s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, in); diff != "" {
		t.Errorf("config (-got +want):\n%s", diff)
	}
	if _, err := UnmarshalConfig([]byte(`{"d":"soon"}`), s); err == nil {
		t.Error("a bad duration decoded without error")
	}
	if _, err := UnmarshalConfig([]byte(`{"l":["a",1]}`), s); err == nil {
		t.Error("a list with a number decoded without error")
	}
}

// TestLoggerShape checks what go-plugin's host needs to keep a line's level:
// @level, @message and @timestamp in hclog's layout.
func TestLoggerShape(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, slog.LevelInfo).Debug("hidden")
	newLogger(&buf, slog.LevelInfo).Warn("disk almost full", "path", "/var/x", "free", 3)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	ts, _ := line["@timestamp"].(string)
	if _, err := time.Parse(hclogTime, ts); err != nil {
		t.Errorf("@timestamp %q: %v", ts, err)
	}
	delete(line, "@timestamp")
	want := map[string]any{"@level": "warn", "@message": "disk almost full", "path": "/var/x", "free": 3.0}
	if diff := cmp.Diff(line, want); diff != "" {
		t.Errorf("log line (-got +want):\n%s", diff)
	}
}
