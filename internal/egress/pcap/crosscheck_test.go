package pcap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// Helpers shared by the cross-checks against real exporters (softflowd,
// pmacctd, nfdump's nfreplay): run the exporter against a UDP socket of the
// test, keep what it sent, decode it, write it into a capture for tshark,
// and compare flows.

// sentDatagram is one export datagram an exporter sent to the test.
type sentDatagram struct {
	recv time.Time
	data []byte
}

// The addresses the received datagrams get in the capture written for
// tshark and ExtractFile.
var (
	capExporter  = netip.MustParseAddrPort("192.0.2.10:40000")
	capCollector = netip.MustParseAddrPort("192.0.2.1:2055")
)

// needTools skips the test when one of the tools is not installed.
func needTools(t *testing.T, pkg string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found on PATH (Debian package %s; daemons such as pmacctd and softflowd are in /usr/sbin): cross-check skipped", tool, pkg)
		}
	}
}

// listenLoopback opens a UDP socket on 127.0.0.1 for an exporter to send to.
func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// exporterRun says how to run one exporter.
type exporterRun struct {
	name string
	args []string
	// limit bounds the whole run (exporter and reading); the test fails
	// when the exporter has not exited by then.
	limit time.Duration
	// poke, when set, is called every 50 ms while the exporter runs.
	poke func(ctx context.Context)
	// exitOK, when set, decides whether a failed exit is acceptable
	// given the exporter's output.
	exitOK func(output string) bool
}

// quietAfterExit is how long the socket must stay quiet after the exporter
// exited before the datagrams are taken as complete. Generous for a loaded
// machine; the exporters send everything before they exit, this only
// guards against datagrams still queued in the kernel.
const quietAfterExit = 700 * time.Millisecond

