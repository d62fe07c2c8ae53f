package pcap

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// mgmtPackets: a TCP exchange, a DNS query/answer and an IPv6 NETCONF
// session from base on, all within 4 s so no timeout of any meter splits
// them.
func mgmtPackets(base time.Time) []flowtest.Packet {
	var ps []flowtest.Packet
	add := func(d time.Duration, src, dst string, proto, flags uint8, n int) {
		ps = append(ps, flowtest.Packet{Time: base.Add(d), Frame: flowtest.Frame(ap(src), ap(dst), proto, flags, make([]byte, n))})
	}
	add(0, "10.0.0.1:40000", "198.51.100.7:443", 6, 0x02, 8)
	add(10*time.Millisecond, "198.51.100.7:443", "10.0.0.1:40000", 6, 0x12, 8)
	add(20*time.Millisecond, "10.0.0.1:40000", "198.51.100.7:443", 6, 0x18, 100)
	add(30*time.Millisecond, "198.51.100.7:443", "10.0.0.1:40000", 6, 0x18, 1000)
	add(1500*time.Millisecond, "10.0.0.1:5353", "10.0.0.53:53", 17, 0, 30)
	add(1505*time.Millisecond, "10.0.0.53:53", "10.0.0.1:5353", 17, 0, 60)
	for i := 0; i < 4; i++ {
		add(2*time.Second+time.Duration(i)*500*time.Millisecond, "[2001:db8::1]:33000", "[2001:db8::2]:830", 6, 0x18, 10+i)
	}
	return ps
}

type flowSum struct {
	bytes, packets uint64
	start, end     time.Time
}

func sumByKey(rs []flow.Record) map[string]flowSum {
	m := map[string]flowSum{}
	for _, r := range rs {
		k := recKey(r)
		s, ok := m[k]
		if !ok || r.Start.Before(s.start) {
			s.start = r.Start
		}
		if !ok || r.End.After(s.end) {
			s.end = r.End
		}
		s.bytes += r.Bytes
		s.packets += r.Packets
		m[k] = s
	}
	return m
}

// meterKnown meters the capture with MeterFile: the known traffic the
// exporters' flows are compared with.
func meterKnown(t *testing.T, path string) []flow.Record {
	t.Helper()
	var known []flow.Record
	if _, err := MeterFile(context.Background(), path, Limits{}, MeterConfig{}, func(r flow.Record) { known = append(known, r) }); err != nil {
		t.Fatal(err)
	}
	return known
}

// TestSoftflowdCrossCheck meters a capture with softflowd (exporting
// NetFlow v5, v9 and IPFIX to a socket this test reads) and with MeterFile,
// compares the flows, and compares the decoded records with tshark's
// decoding of the same datagrams.
func TestSoftflowdCrossCheck(t *testing.T) {
	needTools(t, "softflowd", "softflowd", "softflowctl")
	needTools(t, "tshark", "tshark")
	path := filepath.Join(t.TempDir(), "mgmt.pcap")
	if err := flowtest.WritePcap(path, mgmtPackets(t0)); err != nil {
		t.Fatal(err)
	}
	known := meterKnown(t, path)
	// -a: take the uptime origin and the export time from the capture, as
	// the flow times are (see TestSoftflowdWallClock). Tolerance against
	// tshark: v5 to the ms (netvet keeps the header's export time to the
	// ms, tshark to the ns); v9 and IPFIX the same arithmetic on the same
	// fields; absolute times exact.
	runSoftflowdCases(t, path, known, []softflowdCase{
		{"v5", []string{"-a", "-v", "5"}, knownCheck{v6: false, conversation: true, src: flow.TimeUptimeRelative, tol: time.Millisecond}, time.Millisecond},
		// The v9 header carries the export time in whole seconds, so
		// uptime-relative times are early by up to 1 s.
		{"v9", []string{"-a", "-v", "9", "-6"}, knownCheck{v6: true, conversation: true, src: flow.TimeUptimeRelative, tol: time.Second}, time.Microsecond},
		{"ipfix", []string{"-a", "-v", "10", "-6"}, knownCheck{v6: true, conversation: true, src: flow.TimeUptimeRelative, tol: time.Millisecond}, time.Microsecond},
		{"ipfix-milli", []string{"-a", "-v", "10", "-6", "-A", "milli"}, knownCheck{v6: true, conversation: true, src: flow.TimeAbsoluteMs, tol: time.Millisecond}, time.Microsecond},
	})
}

