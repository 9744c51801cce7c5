package sdk

import (
	"encoding/json"
	"fmt"
	"time"
)

// String returns the string attribute name, "" when unset.
func (c Config) String(name string) string { s, _ := c[name].(string); return s }

// Number returns the number attribute name, 0 when unset.
func (c Config) Number(name string) float64 { f, _ := c[name].(float64); return f }

// Bool returns the bool attribute name, false when unset.
func (c Config) Bool(name string) bool { b, _ := c[name].(bool); return b }

// Duration returns the duration attribute name, 0 when unset.
func (c Config) Duration(name string) time.Duration { d, _ := c[name].(time.Duration); return d }

// List returns the list(string) attribute name, nil when unset.
func (c Config) List(name string) []string { l, _ := c[name].([]string); return l }

// MarshalConfig encodes c for the wire: JSON, durations as strings.
func MarshalConfig(c Config) ([]byte, error) {
	out := make(map[string]any, len(c))
	for k, v := range c {
		if d, ok := v.(time.Duration); ok {
			v = d.String()
		}
		out[k] = v
	}
	return json.Marshal(out)
}

// UnmarshalConfig decodes a config from the wire and gives each value the Go
// type of its attribute in s. Attributes s does not declare are an error.
func UnmarshalConfig(data []byte, s Schema) (Config, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	types := make(map[string]AttrType, len(s.Attributes))
	for _, a := range s.Attributes {
		types[a.Name] = a.Type
	}
	c := make(Config, len(raw))
	for k, v := range raw {
		t, ok := types[k]
		if !ok {
			return nil, fmt.Errorf("config attribute %q is not in the schema", k)
		}
		if v == nil {
			continue
		}
		tv, err := convert(t, v)
		if err != nil {
			return nil, fmt.Errorf("config attribute %q: %w", k, err)
		}
		c[k] = tv
	}
	return c, nil
}

// convert turns a JSON value into the Go type of an attribute type.
func convert(t AttrType, v any) (any, error) {
	switch t {
	case TypeString, TypeNumber, TypeBool:
		want := map[AttrType]string{TypeString: "string", TypeNumber: "float64", TypeBool: "bool"}[t]
		if got := fmt.Sprintf("%T", v); got != want {
			return nil, fmt.Errorf("want %s, got %s", t, got)
		}
		return v, nil
	case TypeDuration:
		switch v := v.(type) {
		case string:
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, err
			}
			return d, nil
		case time.Duration:
			return v, nil
		}
		return nil, fmt.Errorf("want a duration string, got %T", v)
	case TypeList:
		switch v := v.(type) {
		case []string:
			return v, nil
		case []any:
			l := make([]string, len(v))
			for i, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("want a list of strings, element %d is %T", i, e)
				}
				l[i] = s
			}
			return l, nil
		}
		return nil, fmt.Errorf("want a list of strings, got %T", v)
	}
	return nil, fmt.Errorf("unknown attribute type %q", t)
}