// runExporter runs the exporter and returns the datagrams it sent to conn,
// in arrival order.
func runExporter(t *testing.T, conn *net.UDPConn, run exporterRun) []sentDatagram {
	t.Helper()
	ds, err := collectExporter(conn, run)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// collectExporter is runExporter for use outside the test goroutine.
func collectExporter(conn *net.UDPConn, run exporterRun) ([]sentDatagram, error) {
	ctx, cancel := context.WithTimeout(context.Background(), run.limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, run.name, run.args...)
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", run.name, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	if run.poke != nil {
		go func() {
			for {
				run.poke(ctx)
				select {
				case <-exited:
					return
				case <-ctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	var got []sentDatagram
	buf := make([]byte, flow.MaxDatagram)
	var quietFrom time.Time // zero until the exporter exited
	for {
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err == nil {
			got = append(got, sentDatagram{recv: time.Now(), data: append([]byte(nil), buf[:n]...)})
			if !quietFrom.IsZero() {
				quietFrom = time.Now()
			}
			continue
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			cancel()
			<-exited
			return nil, fmt.Errorf("%s: reading its datagrams: %v", run.name, err)
		}
		if quietFrom.IsZero() {
			select {
			case <-exited:
				quietFrom = time.Now()
			case <-ctx.Done():
				<-exited
				return nil, fmt.Errorf("%s %v did not finish within %s: %s", run.name, run.args, run.limit, output.String())
			default:
			}
			continue
		}
		if time.Since(quietFrom) >= quietAfterExit || ctx.Err() != nil {
			break
		}
	}
	if waitErr != nil && (run.exitOK == nil || !run.exitOK(output.String())) {
		return nil, fmt.Errorf("%s %v: %v: %s", run.name, run.args, waitErr, output.String())
	}
	if len(got) == 0 {
		return nil, fmt.Errorf("%s %v sent nothing: %s", run.name, run.args, output.String())
	}
	return got, nil
}

// decodeSent decodes the datagrams as sent by 127.0.0.1, each at its
// receive time.
func decodeSent(t *testing.T, ds []sentDatagram) []flow.Record {
	t.Helper()
	dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []flow.Record
	for i, d := range ds {
		recs, err = dec.Decode(netip.MustParseAddr("127.0.0.1"), d.data, d.recv, recs)
		if err != nil {
			t.Errorf("datagram %d (%d bytes): %v", i, len(d.data), err)
		}
	}
	return recs
}

// writeSent writes the datagrams into a classic pcap as UDP from
// capExporter to capCollector at their receive times.
func writeSent(t *testing.T, path string, ds []sentDatagram) {
	t.Helper()
	pkts := make([]flowtest.Packet, len(ds))
	for i, d := range ds {
		pkts[i] = flowtest.Packet{Time: d.recv, Frame: flowtest.Frame(capExporter, capCollector, 17, 0, d.data)}
	}
	if err := flowtest.WritePcap(path, pkts); err != nil {
		t.Fatal(err)
	}
}

// checkCaptureRoundTrip writes the datagrams into a capture, reads it back
// with ExtractFile and checks it gives the records of the direct decode.
func checkCaptureRoundTrip(t *testing.T, ds []sentDatagram, direct []flow.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exports.pcap")
	writeSent(t, path, ds)
	dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.PrefixFrom(capExporter.Addr(), 32)}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []flow.Record
	if _, err := ExtractFile(context.Background(), path, Limits{}, ExtractConfig{}, dec, func(r flow.Record) { recs = append(recs, r) }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(direct) {
		t.Fatalf("capture of the datagrams: %d records, socket: %d", len(recs), len(direct))
	}
	for i := range recs {
		a, b := recs[i], direct[i]
		a.Exporter, b.Exporter = netip.Addr{}, netip.Addr{}
		// The capture keeps microseconds: receive times (sFlow, fallback)
		// could differ below that; the exporters here carry their own times.
		if a != b {
			t.Errorf("record %d: capture %+v, socket %+v", i, a, b)
		}
	}
}

// recKey names a unidirectional flow.
func recKey(r flow.Record) string {
	return fmt.Sprintf("%s:%d>%s:%d/%d", r.Src, r.SrcPort, r.Dst, r.DstPort, r.Proto)
}

func reverseKey(r flow.Record) string {
	return fmt.Sprintf("%s:%d>%s:%d/%d", r.Dst, r.DstPort, r.Src, r.SrcPort, r.Proto)
}

// knownCheck compares an exporter's records with the flows MeterFile
// metered from the same capture (the known traffic).
type knownCheck struct {
	v6 bool // the exporter reports IPv6 flows
	// conversation: the exporter keeps one entry per conversation and gives
	// both directions its first and last packet times (softflowd, pmacctd).
	conversation bool
	src          flow.TimeSource // every record's time source
	tol          time.Duration   // time tolerance
	// rate: the sampling rate the exporter reports with every packet
	// kept (pmacctd_ext_sampling_rate); 0 for unsampled.
	rate uint32
}

func (c knownCheck) check(t *testing.T, name string, known, got []flow.Record) {
	t.Helper()
	want, have := sumByKey(known), sumByKey(got)
	rev := map[string]string{}
	for _, r := range known {
		rev[recKey(r)] = reverseKey(r)
	}
	for _, r := range got {
		if r.TimeSource != c.src {
			t.Errorf("%s: %s: time source %s, want %s", name, recKey(r), r.TimeSource, c.src)
		}
		if want := max(c.rate, 1); r.Sampled != (want > 1) || r.SamplingRate != want {
			t.Errorf("%s: %s: sampled %v rate %d, want rate %d", name, recKey(r), r.Sampled, r.SamplingRate, want)
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := 0
	for _, k := range keys {
		w := want[k]
		if !c.v6 && strings.Contains(k, "::") {
			continue
		}
		n++
		g, ok := have[k]
		if !ok {
			t.Errorf("%s: exporter has no flow %s (has %v)", name, k, have)
			continue
		}
		if rate := uint64(max(c.rate, 1)); g.bytes != w.bytes*rate || g.packets != w.packets*rate {
			t.Errorf("%s: %s: exporter %d bytes %d packets, known %d %d (rate %d)", name, k, g.bytes, g.packets, w.bytes, w.packets, rate)
		}
		span := [2]time.Time{w.start, w.end}
		if r, ok := want[rev[k]]; ok && c.conversation {
			span = [2]time.Time{minTime(w.start, r.start), maxTime(w.end, r.end)}
		}
		for _, p := range [][2]time.Time{{g.start, span[0]}, {g.end, span[1]}} {
			if d := p[0].Sub(p[1]).Abs(); d > c.tol {
				t.Errorf("%s: %s: exporter time %s, known %s (off by %s, tolerance %s)", name, k,
					p[0].Format(time.RFC3339Nano), p[1].Format(time.RFC3339Nano), d, c.tol)
			}
		}
	}
	if len(have) != n {
		t.Errorf("%s: exporter %d flows, known %d", name, len(have), n)
	}
}

// PDML, tshark's XML dissection tree: fields nest, and each flow record is
// an unnamed field "Flow N" (v9/IPFIX) or "pdu N/M" (v5). -T fields is not
// used here: tshark leaves out a relative start time of 0 (it shows it as
// an absolute time of 1970 instead), which misaligns the per-record lists.
type pdmlField struct {
	Name   string      `xml:"name,attr"`
	Show   string      `xml:"show,attr"`
	Value  string      `xml:"value,attr"`
	Fields []pdmlField `xml:"field"`
}

type pdmlPacket struct {
	Protos []struct {
		Name   string      `xml:"name,attr"`
		Fields []pdmlField `xml:"field"`
	} `xml:"proto"`
}

// flatten collects the named fields under f (first occurrence wins).
func (f *pdmlField) flatten(m map[string]pdmlField) {
	for i := range f.Fields {
		c := &f.Fields[i]
		if _, ok := m[c.Name]; c.Name != "" && !ok {
			m[c.Name] = *c
		}
		c.flatten(m)
	}
}

// tsharkFlows decodes the capture with tshark (-T pdml) and returns its
// flow records in order. Times: absolute fields as tshark shows them; the
// 32-bit uptime fields (shown as seconds since boot) turned into wall time
// with the v5/v9 header (export time - (sysUpTime - t), modulo 2^32 ms) or,
// for IPFIX, with the System Init Time of the last options record tshark
// showed, taking the 2^32 ms wrap nearest the header's export time.
func tsharkFlows(t *testing.T, path string) []tsharkRecord {
	t.Helper()
	cmd := exec.Command("tshark", "-r", path, "-T", "pdml")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	dec := xml.NewDecoder(bytes.NewReader(out))
	var recs []tsharkRecord
	sysInits := map[netip.Addr]time.Time{} // per exporter
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("tshark pdml: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "packet" {
			continue
		}
		var pkt pdmlPacket
		if err := dec.DecodeElement(&pkt, &se); err != nil {
			t.Fatalf("tshark pdml: %v", err)
		}
		var from netip.Addr
		for _, proto := range pkt.Protos {
			if proto.Name == "ip" {
				for _, f := range proto.Fields {
					if f.Name == "ip.src" {
						from, _ = netip.ParseAddr(f.Show)
					}
				}
			}
			if proto.Name != "cflow" {
				continue
			}
			sysInit := sysInits[from]
			hdr := map[string]pdmlField{}
			root := pdmlField{Fields: proto.Fields}
			for _, f := range proto.Fields {
				if f.Name != "" {
					hdr[f.Name] = f
				}
			}
			var obs uint64
			switch {
			case hdr["cflow.od_id"].Name != "":
				obs, _ = strconv.ParseUint(hdr["cflow.od_id"].Show, 10, 32)
			case hdr["cflow.source_id"].Name != "":
				obs, _ = strconv.ParseUint(hdr["cflow.source_id"].Show, 10, 32)
			case hdr["cflow.engine_type"].Name != "":
				et, _ := strconv.ParseUint(hdr["cflow.engine_type"].Show, 10, 8)
				ei, _ := strconv.ParseUint(hdr["cflow.engine_id"].Show, 10, 8)
				obs = et<<8 | ei
			}
			var export time.Time
			if f, ok := hdr["cflow.timestamp"]; ok {
				if export, err = time.Parse(tsharkTime, f.Show); err != nil {
					t.Fatalf("tshark export time %q: %v", f.Show, err)
				}
			}
			for _, fl := range flowFields(&root) {
				m := map[string]pdmlField{}
				fl.flatten(m)
				if f, ok := m["cflow.sys_init_time"]; ok {
					if sysInit, err = time.Parse(tsharkTime, f.Show); err != nil {
						t.Fatalf("tshark system init time %q: %v", f.Show, err)
					}
					sysInits[from] = sysInit
				}
				src, dst := m["cflow.srcaddr"].Show, m["cflow.dstaddr"].Show
				if f, ok := m["cflow.srcaddrv6"]; ok {
					src, dst = f.Show, m["cflow.dstaddrv6"].Show
				}
				if src == "" {
					continue // an options record
				}
				r := tsharkRecord{exporter: from, src: netip.MustParseAddr(src), dst: netip.MustParseAddr(dst),
					srcPort: atou16(m["cflow.srcport"].Show), dstPort: atou16(m["cflow.dstport"].Show),
					proto: uint8(atou16(m["cflow.protocol"].Show))}
				r.bytes, _ = strconv.ParseUint(m["cflow.octets"].Show, 10, 64)
				r.packets, _ = strconv.ParseUint(m["cflow.packets"].Show, 10, 64)
				flags, _ := strconv.ParseUint(strings.TrimPrefix(m["cflow.tcpflags"].Show, "0x"), 16, 8)
				in, _ := strconv.ParseUint(m["cflow.inputint"].Show, 10, 32)
				out, _ := strconv.ParseUint(m["cflow.outputint"].Show, 10, 32)
				r.tcpFlags, r.in, r.out, r.obs = uint8(flags), uint32(in), uint32(out), uint32(obs)
				switch m["cflow.direction"].Show {
				case "0":
					r.direction = flow.DirectionIngress
				case "1":
					r.direction = flow.DirectionEgress
				}
				for _, side := range []struct {
					rel, abs string
					dst      *time.Time
				}{{"cflow.timestart", "cflow.abstimestart", &r.start}, {"cflow.timeend", "cflow.abstimeend", &r.end}} {
					rel, isRel := m[side.rel]
					abs, isAbs := m[side.abs]
					_, hasStart := m["cflow.timestart"]
					_, hasEnd := m["cflow.timeend"]
					if isAbs && strings.Trim(abs.Value, "0") == "" && (hasStart || hasEnd) {
						// tshark shows a relative time of 0 as 1970
						rel, isRel, isAbs = pdmlField{Show: "0"}, true, false
					}
					switch {
					case isAbs:
						if *side.dst, err = time.Parse(tsharkTime, abs.Show); err != nil {
							t.Fatalf("tshark time %q: %v", abs.Show, err)
						}
					case isRel && hdr["cflow.sysuptime"].Name != "":
						*side.dst = export.Add(-uptimeBefore(secs(hdr["cflow.sysuptime"].Show), secs(rel.Show)))
					case isRel && !sysInit.IsZero():
						ts := sysInit.Add(time.Duration(math.Round(secs(rel.Show) * 1e9)))
						const wrap = time.Duration(1<<32) * time.Millisecond
						for ts.Sub(export) > wrap/2 {
							ts = ts.Add(-wrap)
						}
						for export.Sub(ts) > wrap/2 {
							ts = ts.Add(wrap)
						}
						*side.dst = ts
					}
				}
				recs = append(recs, r)
			}
		}
	}
	return recs
}

// flowFields returns the flow record subtrees under f, in order.
func flowFields(f *pdmlField) []*pdmlField {
	var out []*pdmlField
	for i := range f.Fields {
		c := &f.Fields[i]
		if c.Name == "" && (strings.HasPrefix(c.Show, "Flow ") || strings.HasPrefix(c.Show, "pdu ")) {
			out = append(out, c)
			continue
		}
		out = append(out, flowFields(c)...)
	}
	return out
}

// tsharkRun is the datagrams of one exporter run for tsharkDecode.
type tsharkRun struct {
	ds []sentDatagram
	// fixV9Count: softflowd's v9 header Count counts only the flow
	// records, while RFC 3954 section 5.1 counts template and options
	// records too; tshark stops after Count records, so it would never
	// reach softflowd's data. The copy tshark reads then has Count 65535
	// (netvet walks the sets by their lengths and ignores Count).
	fixV9Count bool
}

// tsharkDecode decodes the datagrams of several exporter runs with one
// tshark call (its start-up takes a second or more on a loaded machine)
// and returns each run's records. Run i's datagrams come from 192.0.2.10+i
// in the capture, so tshark keeps their templates apart.
func tsharkDecode(t *testing.T, runs []tsharkRun) [][]tsharkRecord {
	t.Helper()
	if len(runs) > 200 {
		t.Fatalf("%d runs: at most 200", len(runs))
	}
	var pkts []flowtest.Packet
	for i, r := range runs {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), capExporter.Port())
		for _, d := range r.ds {
			data := d.data
			if r.fixV9Count && len(data) >= 4 && data[0] == 0 && data[1] == 9 {
				data = append([]byte(nil), data...)
				data[2], data[3] = 0xff, 0xff
			}
			pkts = append(pkts, flowtest.Packet{Time: d.recv, Frame: flowtest.Frame(from, capCollector, 17, 0, data)})
		}
	}
	path := filepath.Join(t.TempDir(), "tshark.pcap")
	if err := flowtest.WritePcap(path, pkts); err != nil {
		t.Fatal(err)
	}
	out := make([][]tsharkRecord, len(runs))
	for _, r := range tsharkFlows(t, path) {
		b := r.exporter.As4()
		i := int(b[3]) - 10
		if !r.exporter.Is4() || i < 0 || i >= len(runs) {
			t.Fatalf("tshark record from %s", r.exporter)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// tsharkCheck compares records with tshark's decoding of the same
// datagrams, record by record: addresses, ports, protocol, bytes, packets,
// TCP flags, interfaces, direction, observation domain, and times within
// tol.
type tsharkCheck struct {
	tol time.Duration
	// rate: netvet's counters are tshark's (raw) times this.
	rate uint64
}

// check returns the number of timestamps compared.
func (c tsharkCheck) check(t *testing.T, name string, want []tsharkRecord, got []flow.Record) int {
	t.Helper()
	tol, rate := c.tol, max(c.rate, 1)
	if len(got) != len(want) {
		t.Fatalf("%s: netvet %d records, tshark %d", name, len(got), len(want))
	}
	checked := 0
	for i, w := range want {
		g := got[i]
		if g.Src != w.src || g.Dst != w.dst || g.SrcPort != w.srcPort || g.DstPort != w.dstPort || g.Proto != w.proto ||
			g.Bytes != w.bytes*rate || g.Packets != w.packets*rate {
			t.Errorf("%s: record %d: netvet %s %d bytes %d packets; tshark %s:%d>%s:%d/%d %d bytes %d packets (rate %d)", name, i,
				recKey(g), g.Bytes, g.Packets, w.src, w.srcPort, w.dst, w.dstPort, w.proto, w.bytes, w.packets, rate)
		}
		if g.TCPFlags != w.tcpFlags || g.InIf != w.in || g.OutIf != w.out || g.Direction != w.direction || g.ObservationDomain != w.obs {
			t.Errorf("%s: record %d: netvet flags %#x interfaces %d/%d direction %s domain %d; tshark %#x %d/%d %s %d", name, i,
				g.TCPFlags, g.InIf, g.OutIf, g.Direction, g.ObservationDomain, w.tcpFlags, w.in, w.out, w.direction, w.obs)
		}
		for _, p := range [][2]time.Time{{g.Start, w.start}, {g.End, w.end}} {
			if p[1].IsZero() {
				t.Errorf("%s: record %d: tshark shows no time", name, i)
				continue
			}
			checked++
			if d := p[0].Sub(p[1]).Abs(); d > tol {
				t.Errorf("%s: record %d (%s): netvet %s, tshark %s (tolerance %s)", name, i, g.TimeSource,
					p[0].Format(time.RFC3339Nano), p[1].Format(time.RFC3339Nano), tol)
			}
		}
	}
	return checked
}
