package decode

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// The state file: templates and learned rates, per exporter.
type stateFile struct {
	Format    int            `json:"format"`
	Exporters []exporterJSON `json:"exporters"`
}

type exporterJSON struct {
	Address   netip.Addr     `json:"address"`
	Templates []templateJSON `json:"templates,omitempty"`
	Rates     []rateJSON     `json:"rates,omitempty"`
	Samplers  []samplerJSON  `json:"samplers,omitempty"`
}

const (
	kindData         = "data"
	kindNFv9Options  = "nfv9-options"
	kindIPFIXOptions = "ipfix-options"
)

type templateJSON struct {
	Version uint16      `json:"version"`
	Domain  uint32      `json:"domain"`
	ID      uint16      `json:"id"`
	Kind    string      `json:"kind"`
	Scopes  []fieldJSON `json:"scopes,omitempty"`
	Fields  []fieldJSON `json:"fields"`
}

type fieldJSON struct {
	Type   uint16  `json:"type"`
	Length uint16  `json:"length"`
	PEN    *uint32 `json:"pen,omitempty"`
}

type rateJSON struct {
	Version uint16 `json:"version"`
	Domain  uint32 `json:"domain"`
	Rate    uint32 `json:"rate"`
}

type samplerJSON struct {
	Version uint16 `json:"version"`
	Domain  uint32 `json:"domain"`
	Sampler uint64 `json:"sampler"`
	Rate    uint32 `json:"rate"`
}

const stateFormat = 1

func fieldsToJSON(fs []netflow.Field) []fieldJSON {
	out := make([]fieldJSON, len(fs))
	for i, f := range fs {
		out[i] = fieldJSON{Type: f.Type, Length: f.Length}
		if f.PenProvided {
			pen := f.Pen
			out[i].PEN = &pen
		}
	}
	return out
}

func fieldsFromJSON(fs []fieldJSON) []netflow.Field {
	out := make([]netflow.Field, len(fs))
	for i, f := range fs {
		out[i] = netflow.Field{Type: f.Type, Length: f.Length}
		if f.PEN != nil {
			out[i].PenProvided = true
			out[i].Pen = *f.PEN
		}
	}
	return out
}

func (t *Templates) snapshot() stateFile {
	sf := stateFile{Format: stateFormat}
	for addr, e := range *t.exporters.Load() {
		s := e.load()
		es := exporterJSON{Address: addr}
		for k, tmpl := range s.templates {
			tj := templateJSON{Version: k.version, Domain: k.domain, ID: k.id}
			switch v := tmpl.(type) {
			case netflow.TemplateRecord:
				tj.Kind, tj.Fields = kindData, fieldsToJSON(v.Fields)
			case netflow.NFv9OptionsTemplateRecord:
				tj.Kind, tj.Scopes, tj.Fields = kindNFv9Options, fieldsToJSON(v.Scopes), fieldsToJSON(v.Options)
			case netflow.IPFIXOptionsTemplateRecord:
				tj.Kind, tj.Scopes, tj.Fields = kindIPFIXOptions, fieldsToJSON(v.Scopes), fieldsToJSON(v.Options)
			}
			es.Templates = append(es.Templates, tj)
		}
		for k, r := range s.rates {
			es.Rates = append(es.Rates, rateJSON{k.version, k.domain, r})
		}
		for k, r := range s.samplers {
			es.Samplers = append(es.Samplers, samplerJSON{k.version, k.domain, k.sampler, r})
		}
		if len(es.Templates)+len(es.Rates)+len(es.Samplers) == 0 {
			continue
		}
		// Sorted, so that an unchanged store writes an identical file.
		slices.SortFunc(es.Templates, func(a, b templateJSON) int {
			return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.ID, b.ID))
		})
		slices.SortFunc(es.Rates, func(a, b rateJSON) int {
			return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Domain, b.Domain))
		})
		slices.SortFunc(es.Samplers, func(a, b samplerJSON) int {
			return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Sampler, b.Sampler))
		})
		sf.Exporters = append(sf.Exporters, es)
	}
	slices.SortFunc(sf.Exporters, func(a, b exporterJSON) int { return a.Address.Compare(b.Address) })
	return sf
}

// Save writes the templates and learned sampling rates to path atomically
// (a temporary file beside it, fsynced, renamed over it).
func (t *Templates) Save(path string) error {
	data, err := json.MarshalIndent(t.snapshot(), "", " ")
	if err != nil {
		return fmt.Errorf("encode templates: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save templates %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save templates %s: %w", path, err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save templates %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save templates %s: %w", path, err)
	}
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("save templates %s: sync directory: %w", path, err)
		}
	}
	return nil
}

// LoadTemplates reads a store written by Save. A missing file gives an
// empty store and no error.
func LoadTemplates(path string) (*Templates, error) {
	t := NewTemplates()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load templates %s: %w", path, err)
	}
	if err := t.restore(data); err != nil {
		return nil, fmt.Errorf("load templates %s: %w", path, err)
	}
	return t, nil
}

// restore adds the state in data, as Save writes it, to t.
func (t *Templates) restore(data []byte) error {
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return err
	}
	if sf.Format != stateFormat {
		return fmt.Errorf("unknown format %d", sf.Format)
	}
	for _, es := range sf.Exporters {
		addr := es.Address.Unmap()
		if !addr.IsValid() {
			return fmt.Errorf("exporter without address")
		}
		for _, tj := range es.Templates {
			var tmpl any
			fields := fieldsFromJSON(tj.Fields)
			switch tj.Kind {
			case kindData:
				tmpl = netflow.TemplateRecord{TemplateId: tj.ID, FieldCount: uint16(len(fields)), Fields: fields}
			case kindNFv9Options:
				scopes := fieldsFromJSON(tj.Scopes)
				tmpl = netflow.NFv9OptionsTemplateRecord{
					TemplateId: tj.ID, ScopeLength: uint16(4 * len(scopes)), OptionLength: uint16(4 * len(fields)),
					Scopes: scopes, Options: fields,
				}
			case kindIPFIXOptions:
				scopes := fieldsFromJSON(tj.Scopes)
				tmpl = netflow.IPFIXOptionsTemplateRecord{
					TemplateId: tj.ID, FieldCount: uint16(len(scopes) + len(fields)), ScopeFieldCount: uint16(len(scopes)),
					Scopes: scopes, Options: fields,
				}
			default:
				return fmt.Errorf("exporter %s: template %d: unknown kind %q", addr, tj.ID, tj.Kind)
			}
			// The same checks as for templates from the wire: a corrupt
			// file must not make the decoder loop.
			if withdraw, err := checkTemplate(tmpl); err != nil || withdraw || tj.ID < 256 {
				return fmt.Errorf("exporter %s: template %d: invalid", addr, tj.ID)
			}
			if err := t.addTemplate(addr, tj.Version, tj.Domain, tj.ID, tmpl); err != nil {
				return fmt.Errorf("exporter %s: %w", addr, err)
			}
		}
		for _, r := range es.Rates {
			if r.Rate != 0 {
				t.setRate(addr, r.Version, r.Domain, r.Rate)
			}
		}
		for _, s := range es.Samplers {
			if s.Rate != 0 {
				t.setSamplerRate(addr, s.Version, s.Domain, s.Sampler, s.Rate)
			}
		}
	}
	return nil
}
