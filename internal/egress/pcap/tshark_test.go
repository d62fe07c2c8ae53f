package pcap

import (
	"context"
	"math"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// tsharkRecord is one flow as tshark decodes it.
type tsharkRecord struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
	proto            uint8
	bytes, packets   uint64
	start, end       time.Time // zero when tshark shows none
	// read from PDML only (tsharkFlows)
	exporter  netip.Addr // the datagram's IP source
	tcpFlags  uint8
	in, out   uint32
	direction flow.Direction
	obs       uint32
}

var tsharkFields = []string{"frame.number", "ip.src", "ipv6.src", "cflow.version", "cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr",
	"cflow.dstaddrv6", "cflow.srcport", "cflow.dstport", "cflow.octets", "cflow.timestart", "cflow.timeend", "cflow.abstimestart",
	"cflow.abstimeend", "cflow.sysuptime", "cflow.timestamp", "sflow.flow_sample.sampling_rate", "ip.dst", "udp.srcport", "udp.dstport", "ip.len", "cflow.packets", "cflow.protocol", "ip.proto"}

const tsharkTime = "Jan _2, 2006 15:04:05.000000000 MST"

// runTshark decodes path with tshark and returns the flows per frame.
func runTshark(t *testing.T, path string) map[int][]tsharkRecord {
	t.Helper()
	args := []string{"-r", path, "-d", "udp.port==9995,cflow", "-d", "udp.port==9996,cflow", "-T", "fields", "-E", "separator=|", "-E", "aggregator=;"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	res := map[int][]tsharkRecord{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		v := map[string][]string{}
		cols := strings.Split(line, "|")
		if len(cols) != len(tsharkFields) {
			t.Fatalf("tshark line %q: %d columns", line, len(cols))
		}
		for i, c := range cols {
			if c != "" {
				v[tsharkFields[i]] = strings.Split(c, ";")
			}
		}
		frame, _ := strconv.Atoi(v["frame.number"][0])
		switch {
		case v["cflow.version"] != nil:
			srcs, dsts := append(v["cflow.srcaddr"], v["cflow.srcaddrv6"]...), append(v["cflow.dstaddr"], v["cflow.dstaddrv6"]...)
			export, err := time.Parse(tsharkTime, v["cflow.timestamp"][0])
			if err != nil {
				t.Fatalf("frame %d: %v", frame, err)
			}
			for i := range srcs {
				r := tsharkRecord{src: netip.MustParseAddr(srcs[i]), dst: netip.MustParseAddr(dsts[i]),
					srcPort: atou16(v["cflow.srcport"][i]), dstPort: atou16(v["cflow.dstport"][i])}
				r.bytes, _ = strconv.ParseUint(v["cflow.octets"][i], 10, 64)
				r.packets, _ = strconv.ParseUint(v["cflow.packets"][i], 10, 64)
				r.proto = uint8(atou16(v["cflow.protocol"][i]))
				if ts := v["cflow.timestart"]; ts != nil && v["cflow.sysuptime"] != nil {
					// uptime-relative: export time - (sysuptime - first)
					// tshark shows the 32-bit millisecond counters as seconds
					// and leaves the arithmetic to the reader; it is done
					// modulo 2^32 ms, as the counters wrap.
					up := secs(v["cflow.sysuptime"][0])
					r.start = export.Add(-uptimeBefore(up, secs(ts[i])))
					r.end = export.Add(-uptimeBefore(up, secs(v["cflow.timeend"][i])))
				}
				if ts := v["cflow.abstimestart"]; ts != nil {
					r.start, _ = time.Parse(tsharkTime, ts[i])
				}
				if ts := v["cflow.abstimeend"]; ts != nil {
					r.end, _ = time.Parse(tsharkTime, ts[i])
				}
				res[frame] = append(res[frame], r)
			}
		case v["sflow.flow_sample.sampling_rate"] != nil:
			// ip.src etc. list the outer datagram first, then each sampled header
			rates := v["sflow.flow_sample.sampling_rate"]
			for i, rate := range rates {
				r := tsharkRecord{src: netip.MustParseAddr(v["ip.src"][i+1]), dst: netip.MustParseAddr(v["ip.dst"][i+1]),
					srcPort: atou16(v["udp.srcport"][i+1]), dstPort: atou16(v["udp.dstport"][i+1])}
				n, _ := strconv.ParseUint(rate, 10, 64)
				l, _ := strconv.ParseUint(v["ip.len"][i+1], 10, 64)
				r.bytes, r.packets = n*l, n
				r.proto = uint8(atou16(v["ip.proto"][i+1]))
				res[frame] = append(res[frame], r)
			}
		}
	}
	return res
}

// uptimeBefore returns how long before the header uptime up (seconds) the
// uptime t (seconds) was, both 32-bit millisecond counters.
func uptimeBefore(up, t float64) time.Duration {
	d := int64(math.Round((up - t) * 1e9))
	const wrap = int64(1<<32) * int64(time.Millisecond)
	d %= wrap
	if d >= wrap/2 {
		d -= wrap
	} else if d < -wrap/2 {
		d += wrap
	}
	return time.Duration(d)
}

func atou16(s string) uint16 { n, _ := strconv.ParseUint(s, 10, 16); return uint16(n) }

func secs(s string) float64 { f, _ := strconv.ParseFloat(strings.Fields(s)[0], 64); return f }

// TestTsharkCrossCheck decodes the same export capture with tshark and with
// ExtractFile and compares records, addresses, ports, bytes and times.
func TestTsharkCrossCheck(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (Debian package tshark): cross-check skipped")
	}
	pkts, _ := exportCapture(t)
	path := filepath.Join(t.TempDir(), "exports.pcap")
	if err := flowtest.WritePcap(path, pkts); err != nil {
		t.Fatal(err)
	}
	want := runTshark(t, path)
	allowed := netip.MustParsePrefix("192.0.2.0/24")
	dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{allowed, netip.MustParsePrefix("2001:db8::/32")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []flow.Record
	if _, err := ExtractFile(context.Background(), path, Limits{}, ExtractConfig{}, dec, func(r flow.Record) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	// Frame 7 comes from an exporter that is not configured: tshark shows
	// it, we drop it.
	if len(want[7]) == 0 {
		t.Fatal("tshark did not decode the unknown exporter's datagram")
	}
	delete(want, 7)
	var wantAll []tsharkRecord
	for frame := 1; frame <= len(pkts); frame++ {
		wantAll = append(wantAll, want[frame]...)
	}
	if len(got) != len(wantAll) {
		t.Fatalf("netvet %d records, tshark %d", len(got), len(wantAll))
	}
	checked := 0
	for i, w := range wantAll {
		g := got[i]
		if g.Src != w.src || g.Dst != w.dst || g.SrcPort != w.srcPort || g.DstPort != w.dstPort || g.Proto != w.proto ||
			g.Bytes != w.bytes || g.Packets != w.packets {
			t.Errorf("record %d: netvet %s:%d -> %s:%d/%d %d bytes %d packets; tshark %s:%d -> %s:%d/%d %d bytes %d packets", i,
				g.Src, g.SrcPort, g.Dst, g.DstPort, g.Proto, g.Bytes, g.Packets, w.src, w.srcPort, w.dst, w.dstPort, w.proto, w.bytes, w.packets)
		}
		// tshark truncates NTP fractions to the nanosecond below; allow 1 µs.
		for _, p := range [][2]time.Time{{g.Start, w.start}, {g.End, w.end}} {
			if p[1].IsZero() {
				continue
			}
			checked++
			if d := p[0].Sub(p[1]).Abs(); d > time.Microsecond {
				t.Errorf("record %d (%s): netvet %s, tshark %s", i, g.TimeSource, p[0].Format(time.RFC3339Nano), p[1].Format(time.RFC3339Nano))
			}
		}
	}
	if checked < 15 {
		t.Errorf("only %d timestamps compared", checked)
	}
	t.Logf("%d records and %d timestamps agree with tshark", len(got), checked)
}

// TestEditcapPcapng reads a pcapng written by Wireshark's editcap (section
// and interface options, a comment) through the block guard and checks it
// gives the same records as the classic pcap.
func TestEditcapPcapng(t *testing.T) {
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap not installed (Debian package wireshark-common, pulled in by tshark): skipped")
	}
	pkts, _ := exportCapture(t)
	dir := t.TempDir()
	classic, ng := filepath.Join(dir, "e.pcap"), filepath.Join(dir, "e.pcapng")
	if err := flowtest.WritePcap(classic, pkts); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("editcap", "-F", "pcapng", "--capture-comment", "netvet test", classic, ng).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, out)
	}
	read := func(path string) []flow.Record {
		dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}})
		if err != nil {
			t.Fatal(err)
		}
		var rs []flow.Record
		if _, err := ExtractFile(context.Background(), path, Limits{}, ExtractConfig{}, dec, func(r flow.Record) { rs = append(rs, r) }); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return rs
	}
	a, b := read(classic), read(ng)
	if len(a) != 17 || len(a) != len(b) {
		t.Fatalf("pcap %d records, pcapng %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("record %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
}
