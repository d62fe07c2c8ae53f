package pcap

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// TestPmacctCrossCheck meters a capture with pmacctd's nfprobe plugin
// (NetFlow v5, v9 and IPFIX to a socket this test reads), and compares the
// decoded flows with the known traffic (MeterFile over the same capture)
// and with tshark's decoding of the same datagrams.
//
// pmacctd 1.7.7 takes the flow times from the packets but its uptime
// origin and export time from the wall clock, with no option to change
// that. Its v5 First/Last are 32-bit milliseconds since that origin, so a
// capture more than 24.8 days away from the wall clock gives times off by
// multiples of 49.7 days with any collector; the capture here is an hour
// old. Its v9 and IPFIX carry absolute milliseconds (IEs 152/153).
func TestPmacctCrossCheck(t *testing.T) {
	needTools(t, "pmacct", "pmacctd")
	needTools(t, "tshark", "tshark")
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	path := filepath.Join(t.TempDir(), "mgmt.pcap")
	if err := flowtest.WritePcap(path, mgmtPackets(base)); err != nil {
		t.Fatal(err)
	}
	known := meterKnown(t, path)
	type run struct {
		version int
		rate    uint32 // pmacctd_ext_sampling_rate, 0 for none
		// pmacctd's nfprobe descends from softflowd: one entry per
		// conversation, both directions get its first and last times.
		check  knownCheck
		tshark tsharkCheck
	}
	var runs []run
	for _, rate := range []uint32{0, 100} {
		runs = append(runs,
			// v5: the header export time (ns) and the uptimes (ms) are
			// each truncated to the ms, so the times may be early by up
			// to 2 ms. netvet keeps the export time to the ms, tshark to
			// the ns: 1 ms.
			run{5, rate, knownCheck{v6: false, conversation: true, src: flow.TimeUptimeRelative, tol: 2 * time.Millisecond, rate: rate},
				tsharkCheck{tol: time.Millisecond, rate: uint64(rate)}},
			run{9, rate, knownCheck{v6: true, conversation: true, src: flow.TimeAbsoluteMs, tol: time.Millisecond, rate: rate},
				tsharkCheck{tol: time.Microsecond, rate: uint64(rate)}},
			run{10, rate, knownCheck{v6: true, conversation: true, src: flow.TimeAbsoluteMs, tol: time.Millisecond, rate: rate},
				tsharkCheck{tol: time.Microsecond, rate: uint64(rate)}})
	}
	// pmacctd waits 2 s before it reads a savefile: run them all at once.
	type result struct {
		ds  []sentDatagram
		err error
	}
	results := make([]result, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		conn := listenLoopback(t)
		run := pmacctdRun(t, conn, path, r.version, r.rate)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].ds, results[i].err = collectExporter(conn, run)
		}()
	}
	wg.Wait()
	truns := make([]tsharkRun, len(runs))
	for i := range results {
		truns[i].ds = results[i].ds
	}
	tsharkRecs := tsharkDecode(t, truns)
	for i, r := range runs {
		name := fmt.Sprintf("v%d", r.version)
		if r.rate > 0 {
			name += fmt.Sprintf("-sampled-%d", r.rate)
		}
		t.Run(name, func(t *testing.T) {
			ds, err := results[i].ds, results[i].err
			if err != nil {
				t.Fatal(err)
			}
			got := decodeSent(t, ds)
			r.check.check(t, name, known, got)
			checkCaptureRoundTrip(t, ds, got)
			n := r.tshark.check(t, name, tsharkRecs[i], got)
			t.Logf("%s: %d datagrams, %d records agree with the known flows and tshark (%d timestamps)", name, len(ds), len(got), n)
		})
	}
}

// pmacctdRun says how to meter path with pmacctd's nfprobe plugin exporting
// the given version to conn, claiming packet sampling at rate when rate > 0
// (pmacctd_ext_sampling_rate: every packet is kept, the rate is reported:
// v5 in the header, v9/IPFIX as a sampler options record whose ID the data
// records carry). pmacctd exits when it has read the file, after flushing
// its flows.
func pmacctdRun(t *testing.T, conn *net.UDPConn, path string, version int, rate uint32) exporterRun {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "pmacctd.conf")
	// Timeouts well beyond the capture's 4 s: every flow leaves at exit.
	text := fmt.Sprintf(`daemonize: false
pcap_savefile: %s
plugins: nfprobe
nfprobe_version: %d
nfprobe_receiver: %s
nfprobe_timeouts: tcp=60:udp=60:maxlife=600:expint=1
`, path, version, conn.LocalAddr())
	if rate > 0 {
		text += fmt.Sprintf("pmacctd_ext_sampling_rate: %d\n", rate)
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return exporterRun{name: "pmacctd", args: []string{"-f", conf}, limit: 20 * time.Second,
		// At the end of the file the core and the plugin shut down
		// together; when the plugin is first, the core says so and
		// exits with status 1 after the flows have been sent (the
		// comparisons check that they all arrived).
		exitOK: func(out string) bool { return strings.Contains(out, "no more plugins active. Shutting down") }}
}
