package decode

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// Templates holds the NetFlow v9 and IPFIX templates and the sampling rates
// exporters announced, keyed by exporter address, protocol version,
// observation domain (source id) and template id — never by source port,
// since exporters change ports when they restart.
//
// Readers never lock: every exporter's state is an immutable snapshot behind
// an atomic pointer, replaced (copy on write) only when something really
// changes. Template refreshes that repeat a known template write nothing.
type Templates struct {
	mu        sync.Mutex // serialises writers
	exporters atomic.Pointer[map[netip.Addr]*exporterEntry]
	gen       atomic.Uint64
}

type exporterEntry struct {
	addr  netip.Addr
	state atomic.Pointer[exporterState]
}

// exporterState is never modified once published.
type exporterState struct {
	templates map[tmplKey]any               // netflow.TemplateRecord, NFv9OptionsTemplateRecord or IPFIXOptionsTemplateRecord
	compiled  map[tmplKey]*compiledTemplate // the same keys: templates compiled for the fast decoder
	rates     map[domKey]uint32
	samplers  map[samplerKey]uint32
}

type tmplKey struct {
	version uint16
	domain  uint32
	id      uint16
}

type domKey struct {
	version uint16
	domain  uint32
}

type samplerKey struct {
	version uint16
	domain  uint32
	sampler uint64
}

var emptyState = &exporterState{}

// NewTemplates returns an empty store.
func NewTemplates() *Templates {
	t := &Templates{}
	m := map[netip.Addr]*exporterEntry{}
	t.exporters.Store(&m)
	return t
}

// Len is the number of templates known, all exporters together.
func (t *Templates) Len() int {
	n := 0
	for _, e := range *t.exporters.Load() {
		n += len(e.load().templates)
	}
	return n
}

// PerExporter is the number of templates known per exporter address.
func (t *Templates) PerExporter() map[netip.Addr]int {
	m := *t.exporters.Load()
	out := make(map[netip.Addr]int, len(m))
	for addr, e := range m {
		out[addr] = len(e.load().templates)
	}
	return out
}

// Generation increases whenever a template or rate changes, so that a caller
// saving the store periodically can skip saving when nothing changed.
func (t *Templates) Generation() uint64 { return t.gen.Load() }

// SamplingRate is the rate the exporter announced for its observation domain
// (options data without a sampler id), 0 when none.
func (t *Templates) SamplingRate(exporter netip.Addr, version uint16, domain uint32) uint32 {
	e := t.lookup(exporter.Unmap())
	if e == nil {
		return 0
	}
	return e.load().rates[domKey{version, domain}]
}

// SamplerRate is the rate announced for one sampler id, 0 when unknown.
func (t *Templates) SamplerRate(exporter netip.Addr, version uint16, domain uint32, sampler uint64) uint32 {
	e := t.lookup(exporter.Unmap())
	if e == nil {
		return 0
	}
	return e.load().samplers[samplerKey{version, domain, sampler}]
}

func (e *exporterEntry) load() *exporterState {
	if s := e.state.Load(); s != nil {
		return s
	}
	return emptyState
}

func (t *Templates) lookup(addr netip.Addr) *exporterEntry {
	return (*t.exporters.Load())[addr]
}

