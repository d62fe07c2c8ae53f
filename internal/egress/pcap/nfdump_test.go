package pcap

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
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

// TestNfdumpCrossCheck meters a capture with nfdump's nfpcapd into an
// nfcapd file, sends that file as NetFlow v5 and v9 with nfreplay to a
// socket this test reads, and compares the decoded flows with the known
// traffic (MeterFile over the same capture), with nfdump's own listing of
// the file and with tshark's decoding of the same datagrams.
//
// nfdump 1.7.1: nfreplay sends v5 or v9 only (no IPFIX). Its v9 records
// carry absolute milliseconds (IEs 152/153) under a header whose sysUpTime
// is 0 and whose export time is a day before the flows; v5 gives
// uptime-relative times under a header consistent with them. v5 has no
// IPv6, so nfreplay leaves the IPv6 flow out.
func TestNfdumpCrossCheck(t *testing.T) {
	needTools(t, "nfdump", "nfpcapd", "nfreplay", "nfdump")
	needTools(t, "tshark", "tshark")
	dir := t.TempDir()
	path := filepath.Join(dir, "mgmt.pcap")
	if err := flowtest.WritePcap(path, mgmtPackets(t0)); err != nil {
		t.Fatal(err)
	}
	known := meterKnown(t, path)
	file := runNfpcapd(t, path)
	listed := nfdumpList(t, file)
	// nfpcapd meters unidirectional flows, as MeterFile does.
	meterLike := knownCheck{v6: true, conversation: false, src: flow.TimePacketCapture, tol: 0}
	meterLike.check(t, "nfdump listing", known, listed)

	cases := []struct {
		version int
		check   knownCheck
	}{
		{5, knownCheck{v6: false, conversation: false, src: flow.TimeUptimeRelative, tol: 0}},
		{9, knownCheck{v6: true, conversation: false, src: flow.TimeAbsoluteMs, tol: 0}},
	}
	runs := make([]tsharkRun, len(cases))
	for i, tc := range cases {
		conn := listenLoopback(t)
		runs[i].ds = runExporter(t, conn, exporterRun{name: "nfreplay", limit: 20 * time.Second,
			args: []string{"-r", file, "-H", "127.0.0.1", "-p", strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port), "-v", strconv.Itoa(tc.version)}})
	}
	tsharkRecs := tsharkDecode(t, runs)
	for i, tc := range cases {
		name := fmt.Sprintf("v%d", tc.version)
		t.Run(name, func(t *testing.T) {
			ds := runs[i].ds
			got := decodeSent(t, ds)
			tc.check.check(t, name, known, got)
			// nfdump's listing of the file, record for record (times to
			// the ms, as the file keeps them).
			want := listed
			if tc.version == 5 {
				want = nil
				for _, r := range listed {
					if r.Src.Is4() {
						want = append(want, r)
					}
				}
			}
			if a, b := sortedFlows(got), sortedFlows(want); a != b {
				t.Errorf("%s: nfreplay's flows differ from nfdump's listing:\n%s\nnfdump:\n%s", name, a, b)
			}
			checkCaptureRoundTrip(t, ds, got)
			// tshark: v5 computed from the same header fields (export time
			// in whole seconds here), v9 absolute: exact to the µs.
			n := tsharkCheck{tol: time.Microsecond}.check(t, name, tsharkRecs[i], got)
			t.Logf("%s: %d datagrams, %d records agree with the known flows, nfdump and tshark (%d timestamps)", name, len(ds), len(got), n)
		})
	}
}

// runNfpcapd meters the capture into an nfcapd file and returns its path.
func runNfpcapd(t *testing.T, path string) string {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "nfpcapd", "-r", path, "-w", out).CombinedOutput(); err != nil {
		t.Fatalf("nfpcapd: %v: %s", err, b)
	}
	files, err := filepath.Glob(filepath.Join(out, "nfcapd.2*"))
	if err != nil || len(files) != 1 {
		ls, _ := os.ReadDir(out)
		t.Fatalf("nfpcapd wrote %v (%v), want one nfcapd file", ls, err)
	}
	return files[0]
}

// nfdumpList lists an nfcapd file with nfdump. Its csv output (-o csv) in
// 1.7.1 gives start and end only to the second, so a format with the
// milliseconds is used.
func nfdumpList(t *testing.T, file string) []flow.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nfdump", "-r", file, "-q", "-N", "-o", "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%ipkt|%ibyt")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nfdump: %v", err)
	}
	var rs []flow.Record
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 9 {
			t.Fatalf("nfdump line %q: %d fields", line, len(f))
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		var r flow.Record
		var err error
		const layout = "2006-01-02 15:04:05.000"
		if r.Start, err = time.Parse(layout, f[0]); err != nil {
			t.Fatalf("nfdump line %q: %v", line, err)
		}
		if r.End, err = time.Parse(layout, f[1]); err != nil {
			t.Fatalf("nfdump line %q: %v", line, err)
		}
		r.Src, r.Dst = netip.MustParseAddr(f[2]), netip.MustParseAddr(f[3])
		r.SrcPort, r.DstPort, r.Proto = atou16(f[4]), atou16(f[5]), uint8(atou16(f[6]))
		r.Packets, _ = strconv.ParseUint(f[7], 10, 64)
		r.Bytes, _ = strconv.ParseUint(f[8], 10, 64)
		r.SamplingRate, r.TimeSource = 1, flow.TimePacketCapture
		rs = append(rs, r)
	}
	return rs
}

// sortedFlows lists key, counters and times of the records, sorted.
func sortedFlows(rs []flow.Record) string {
	lines := make([]string, len(rs))
	for i, r := range rs {
		lines[i] = fmt.Sprintf("%s %d bytes %d packets %s %s", recKey(r), r.Bytes, r.Packets,
			r.Start.UTC().Format(time.RFC3339Nano), r.End.UTC().Format(time.RFC3339Nano))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
