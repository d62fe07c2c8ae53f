package flow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// Errors returned by Decode; each drop is also counted in Stats.
var (
	ErrUnknownExporter = errors.New("flow: exporter not configured")
	ErrExporterCap     = errors.New("flow: exporter cap reached")
	ErrMalformed       = errors.New("flow: malformed datagram")
	ErrUnsupported     = errors.New("flow: unsupported export version")
	ErrTemplateMissing = errors.New("flow: data before template")
	ErrDecoderPanic    = errors.New("flow: decoder panic")
)

// MaxDatagram is the largest datagram Decode accepts (the UDP maximum).
const MaxDatagram = 65535

// Config sets the exporter allowlist and the memory caps.
type Config struct {
	// Exporters lists the prefixes whose datagrams are accepted. Datagrams
	// from anywhere else are dropped and counted. Required.
	Exporters []netip.Prefix
	// MaxExporters caps the exporters with state (default 4096).
	MaxExporters int
	// MaxTemplatesPerExporter caps templates per exporter (default 1024).
	MaxTemplatesPerExporter int
	// TemplateIdle expires templates (and exporter state) not used for this
	// long, measured in datagram receive time (default 30 min).
	TemplateIdle time.Duration
}

// Stats are the decoder counters, safe to read at any time (for metrics).
type Stats struct {
	Packets             atomic.Uint64 // datagrams offered
	Records             atomic.Uint64 // flow records produced
	DecodeErrors        atomic.Uint64 // datagrams goflow2 or our checks rejected (all or in part)
	TemplateMisses      atomic.Uint64 // data sets whose template was not known
	DropUnknownExporter atomic.Uint64
	DropExporterCap     atomic.Uint64
	DropTemplateCap     atomic.Uint64
	DropMalformed       atomic.Uint64 // failed our length/count checks before decoding
	DropUnsupported     atomic.Uint64 // unknown version
	DropNoAddress       atomic.Uint64 // records without source or destination address
	Panics              atomic.Uint64
	TemplatesAdded      atomic.Uint64
	TemplatesExpired    atomic.Uint64
	TemplatesWithdrawn  atomic.Uint64
	OptionsRecords      atomic.Uint64
	SFlowSamples        atomic.Uint64 // sFlow flow samples seen
	SFlowNoHeader       atomic.Uint64 // flow samples without a parsable packet header
}

// Decoder turns datagrams into Records. It is safe for concurrent use;
// datagrams from one exporter are decoded one at a time.
type Decoder struct {
	cfg   Config
	stats Stats

	mu        sync.Mutex
	exporters map[netip.Addr]*exporterState
}

// NewDecoder validates cfg and returns a Decoder.
func NewDecoder(cfg Config) (*Decoder, error) {
	if len(cfg.Exporters) == 0 {
		return nil, errors.New("flow: no exporters configured: list the prefixes allowed to send flows")
	}
	for i, p := range cfg.Exporters {
		if !p.IsValid() {
			return nil, fmt.Errorf("flow: exporter %d: invalid prefix", i)
		}
		cfg.Exporters[i] = p.Masked()
	}
	if cfg.MaxExporters <= 0 {
		cfg.MaxExporters = 4096
	}
	if cfg.MaxTemplatesPerExporter <= 0 {
		cfg.MaxTemplatesPerExporter = 1024
	}
	if cfg.TemplateIdle <= 0 {
		cfg.TemplateIdle = 30 * time.Minute
	}
	return &Decoder{cfg: cfg, exporters: make(map[netip.Addr]*exporterState)}, nil
}

// Stats returns the live counters.
func (d *Decoder) Stats() *Stats { return &d.stats }

// Allowed reports whether addr is a configured exporter.
func (d *Decoder) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range d.cfg.Exporters {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Exporters returns the number of exporters with state.
func (d *Decoder) Exporters() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.exporters)
}

// Templates returns the number of templates stored for exporter.
func (d *Decoder) Templates(exporter netip.Addr) int {
	d.mu.Lock()
	st := d.exporters[exporter.Unmap()]
	d.mu.Unlock()
	if st == nil {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.templates.templates)
}

func (d *Decoder) state(addr netip.Addr, now time.Time) (*exporterState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.exporters[addr]; ok {
		return st, nil
	}
	if len(d.exporters) >= d.cfg.MaxExporters {
		for a, st := range d.exporters {
			if st.mu.TryLock() {
				idle := now.Sub(st.lastSeen) > d.cfg.TemplateIdle
				st.mu.Unlock()
				if idle {
					delete(d.exporters, a)
				}
			}
		}
		if len(d.exporters) >= d.cfg.MaxExporters {
			return nil, ErrExporterCap
		}
	}
	st := &exporterState{
		templates: newTemplateStore(d),
		sysInit:   make(map[uint32]int64),
		sampling:  make(map[samplerKey]uint32),
	}
	d.exporters[addr] = st
	return st, nil
}

