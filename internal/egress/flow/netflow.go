package flow

import (
	"net/netip"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

// Information elements used by the normaliser (IANA IPFIX registry; 1-127
// are shared with NetFlow v9).
const (
	ieOctetDelta          = 1
	iePacketDelta         = 2
	ieProtocol            = 4
	ieTCPFlags            = 6
	ieSrcPort             = 7
	ieSrcIPv4             = 8
	ieInIf                = 10
	ieDstPort             = 11
	ieDstIPv4             = 12
	ieOutIf               = 14
	ieLastSwitched        = 21
	ieFirstSwitched       = 22
	iePostOctetDelta      = 23
	iePostPacketDelta     = 24
	ieSrcIPv6             = 27
	ieDstIPv6             = 28
	ieSamplingInterval    = 34
	ieSamplerID           = 48
	ieSamplerRandom       = 50
	ieDirection           = 61
	ieOctetTotal          = 85
	iePacketTotal         = 86
	ieStartSeconds        = 150
	ieEndSeconds          = 151
	ieStartMs             = 152
	ieEndMs               = 153
	ieStartUs             = 154
	ieEndUs               = 155
	ieStartNs             = 156
	ieEndNs               = 157
	ieSysInitMs           = 160
	ieDurationMs          = 161
	ieDurationUs          = 162
	ieSelectorID          = 302
	ieSamplingPktInterval = 305
	ieSamplingPktSpace    = 306
)

// ntpEpochOffset is the seconds from 1900-01-01 (NTP) to 1970-01-01.
const ntpEpochOffset = 2208988800

type nfHeader struct {
	proto     Protocol
	obs       uint32
	exportSec uint32
	uptime    uint32
	hasUptime bool
}

func (h *nfHeader) exportTime() time.Time { return time.Unix(int64(h.exportSec), 0).UTC() }

// beUint reads a big-endian unsigned integer of 1 to 8 bytes (IPFIX allows
// reduced-size encoding).
func beUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// ntpTime converts a dateTimeMicroseconds/Nanoseconds value (RFC 7011
// 6.1.9-10: NTP seconds since 1900 and a 32-bit binary fraction).
func ntpTime(v uint64, micro bool) time.Time {
	sec := int64(v>>32) - ntpEpochOffset
	ns := int64((v&0xffffffff*1e9 + 1<<31) >> 32) // rounded to the nearest ns
	if micro {
		// the low 11 bits of the fraction are not significant: round to µs
		ns = (ns + 500) / 1000 * 1000
	}
	return time.Unix(sec, ns).UTC()
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// uptimeDelta returns reference - t in milliseconds for two 32-bit uptime
// counters, allowing for the counter wrapping between them.
func uptimeDelta(reference, t uint32) int64 { return int64(int32(reference - t)) }

// nearExport moves t (ms since 1970, from IE 160 systemInitTimeMilliseconds
// plus a 32-bit millisecond uptime such as IE 22/21) by whole periods of
// the counter (2^32 ms, 49.7 days) to within half a period of the export
// time exportMs, as uptimeDelta does for v5 and v9. The counter wraps on a
// device up for longer than a period, and an exporter whose uptime origin
// and flow times come from different clocks sends "negative" uptimes that
// wrap too (softflowd -r without -a: origin from the wall clock, flows
// from the capture). Without an export time, or for times beyond any
// clock, t is returned unchanged.
func nearExport(t, exportMs int64) int64 {
	const period = int64(1) << 32
	const limit = int64(1) << 50 // ms: about 35,000 years either side of 1970
	if exportMs <= 0 || exportMs > limit || t < -limit || t > limit {
		return t
	}
	k := (exportMs - t + period/2) >> 32 // floor division by the period
	return t + k*period
}

func (d *Decoder) normV5(exporter netip.Addr, p *netflowlegacy.PacketNetFlowV5, out []Record) []Record {
	exportMs := int64(p.UnixSecs)*1000 + int64(p.UnixNSecs)/1e6
	rate := uint32(p.SamplingInterval & 0x3fff)
	sampled := p.SamplingInterval>>14 != 0 && rate > 1
	if !sampled {
		rate = 1
	}
	for i := range p.Records {
		r := &p.Records[i]
		out = append(out, Record{
			Exporter:          exporter,
			Protocol:          ProtoNetFlowV5,
			ObservationDomain: uint32(p.EngineType)<<8 | uint32(p.EngineId),
			Src:               netip.AddrFrom4(u32be(uint32(r.SrcAddr))),
			Dst:               netip.AddrFrom4(u32be(uint32(r.DstAddr))),
			SrcPort:           r.SrcPort,
			DstPort:           r.DstPort,
			Proto:             r.Proto,
			TCPFlags:          r.TCPFlags,
			Sampled:           sampled,
			SamplingRate:      rate,
			InIf:              uint32(r.Input),
			OutIf:             uint32(r.Output),
			Bytes:             uint64(r.DOctets) * uint64(rate),
			Packets:           uint64(r.DPkts) * uint64(rate),
			Start:             msTime(exportMs - uptimeDelta(p.SysUptime, r.First)),
			End:               msTime(exportMs - uptimeDelta(p.SysUptime, r.Last)),
			TimeSource:        TimeUptimeRelative,
		})
	}
	return out
}

func u32be(v uint32) [4]byte { return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// have bits for nfFields.
const (
	hFirst = 1 << iota
	hLast
	hStartS
	hEndS
	hStartMs
	hEndMs
	hStartUs
	hEndUs
	hStartNs
	hEndNs
	hDurMs
	hDurUs
	hSysInit
	hOctets
	hPackets
	hSamplingInterval
	hSamplerID
	hPktInterval
	hPktSpace
)

// nfFields collects the values of one data record.
type nfFields struct {
	have                  uint32
	first, last           uint32
	start, end            uint64 // raw value of the best absolute pair seen so far, by its have bit
	startS, endS          uint64
	startMs, endMs        uint64
	startUs, endUs        uint64
	startNs, endNs        uint64
	durMs, durUs          uint64
	sysInit               uint64
	octets, packets       uint64
	postOctets, postPkts  uint64
	totOctets, totPkts    uint64
	samplingInterval      uint64
	samplerID             uint64
	pktInterval, pktSpace uint64
}

// decodeDataSet reads the data records of one set with template fields
// and appends their Records. A record cut short by the end of the set ends
// the set (what remains is padding or garbage).
func (d *Decoder) decodeDataSet(exporter netip.Addr, st *exporterState, h *nfHeader, fields []netflow.Field, b []byte, out []Record) []Record {
	minSize := minRecordSize(fields)
	if minSize == 0 {
		return out
	}
	for len(b) >= minSize {
		var f nfFields
		r := Record{Exporter: exporter, Protocol: h.proto, ObservationDomain: h.obs}
		off := 0
		for _, fd := range fields {
			n := int(fd.Length)
			if fd.Length == 0xffff {
				if off >= len(b) {
					return out
				}
				n = int(b[off])
				off++
				if n == 255 {
					if off+2 > len(b) {
						return out
					}
					n = int(b[off])<<8 | int(b[off+1])
					off += 2
				}
			}
			if off+n > len(b) {
				return out
			}
			if !fd.PenProvided {
				d.field(&r, &f, fd.Type, b[off:off+n])
			}
			off += n
		}
		b = b[off:]
		out = d.finish(st, h, &f, r, out)
	}
	return out
}

// finish completes a record's times, sampling and counters and appends it.
func (d *Decoder) finish(st *exporterState, h *nfHeader, f *nfFields, r Record, out []Record) []Record {
	if !r.Src.IsValid() || !r.Dst.IsValid() {
		d.stats.DropNoAddress.Add(1)
		return out
	}
	if f.have&hSysInit != 0 {
		if _, ok := st.sysInit[h.obs]; ok || len(st.sysInit) < maxOptionEntries {
			st.sysInit[h.obs] = int64(f.sysInit)
		}
	}
	d.times(st, h, f, &r)
	d.sampling(st, h.obs, f, &r)
	switch {
	case f.have&hOctets != 0:
		r.Bytes = f.octets
	case f.postOctets != 0:
		r.Bytes = f.postOctets
	default:
		r.Bytes = f.totOctets
	}
	switch {
	case f.have&hPackets != 0:
		r.Packets = f.packets
	case f.postPkts != 0:
		r.Packets = f.postPkts
	default:
		r.Packets = f.totPkts
	}
	r.Bytes *= uint64(r.SamplingRate)
	r.Packets *= uint64(r.SamplingRate)
	return append(out, r)
}

func (d *Decoder) field(r *Record, f *nfFields, t uint16, b []byte) {
	switch t {
	case ieSrcIPv4:
		if len(b) == 4 {
			r.Src = netip.AddrFrom4([4]byte(b))
		}
		return
	case ieDstIPv4:
		if len(b) == 4 {
			r.Dst = netip.AddrFrom4([4]byte(b))
		}
		return
	case ieSrcIPv6:
		if len(b) == 16 {
			r.Src = netip.AddrFrom16([16]byte(b))
		}
		return
	case ieDstIPv6:
		if len(b) == 16 {
			r.Dst = netip.AddrFrom16([16]byte(b))
		}
		return
	}
	v, ok := beUint(b)
	if !ok {
		return
	}
	if v == 0 && t >= ieStartSeconds && t <= ieEndNs {
		return // some exporters send 0 for "not known"
	}
	switch t {
	case ieOctetDelta:
		f.octets, f.have = v, f.have|hOctets
	case iePacketDelta:
		f.packets, f.have = v, f.have|hPackets
	case iePostOctetDelta:
		f.postOctets = v
	case iePostPacketDelta:
		f.postPkts = v
	case ieOctetTotal:
		f.totOctets = v
	case iePacketTotal:
		f.totPkts = v
	case ieProtocol:
		r.Proto = uint8(v)
	case ieTCPFlags:
		r.TCPFlags = uint8(v)
	case ieSrcPort:
		r.SrcPort = uint16(v)
	case ieDstPort:
		r.DstPort = uint16(v)
	case ieInIf:
		r.InIf = uint32(v)
	case ieOutIf:
		r.OutIf = uint32(v)
	case ieDirection:
		switch v {
		case 0:
			r.Direction = DirectionIngress
		case 1:
			r.Direction = DirectionEgress
		}
	case ieFirstSwitched:
		f.first, f.have = uint32(v), f.have|hFirst
	case ieLastSwitched:
		f.last, f.have = uint32(v), f.have|hLast
	case ieStartSeconds:
		f.startS, f.have = v, f.have|hStartS
	case ieEndSeconds:
		f.endS, f.have = v, f.have|hEndS
	case ieStartMs:
		f.startMs, f.have = v, f.have|hStartMs
	case ieEndMs:
		f.endMs, f.have = v, f.have|hEndMs
	case ieStartUs:
		f.startUs, f.have = v, f.have|hStartUs
	case ieEndUs:
		f.endUs, f.have = v, f.have|hEndUs
	case ieStartNs:
		f.startNs, f.have = v, f.have|hStartNs
	case ieEndNs:
		f.endNs, f.have = v, f.have|hEndNs
	case ieDurationMs:
		f.durMs, f.have = v, f.have|hDurMs
	case ieDurationUs:
		f.durUs, f.have = v, f.have|hDurUs
	case ieSysInitMs:
		f.sysInit, f.have = v, f.have|hSysInit
	case ieSamplingInterval, ieSamplerRandom:
		f.samplingInterval, f.have = v, f.have|hSamplingInterval
	case ieSamplerID, ieSelectorID:
		f.samplerID, f.have = v, f.have|hSamplerID
	case ieSamplingPktInterval:
		f.pktInterval, f.have = v, f.have|hPktInterval
	case ieSamplingPktSpace:
		f.pktSpace, f.have = v, f.have|hPktSpace
	}
}

// times picks the most precise time representation the record carries.
func (d *Decoder) times(st *exporterState, h *nfHeader, f *nfFields, r *Record) {
	var start, end time.Time
	var src TimeSource
	var startOK, endOK bool
	switch {
	case f.have&(hStartNs|hEndNs) != 0:
		src = TimeAbsoluteNs
		start, startOK = ntpTime(f.startNs, false), f.have&hStartNs != 0
		end, endOK = ntpTime(f.endNs, false), f.have&hEndNs != 0
	case f.have&(hStartUs|hEndUs) != 0:
		src = TimeAbsoluteUs
		start, startOK = ntpTime(f.startUs, true), f.have&hStartUs != 0
		end, endOK = ntpTime(f.endUs, true), f.have&hEndUs != 0
	case f.have&(hStartMs|hEndMs) != 0:
		src = TimeAbsoluteMs
		start, startOK = msTime(int64(f.startMs)), f.have&hStartMs != 0
		end, endOK = msTime(int64(f.endMs)), f.have&hEndMs != 0
	case f.have&(hStartS|hEndS) != 0:
		src = TimeAbsoluteSeconds
		start, startOK = time.Unix(int64(f.startS), 0).UTC(), f.have&hStartS != 0
		end, endOK = time.Unix(int64(f.endS), 0).UTC(), f.have&hEndS != 0
	case f.have&(hFirst|hLast) != 0:
		var base int64 // milliseconds since the epoch at uptime 0
		ok := true
		if sys, found := st.sysInit[h.obs]; f.have&hSysInit != 0 || found {
			if f.have&hSysInit != 0 {
				sys = int64(f.sysInit)
			}
			base = sys
		} else if h.hasUptime {
			base = int64(h.exportSec)*1000 - int64(h.uptime)
		} else {
			ok = false
		}
		if ok {
			src = TimeUptimeRelative
			if h.hasUptime && f.have&hSysInit == 0 {
				// v9: measure against the header uptime so a wrapped
				// counter still gives the right time.
				exp := int64(h.exportSec) * 1000
				start, startOK = msTime(exp-uptimeDelta(h.uptime, f.first)), f.have&hFirst != 0
				end, endOK = msTime(exp-uptimeDelta(h.uptime, f.last)), f.have&hLast != 0
			} else {
				// IE 160 + uptime: a 32-bit counter, taken in the
				// period nearest the export time.
				exp := int64(h.exportSec) * 1000
				start, startOK = msTime(nearExport(base+int64(f.first), exp)), f.have&hFirst != 0
				end, endOK = msTime(nearExport(base+int64(f.last), exp)), f.have&hLast != 0
			}
		}
	}
	var dur time.Duration
	hasDur := f.have&(hDurMs|hDurUs) != 0
	if f.have&hDurUs != 0 {
		dur = time.Duration(min(f.durUs, 1<<40)) * time.Microsecond
	} else if f.have&hDurMs != 0 {
		dur = time.Duration(min(f.durMs, 1<<40)) * time.Millisecond
	}
	switch {
	case startOK && endOK:
	case startOK && hasDur:
		end, src = start.Add(dur), TimeStartDuration
	case endOK && hasDur:
		start, src = end.Add(-dur), TimeStartDuration
	case startOK:
		end = start
	case endOK:
		start = end
	default:
		start, end, src = h.exportTime(), h.exportTime(), TimeExportFallback
	}
	r.Start, r.End, r.TimeSource = start, end, src
}

// sampling sets the record's rate from its own fields, then the options
// records of its sampler or domain.
func (d *Decoder) sampling(st *exporterState, obs uint32, f *nfFields, r *Record) {
	rate := rateOf(f)
	if rate == 0 {
		id := uint32(0)
		if f.have&hSamplerID != 0 {
			id = uint32(f.samplerID)
		}
		rate = st.sampling[samplerKey{obs, id}]
		if rate == 0 && id != 0 {
			rate = st.sampling[samplerKey{obs, 0}]
		}
	}
	if rate > 1 {
		r.Sampled, r.SamplingRate = true, rate
	} else {
		r.SamplingRate = 1
	}
}

func rateOf(f *nfFields) uint32 {
	if f.have&hSamplingInterval != 0 && f.samplingInterval > 0 {
		return uint32(min(f.samplingInterval, 1<<31))
	}
	if f.have&hPktInterval != 0 && f.pktInterval > 0 {
		r := (f.pktInterval + f.pktSpace) / f.pktInterval
		return uint32(min(r, 1<<31))
	}
	return 0
}

// learnOptions records IE 160 and sampler rates from options data records.
func (d *Decoder) learnOptions(st *exporterState, obs uint32, s netflow.OptionsDataFlowSet) {
	for i := range s.Records {
		d.stats.OptionsRecords.Add(1)
		var f nfFields
		var r Record
		for _, vs := range [2][]netflow.DataField{s.Records[i].ScopesValues, s.Records[i].OptionsValues} {
			for _, v := range vs {
				if v.PenProvided {
					continue
				}
				b, _ := v.Value.([]byte)
				d.field(&r, &f, v.Type, b)
			}
		}
		if f.have&hSysInit != 0 {
			if _, ok := st.sysInit[obs]; ok || len(st.sysInit) < maxOptionEntries {
				st.sysInit[obs] = int64(f.sysInit)
			}
		}
		if rate := rateOf(&f); rate > 0 {
			id := uint32(0)
			if f.have&hSamplerID != 0 {
				id = uint32(f.samplerID)
			}
			for _, k := range []samplerKey{{obs, id}, {obs, 0}} {
				_, ok := st.sampling[k]
				if k.sampler == 0 && id != 0 && ok {
					continue // a domain-wide rate stays; the first sampler fills it only if absent
				}
				if ok || len(st.sampling) < maxOptionEntries {
					st.sampling[k] = rate
				}
			}
		}
	}
}
