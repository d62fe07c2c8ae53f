package firmware

import (
	"fmt"
	"sort"
)

// Registry is an explicit, ordered list of formats.
type Registry struct {
	byName map[string]Format
	order  []Format
}

// NewRegistry builds a registry. It panics on a duplicate or empty name:
// that is a programming error in the one list of formats.
func NewRegistry(formats ...Format) *Registry {
	r := &Registry{byName: make(map[string]Format, len(formats))}
	for _, f := range formats {
		name := f.Info().Name
		if name == "" {
			panic(fmt.Sprintf("firmware: format %T has no name", f))
		}
		if _, dup := r.byName[name]; dup {
			panic("firmware: duplicate format " + name)
		}
		r.byName[name] = f
		r.order = append(r.order, f)
	}
	return r
}

// Lookup returns the format with the given name.
func (r *Registry) Lookup(name string) (Format, bool) {
	f, ok := r.byName[name]
	return f, ok
}

// Formats returns the formats in registration order.
func (r *Registry) Formats() []Format { return append([]Format(nil), r.order...) }

// Names returns the sorted format names.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.order))
	for _, f := range r.order {
		names = append(names, f.Info().Name)
	}
	sort.Strings(names)
	return names
}