// entry returns the exporter's entry, creating it. Only writers create
// entries, so that garbage from many addresses does not grow the store.
func (t *Templates) entry(addr netip.Addr) *exporterEntry {
	if e := t.lookup(addr); e != nil {
		return e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.exporters.Load()
	if e := old[addr]; e != nil {
		return e
	}
	m := maps.Clone(old)
	e := &exporterEntry{addr: addr}
	e.state.Store(emptyState)
	m[addr] = e
	t.exporters.Store(&m)
	return e
}

// update applies fn to a copy of the exporter's state and publishes it when
// fn reports a change. fn must copy any map it modifies.
func (t *Templates) update(e *exporterEntry, fn func(s *exporterState) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ns := *e.load()
	if fn(&ns) {
		e.state.Store(&ns)
		t.gen.Add(1)
	}
}

// Bounds on what one exporter can make the store hold.
const (
	maxTemplateFields    = 1024 // fields (scopes included) in one template
	maxExporterTemplates = 4096
	maxExporterRates     = 4096 // domain rates, sampler rates, each
)

var errTooMany = errors.New("exporter has too many templates")

func (t *Templates) addTemplate(addr netip.Addr, version uint16, domain uint32, id uint16, tmpl any) error {
	withdraw, err := checkTemplate(tmpl)
	if err != nil {
		return fmt.Errorf("template %d: %w", id, err)
	}
	if withdraw {
		t.withdraw(addr, version, domain, id, tmpl)
		return nil
	}
	if id < 256 {
		return fmt.Errorf("template %d: id below 256", id)
	}
	key := tmplKey{version, domain, id}
	if e := t.lookup(addr); e != nil && sameTemplate(e.load().templates[key], tmpl) {
		return nil // a refresh: nothing to write
	}
	e := t.entry(addr)
	err = nil
	c := compileTemplate(version, tmpl)
	t.update(e, func(s *exporterState) bool {
		old, ok := s.templates[key]
		if sameTemplate(old, tmpl) {
			return false
		}
		if !ok && len(s.templates) >= maxExporterTemplates {
			err = errTooMany
			return false
		}
		s.templates = maps.Clone(s.templates)
		if s.templates == nil {
			s.templates = map[tmplKey]any{}
		}
		s.templates[key] = tmpl
		s.compiled = maps.Clone(s.compiled)
		if s.compiled == nil {
			s.compiled = map[tmplKey]*compiledTemplate{}
		}
		s.compiled[key] = c
		return true
	})
	if err != nil {
		return fmt.Errorf("template %d: %w", id, err)
	}
	return nil
}

// withdraw handles a template without fields: IPFIX's template withdrawal
// (RFC 7011 §8.1), where ids 2 and 3 withdraw all templates, or all
// options templates, of the domain. Elsewhere it removes that one id.
func (t *Templates) withdraw(addr netip.Addr, version uint16, domain uint32, id uint16, tmpl any) {
	all := version == 10 && (id == 2 || id == 3)
	if id < 256 && !all {
		return
	}
	e := t.lookup(addr)
	if e == nil {
		return
	}
	t.update(e, func(s *exporterState) bool {
		changed := false
		next, nextCompiled := maps.Clone(s.templates), maps.Clone(s.compiled)
		for k, v := range s.templates {
			if k.version != version || k.domain != domain {
				continue
			}
			_, isData := v.(netflow.TemplateRecord)
			if k.id == id || (all && isData == (id == 2)) {
				delete(next, k)
				delete(nextCompiled, k)
				changed = true
			}
		}
		s.templates, s.compiled = next, nextCompiled
		return changed
	})
}

func (t *Templates) getTemplate(e *exporterEntry, version uint16, domain uint32, id uint16) (any, error) {
	if e != nil {
		if tmpl, ok := e.load().templates[tmplKey{version, domain, id}]; ok {
			return tmpl, nil
		}
	}
	return nil, netflow.ErrorTemplateNotFound
}

func (t *Templates) removeTemplate(addr netip.Addr, version uint16, domain uint32, id uint16) (any, error) {
	e := t.lookup(addr)
	if e == nil {
		return nil, netflow.ErrorTemplateNotFound
	}
	key := tmplKey{version, domain, id}
	var removed any
	t.update(e, func(s *exporterState) bool {
		tmpl, ok := s.templates[key]
		if !ok {
			return false
		}
		removed = tmpl
		s.templates = maps.Clone(s.templates)
		delete(s.templates, key)
		s.compiled = maps.Clone(s.compiled)
		delete(s.compiled, key)
		return true
	})
	if removed == nil {
		return nil, netflow.ErrorTemplateNotFound
	}
	return removed, nil
}

// setRate records the exporter-wide rate of an observation domain.
func (t *Templates) setRate(addr netip.Addr, version uint16, domain uint32, rate uint32) {
	key := domKey{version, domain}
	if e := t.lookup(addr); e != nil && e.load().rates[key] == rate {
		return
	}
	t.update(t.entry(addr), func(s *exporterState) bool {
		if old, ok := s.rates[key]; old == rate || (!ok && len(s.rates) >= maxExporterRates) {
			return false
		}
		s.rates = maps.Clone(s.rates)
		if s.rates == nil {
			s.rates = map[domKey]uint32{}
		}
		s.rates[key] = rate
		return true
	})
}

// setSamplerRate records the rate of one sampler id.
func (t *Templates) setSamplerRate(addr netip.Addr, version uint16, domain uint32, sampler uint64, rate uint32) {
	key := samplerKey{version, domain, sampler}
	if e := t.lookup(addr); e != nil && e.load().samplers[key] == rate {
		return
	}
	t.update(t.entry(addr), func(s *exporterState) bool {
		if old, ok := s.samplers[key]; old == rate || (!ok && len(s.samplers) >= maxExporterRates) {
			return false
		}
		s.samplers = maps.Clone(s.samplers)
		if s.samplers == nil {
			s.samplers = map[samplerKey]uint32{}
		}
		s.samplers[key] = rate
		return true
	})
}

// rateFor is the rate for a data record of (version, domain): the sampler's
// when the record names a known sampler, else the domain's, else — when the
// exporter announced exactly one sampler in that domain and records do not
// name it — that sampler's.
func (s *exporterState) rateFor(version uint16, domain uint32, sampler uint64, hasSampler bool) uint32 {
	if hasSampler {
		if r := s.samplers[samplerKey{version, domain, sampler}]; r != 0 {
			return r
		}
	}
	if r := s.rates[domKey{version, domain}]; r != 0 {
		return r
	}
	if len(s.samplers) == 0 {
		return 0
	}
	var only uint32
	n := 0
	for k, r := range s.samplers {
		if k.version == version && k.domain == domain {
			only = r
			n++
		}
	}
	if n == 1 {
		return only
	}
	return 0
}

var (
	errTemplateField = errors.New("field of length 0")
	errTemplateSize  = errors.New("too many fields")
	errTemplateKind  = errors.New("unknown template kind")
)

// checkTemplate tells a withdrawal (no fields) from a template, and rejects
// templates goflow2 would loop on or allocate without bound for: a field of
// length 0 makes records that take no octets.
func checkTemplate(tmpl any) (withdraw bool, err error) {
	var groups [2][]netflow.Field
	switch v := tmpl.(type) {
	case netflow.TemplateRecord:
		groups[0] = v.Fields
	case netflow.NFv9OptionsTemplateRecord:
		groups[0], groups[1] = v.Scopes, v.Options
	case netflow.IPFIXOptionsTemplateRecord:
		groups[0], groups[1] = v.Scopes, v.Options
	default:
		return false, errTemplateKind
	}
	n := len(groups[0]) + len(groups[1])
	if n == 0 {
		return true, nil
	}
	if n > maxTemplateFields {
		return false, errTemplateSize
	}
	for _, g := range groups {
		for _, f := range g {
			if f.Length == 0 {
				return false, errTemplateField
			}
		}
	}
	return false, nil
}

func sameTemplate(a, b any) bool {
	switch x := a.(type) {
	case netflow.TemplateRecord:
		y, ok := b.(netflow.TemplateRecord)
		return ok && slices.Equal(x.Fields, y.Fields)
	case netflow.NFv9OptionsTemplateRecord:
		y, ok := b.(netflow.NFv9OptionsTemplateRecord)
		return ok && slices.Equal(x.Scopes, y.Scopes) && slices.Equal(x.Options, y.Options)
	case netflow.IPFIXOptionsTemplateRecord:
		y, ok := b.(netflow.IPFIXOptionsTemplateRecord)
		return ok && slices.Equal(x.Scopes, y.Scopes) && slices.Equal(x.Options, y.Options)
	}
	return false
}

// templateView is the store seen from one exporter address: goflow2's
// template system interface, so goflow2 learns into the shared store.
type templateView struct {
	store *Templates
	addr  netip.Addr
	entry *exporterEntry // nil until the exporter has state
}

var _ netflow.NetFlowTemplateSystem = (*templateView)(nil)

func (v *templateView) resolve() *exporterEntry {
	if v.entry == nil {
		v.entry = v.store.lookup(v.addr)
	}
	return v.entry
}

func (v *templateView) AddTemplate(version uint16, domain uint32, id uint16, tmpl any) error {
	return v.store.addTemplate(v.addr, version, domain, id, tmpl)
}

func (v *templateView) GetTemplate(version uint16, domain uint32, id uint16) (any, error) {
	return v.store.getTemplate(v.resolve(), version, domain, id)
}

func (v *templateView) RemoveTemplate(version uint16, domain uint32, id uint16) (any, error) {
	return v.store.removeTemplate(v.addr, version, domain, id)
}

// GetTemplates returns the exporter's templates keyed as goflow2 keys them.
func (v *templateView) GetTemplates() netflow.FlowBaseTemplateSet {
	out := netflow.FlowBaseTemplateSet{}
	e := v.resolve()
	if e == nil {
		return out
	}
	for k, tmpl := range e.load().templates {
		out[uint64(k.version)<<48|uint64(k.domain)<<16|uint64(k.id)] = tmpl
	}
	return out
}

// TemplateSystem returns goflow2's template system interface for one
// exporter, backed by this store.
func (t *Templates) TemplateSystem(exporter netip.Addr) netflow.NetFlowTemplateSystem {
	return &templateView{store: t, addr: exporter.Unmap()}
}
