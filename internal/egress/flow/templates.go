package flow

import (
	"errors"
	"sync"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// errTemplateCap is returned when an exporter already has its maximum number
// of templates; the decode of that datagram stops there and is counted.
var errTemplateCap = errors.New("flow: template cap reached for exporter")

type templateKey struct {
	version  uint16
	obs      uint32
	template uint16
}

type templateEntry struct {
	tmpl     any
	lastUsed time.Time
}

// templateStore holds one exporter's templates. It implements goflow2's
// netflow.NetFlowTemplateSystem; the exporter is implicit (one store per
// exporter), so templates are keyed by (exporter, version, observation
// domain, template ID) overall. The owning exporter's lock is held while
// goflow2 calls it, and now is the receive time of the datagram in decode.
type templateStore struct {
	d         *Decoder
	templates map[templateKey]*templateEntry
	now       time.Time
}

var _ netflow.NetFlowTemplateSystem = (*templateStore)(nil)

func newTemplateStore(d *Decoder) *templateStore {
	return &templateStore{d: d, templates: make(map[templateKey]*templateEntry)}
}

// minRecordSize returns the smallest number of bytes a data record of the
// template consumes; goflow2 loops forever on a template whose records take
// no bytes, so such templates are never stored.
func minRecordSize(fields ...[]netflow.Field) int {
	n := 0
	for _, fs := range fields {
		for _, f := range fs {
			if f.Length == 0xffff {
				n++
			} else {
				n += int(f.Length)
			}
		}
	}
	return n
}

func templateSize(t any) int {
	switch t := t.(type) {
	case netflow.TemplateRecord:
		return minRecordSize(t.Fields)
	case netflow.IPFIXOptionsTemplateRecord:
		return minRecordSize(t.Scopes, t.Options)
	case netflow.NFv9OptionsTemplateRecord:
		return minRecordSize(t.Scopes, t.Options)
	}
	return 0
}

func (s *templateStore) AddTemplate(version uint16, obs uint32, id uint16, t any) error {
	k := templateKey{version, obs, id}
	if id < 256 || templateSize(t) == 0 {
		// IPFIX withdrawal (no fields) or a useless template: forget the old one.
		if _, ok := s.templates[k]; ok {
			delete(s.templates, k)
			s.d.stats.TemplatesWithdrawn.Add(1)
		}
		return nil
	}
	if e, ok := s.templates[k]; ok {
		e.tmpl, e.lastUsed = t, s.now
		return nil
	}
	if len(s.templates) >= s.d.cfg.MaxTemplatesPerExporter {
		s.expire()
		if len(s.templates) >= s.d.cfg.MaxTemplatesPerExporter {
			s.d.stats.DropTemplateCap.Add(1)
			return errTemplateCap
		}
	}
	s.templates[k] = &templateEntry{tmpl: t, lastUsed: s.now}
	s.d.stats.TemplatesAdded.Add(1)
	return nil
}

func (s *templateStore) GetTemplate(version uint16, obs uint32, id uint16) (any, error) {
	k := templateKey{version, obs, id}
	e, ok := s.templates[k]
	if !ok {
		return nil, netflow.ErrorTemplateNotFound
	}
	if s.now.Sub(e.lastUsed) > s.d.cfg.TemplateIdle {
		delete(s.templates, k)
		s.d.stats.TemplatesExpired.Add(1)
		return nil, netflow.ErrorTemplateNotFound
	}
	e.lastUsed = s.now
	return e.tmpl, nil
}

func (s *templateStore) RemoveTemplate(version uint16, obs uint32, id uint16) (any, error) {
	k := templateKey{version, obs, id}
	e, ok := s.templates[k]
	if !ok {
		return nil, netflow.ErrorTemplateNotFound
	}
	delete(s.templates, k)
	return e.tmpl, nil
}

// GetTemplates returns a copy of the stored templates in goflow2's key form.
func (s *templateStore) GetTemplates() netflow.FlowBaseTemplateSet {
	out := make(netflow.FlowBaseTemplateSet, len(s.templates))
	for k, e := range s.templates {
		out[uint64(k.version)<<48|uint64(k.obs)<<16|uint64(k.template)] = e.tmpl
	}
	return out
}

// expire drops templates idle for longer than the configured TTL.
func (s *templateStore) expire() {
	for k, e := range s.templates {
		if s.now.Sub(e.lastUsed) > s.d.cfg.TemplateIdle {
			delete(s.templates, k)
			s.d.stats.TemplatesExpired.Add(1)
		}
	}
}

// exporterState is everything kept per exporter, guarded by mu.
type exporterState struct {
	mu        sync.Mutex
	templates *templateStore
	// sysInit is IE 160 (systemInitTimeMilliseconds) per observation domain,
	// learned from options or data records, for IPFIX IEs 21/22.
	sysInit map[uint32]int64
	// sampling rates learned from options records: per (domain, sampler ID),
	// sampler 0 meaning "the domain's rate".
	sampling map[samplerKey]uint32
	lastSeen time.Time
}

type samplerKey struct {
	obs     uint32
	sampler uint32
}

// small caps on the per-exporter option maps (entries, not bytes).
const maxOptionEntries = 256
