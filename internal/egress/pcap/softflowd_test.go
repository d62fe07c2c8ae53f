package pcap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// softflowdPackets: a TCP exchange, a DNS query/answer and an IPv6 NETCONF
// session, all within 4 s so no timeout of either meter splits them.
func softflowdPackets() []flowtest.Packet {
	var ps []flowtest.Packet
	add := func(d time.Duration, src, dst string, proto, flags uint8, n int) {
		ps = append(ps, flowtest.Packet{Time: t0.Add(d), Frame: flowtest.Frame(ap(src), ap(dst), proto, flags, make([]byte, n))})
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
		k := fmt.Sprintf("%s:%d>%s:%d/%d", r.Src, r.SrcPort, r.Dst, r.DstPort, r.Proto)
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

// TestSoftflowdCrossCheck meters a capture with softflowd (exporting
// NetFlow v5, v9 and IPFIX to a socket this test reads) and with MeterFile,
// and compares the flows.
func TestSoftflowdCrossCheck(t *testing.T) {
	for _, tool := range []string{"softflowd", "softflowctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package softflowd): cross-check skipped", tool)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "mgmt.pcap")
	if err := flowtest.WritePcap(path, softflowdPackets()); err != nil {
		t.Fatal(err)
	}
	var mine []flow.Record
	if _, err := MeterFile(context.Background(), path, Limits{}, MeterConfig{}, func(r flow.Record) { mine = append(mine, r) }); err != nil {
		t.Fatal(err)
	}
	want := sumByKey(mine)
	conv := map[string]string{} // key -> key of the reverse direction
	for _, r := range mine {
		conv[fmt.Sprintf("%s:%d>%s:%d/%d", r.Src, r.SrcPort, r.Dst, r.DstPort, r.Proto)] = fmt.Sprintf("%s:%d>%s:%d/%d", r.Dst, r.DstPort, r.Src, r.SrcPort, r.Proto)
	}
	for _, tc := range []struct {
		name string
		args []string
		v6   bool
		src  flow.TimeSource
		tol  time.Duration
	}{
		{"v5", []string{"-v", "5"}, false, flow.TimeUptimeRelative, time.Millisecond},
		// The v9 header carries the export time in whole seconds, so
		// uptime-relative times are early by up to 1 s.
		{"v9", []string{"-v", "9", "-6"}, true, flow.TimeUptimeRelative, time.Second},
		{"ipfix", []string{"-v", "10", "-6"}, true, flow.TimeUptimeRelative, time.Millisecond},
		{"ipfix-milli", []string{"-v", "10", "-6", "-A", "milli"}, true, flow.TimeAbsoluteMs, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runSoftflowd(t, path, tc.args)
			for _, r := range got {
				if r.TimeSource != tc.src {
					t.Errorf("%s:%d -> %s:%d: time source %s, want %s", r.Src, r.SrcPort, r.Dst, r.DstPort, r.TimeSource, tc.src)
				}
			}
			have := sumByKey(got)
			var keys []string
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			n := 0
			for _, k := range keys {
				w := want[k]
				if !tc.v6 && strings.Contains(k, "::") {
					continue
				}
				n++
				g, ok := have[k]
				if !ok {
					t.Errorf("%s: softflowd has no flow %s (has %v)", tc.name, k, have)
					continue
				}
				if g.bytes != w.bytes || g.packets != w.packets {
					t.Errorf("%s: %s: softflowd %d bytes %d packets, meter %d %d", tc.name, k, g.bytes, g.packets, w.bytes, w.packets)
				}
				// softflowd keeps one entry per conversation and gives both
				// directions its first and last packet times.
				rev := conv[k]
				span := [2]time.Time{w.start, w.end}
				if r, ok := want[rev]; ok {
					span = [2]time.Time{minTime(w.start, r.start), maxTime(w.end, r.end)}
				}
				for _, p := range [][2]time.Time{{g.start, span[0]}, {g.end, span[1]}} {
					if d := p[0].Sub(p[1]).Abs(); d > tc.tol {
						t.Errorf("%s: %s: softflowd time %s, meter %s", tc.name, k, p[0].Format(time.RFC3339Nano), p[1].Format(time.RFC3339Nano))
					}
				}
			}
			if len(have) != n {
				t.Errorf("%s: softflowd %d flows, meter %d", tc.name, len(have), n)
			}
		})
	}
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

// runSoftflowd replays path through softflowd and decodes what it exports.
func runSoftflowd(t *testing.T, path string, args []string) []flow.Record {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"-r", path, "-d", "-a", "-c", sock, "-p", filepath.Join(dir, "pid"), "-n", conn.LocalAddr().String()}, args...)
	cmd := exec.CommandContext(ctx, "softflowd", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// In -r mode softflowd only moves on when its control socket is used.
	go func() {
		for ctx.Err() == nil {
			_ = exec.CommandContext(ctx, "softflowctl", "-c", sock, "statistics").Run()
			select {
			case <-done:
				done <- nil
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []flow.Record
	buf := make([]byte, flow.MaxDatagram)
	exited := false
	for {
		_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if exited {
					break
				}
				select {
				case <-done:
					exited = true
				case <-ctx.Done():
					t.Fatalf("softflowd did not finish: %s", stderr.String())
				default:
				}
				continue
			}
			t.Fatal(err)
		}
		recs, err = dec.Decode(from.Addr(), buf[:n], time.Now(), recs)
		if err != nil {
			t.Logf("datagram from softflowd: %v", err)
		}
	}
	if len(recs) == 0 {
		t.Fatalf("no flows from softflowd %v: %s", args, stderr.String())
	}
	return recs
}
