package aggregate

import "sync"

// Registry interns exporters and interfaces: the hot path carries small ids,
// names come back when a batch is built. Ids are never reused, so shards
// stay valid across a configuration reload.
type Registry struct {
	mu          sync.Mutex
	interfaces  []Interface
	ifaceIDs    map[Interface]uint32
	exporters   []string
	exporterIDs map[string]uint32
}

func NewRegistry() *Registry {
	return &Registry{ifaceIDs: make(map[Interface]uint32), exporterIDs: make(map[string]uint32)}
}

// Interface returns the id of i, interning it when new.
func (r *Registry) Interface(i Interface) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.ifaceIDs[i]; ok {
		return id
	}
	id := uint32(len(r.interfaces))
	r.interfaces = append(r.interfaces, i)
	r.ifaceIDs[i] = id
	return id
}

// Exporter returns the id of the exporter named name, interning it when new.
func (r *Registry) Exporter(name string) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.exporterIDs[name]; ok {
		return id
	}
	id := uint32(len(r.exporters))
	r.exporters = append(r.exporters, name)
	r.exporterIDs[name] = id
	return id
}

// snapshot returns the current tables; the slices are append-only, so a
// prefix read under the lock stays valid.
func (r *Registry) snapshot() ([]Interface, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.interfaces[:len(r.interfaces):len(r.interfaces)], r.exporters[:len(r.exporters):len(r.exporters)]
}