// TestSoftflowdWallClock replays a capture through softflowd without -a.
// softflowd then takes the flow times from the packets but its uptime
// origin (the v5/v9 header sysUpTime, IPFIX IE 160
// systemInitTimeMilliseconds) and the header export time from the wall
// clock when it started. The uptime fields are 32-bit milliseconds since
// that origin, so a flow an hour before it is a "negative" uptime that
// wraps to about 49.7 days. The flow times are recoverable only modulo
// 2^32 ms: netvet takes the wrap nearest the export time (v5, v9 and
// IPFIX alike), which gives the packet times back for a capture less than
// 24.8 days old. The capture here is an hour old.
func TestSoftflowdWallClock(t *testing.T) {
	needTools(t, "softflowd", "softflowd", "softflowctl")
	needTools(t, "tshark", "tshark")
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	path := filepath.Join(t.TempDir(), "mgmt.pcap")
	pkts := mgmtPackets(base)
	if err := flowtest.WritePcap(path, pkts); err != nil {
		t.Fatal(err)
	}
	known := meterKnown(t, path)
	// The origin and the flow times are each truncated to the ms: up to
	// 2 ms early. v9: the export time in whole seconds adds 1 s.
	ds := runSoftflowdCases(t, path, known, []softflowdCase{
		{"v5", []string{"-v", "5"}, knownCheck{v6: false, conversation: true, src: flow.TimeUptimeRelative, tol: 2 * time.Millisecond}, time.Millisecond},
		{"v9", []string{"-v", "9", "-6"}, knownCheck{v6: true, conversation: true, src: flow.TimeUptimeRelative, tol: time.Second + 2*time.Millisecond}, time.Microsecond},
		{"ipfix", []string{"-v", "10", "-6"}, knownCheck{v6: true, conversation: true, src: flow.TimeUptimeRelative, tol: 2 * time.Millisecond}, time.Microsecond},
	})
	if os.Getenv("NETVET_WRITE_TESTDATA") != "" && !t.Failed() {
		// Refresh the committed captures of TestSoftflowdWallClockCapture.
		if err := flowtest.WritePcap(filepath.Join("testdata", "softflowd-wallclock-packets.pcap"), pkts); err != nil {
			t.Fatal(err)
		}
		writeSent(t, filepath.Join("testdata", "softflowd-wallclock-ipfix.pcap"), ds[2])
	}
}

// TestSoftflowdWallClockCapture decodes IPFIX that softflowd 1.1.0 sent
// for a capture an hour older than its wall clock (made with
//
//	NETVET_WRITE_TESTDATA=1 go test -run TestSoftflowdWallClock ./internal/egress/pcap
//
// which runs softflowd -r softflowd-wallclock-packets.pcap -v 10 -6
// without -a). IE 160 is the wall clock at softflowd's start and the
// flowStartSysUpTime values are about 2^32 ms - 1 h: read without the
// wrap, the flows land 49.7 days after the export.
func TestSoftflowdWallClockCapture(t *testing.T) {
	known := meterKnown(t, filepath.Join("testdata", "softflowd-wallclock-packets.pcap"))
	dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.PrefixFrom(capExporter.Addr(), 32)}})
	if err != nil {
		t.Fatal(err)
	}
	var got []flow.Record
	st, err := ExtractFile(context.Background(), filepath.Join("testdata", "softflowd-wallclock-ipfix.pcap"), Limits{}, ExtractConfig{}, dec,
		func(r flow.Record) { got = append(got, r) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 5 || st.DecodeErrs != 0 {
		t.Fatalf("%+v, want 5 records and no errors", st)
	}
	knownCheck{v6: true, conversation: true, src: flow.TimeUptimeRelative, tol: 2 * time.Millisecond}.check(t, "softflowd wall clock", known, got)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// softflowdRun says how to replay path through softflowd with args,
// exporting to conn.
func softflowdRun(t *testing.T, conn *net.UDPConn, path string, args []string) exporterRun {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl")
	args = append([]string{"-r", path, "-d", "-c", sock, "-p", filepath.Join(dir, "pid"), "-n", conn.LocalAddr().String()}, args...)
	return exporterRun{name: "softflowd", args: args, limit: 20 * time.Second,
		// In -r mode softflowd only moves on when its control socket is used.
		poke: func(ctx context.Context) { _ = exec.CommandContext(ctx, "softflowctl", "-c", sock, "statistics").Run() }}
}

// softflowdCase is one softflowd run and how to check it.
type softflowdCase struct {
	name  string
	args  []string
	check knownCheck
	// tolerance against tshark
	tsharkTol time.Duration
}

// runSoftflowdCases runs softflowd for every case at once (each run waits
// on its control socket), decodes the datagrams with tshark in one call,
// and checks each case in a subtest. It returns the datagrams per case.
func runSoftflowdCases(t *testing.T, path string, known []flow.Record, cases []softflowdCase) [][]sentDatagram {
	t.Helper()
	runs := make([]tsharkRun, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		conn := listenLoopback(t)
		run := softflowdRun(t, conn, path, tc.args)
		runs[i].fixV9Count = slices.Contains(tc.args, "9")
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i].ds, errs[i] = collectExporter(conn, run)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	tsharkRecs := tsharkDecode(t, runs)
	out := make([][]sentDatagram, len(cases))
	for i, tc := range cases {
		out[i] = runs[i].ds
		t.Run(tc.name, func(t *testing.T) {
			ds := runs[i].ds
			got := decodeSent(t, ds)
			tc.check.check(t, tc.name, known, got)
			checkCaptureRoundTrip(t, ds, got)
			n := tsharkCheck{tol: tc.tsharkTol}.check(t, tc.name, tsharkRecs[i], got)
			t.Logf("%s: %d datagrams, %d records agree with the known flows and tshark (%d timestamps)", tc.name, len(ds), len(got), n)
		})
	}
	return out
}