// Decode decodes one datagram received from exporter at recv and appends the
// Records to out. On error the Records decoded before the problem are still
// returned; the error says what was dropped. It never panics.
func (d *Decoder) Decode(exporter netip.Addr, pkt []byte, recv time.Time, out []Record) (res []Record, err error) {
	d.stats.Packets.Add(1)
	exporter = exporter.Unmap()
	if !d.Allowed(exporter) {
		d.stats.DropUnknownExporter.Add(1)
		return out, fmt.Errorf("%w: %s", ErrUnknownExporter, exporter)
	}
	if len(pkt) < 4 || len(pkt) > MaxDatagram {
		d.stats.DropMalformed.Add(1)
		return out, fmt.Errorf("%w: %s: length %d", ErrMalformed, exporter, len(pkt))
	}
	recv = recv.UTC()
	n0 := len(out)
	defer func() {
		if r := recover(); r != nil {
			d.stats.Panics.Add(1)
			d.stats.DecodeErrors.Add(1)
			res, err = out[:n0], fmt.Errorf("%w: %s: %v", ErrDecoderPanic, exporter, r)
		}
		d.stats.Records.Add(uint64(len(res) - n0))
	}()
	switch v := binary.BigEndian.Uint16(pkt); {
	case v == 5:
		if err := checkV5(pkt); err != nil {
			d.stats.DropMalformed.Add(1)
			return out, fmt.Errorf("%s: %w", exporter, err)
		}
		var p netflowlegacy.PacketNetFlowV5
		if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
			d.stats.DecodeErrors.Add(1)
			return out, fmt.Errorf("%w: %s: netflow v5: %v", ErrMalformed, exporter, err)
		}
		return d.normV5(exporter, &p, out), nil
	case v == 9 || v == 10:
		if err := checkNetFlow(pkt); err != nil {
			d.stats.DropMalformed.Add(1)
			return out, fmt.Errorf("%s: %w", exporter, err)
		}
		st, err := d.state(exporter, recv)
		if err != nil {
			d.stats.DropExporterCap.Add(1)
			return out, fmt.Errorf("%s: %w", exporter, err)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		st.lastSeen = recv
		st.templates.now = recv
		return d.decodeNetFlow(exporter, st, pkt, recv, out)
	case v == 0 && len(pkt) >= 4 && binary.BigEndian.Uint32(pkt) == 5:
		if err := checkSFlow(pkt); err != nil {
			d.stats.DropMalformed.Add(1)
			return out, fmt.Errorf("%s: %w", exporter, err)
		}
		var p sflow.Packet
		if err := sflow.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
			d.stats.DecodeErrors.Add(1)
			return out, fmt.Errorf("%w: %s: sflow: %v", ErrMalformed, exporter, err)
		}
		return d.normSFlow(exporter, &p, recv, out), nil
	default:
		d.stats.DropUnsupported.Add(1)
		return out, fmt.Errorf("%w: %s: version %d", ErrUnsupported, exporter, v)
	}
}

// decodeNetFlow decodes a v9 or IPFIX message set by set. Template,
// options-template and options-data sets go through goflow2's set decoder
// (netflow.DecodeMessageCommonFlowSet) into our template store; data sets
// whose template is known are then read straight into Records by
// decodeDataSet, in a second pass so that a message's own templates and
// options (sampling rate, IE 160) apply to its data.
func (d *Decoder) decodeNetFlow(exporter netip.Addr, st *exporterState, pkt []byte, recv time.Time, out []Record) ([]Record, error) {
	be := binary.BigEndian
	version := be.Uint16(pkt)
	var hdr nfHeader
	off := 20
	if version == 9 {
		hdr = nfHeader{proto: ProtoNetFlowV9, uptime: be.Uint32(pkt[4:]), exportSec: be.Uint32(pkt[8:]), obs: be.Uint32(pkt[16:]), hasUptime: true}
	} else {
		hdr = nfHeader{proto: ProtoIPFIX, exportSec: be.Uint32(pkt[4:]), obs: be.Uint32(pkt[12:])}
		off = 16
		pkt = pkt[:be.Uint16(pkt[2:])] // checked by checkNetFlow
	}
	var firstErr error
	misses := 0
	for pass := 0; pass < 2; pass++ {
		for o := off; o+4 <= len(pkt); {
			id, l := be.Uint16(pkt[o:]), int(be.Uint16(pkt[o+2:]))
			set := pkt[o : o+l] // lengths checked by checkNetFlow
			o += l
			if id >= 256 {
				t, err := st.templates.GetTemplate(version, hdr.obs, id)
				if err != nil {
					if pass == 1 {
						misses++
						d.stats.TemplateMisses.Add(1)
					}
					continue
				}
				if tr, ok := t.(netflow.TemplateRecord); ok {
					if pass == 1 {
						out = d.decodeDataSet(exporter, st, &hdr, tr.Fields, set[4:], out)
					}
					continue
				}
			}
			if pass == 1 {
				continue
			}
			fs, err := netflow.DecodeMessageCommonFlowSet(bytes.NewBuffer(set), st.templates, hdr.obs, version)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if o, ok := fs.(netflow.OptionsDataFlowSet); ok {
				d.learnOptions(st, hdr.obs, o)
			}
			if err != nil {
				break // goflow2 stops a message at the first bad set too
			}
		}
	}
	if firstErr != nil {
		d.stats.DecodeErrors.Add(1)
		return out, fmt.Errorf("%w: %s: %s: %v", ErrMalformed, exporter, hdr.proto, firstErr)
	}
	if misses > 0 {
		return out, fmt.Errorf("%w: %s: %s: %d data sets", ErrTemplateMissing, exporter, hdr.proto, misses)
	}
	return out, nil
}
