package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

const egressElements = "address,element,vendor,function,site\n10.1.0.1,gnb-1,acme,gnb,S1\n10.1.0.2,gnb-2,acme,gnb,S1\n"

const egressAllow = `version: 1
rules:
  - id: mgmt-ntp
    template: ntp
    cidrs: [10.20.0.2]
`

var egressT0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func writeEgressInputs(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string]string{"elements.csv": egressElements, "allow.yaml": egressAllow,
		"asn.tsv": "45.0.0.0\t45.0.0.255\t4134\tCN\tCHINANET\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runEgress(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	env := &env{stdout: &o, stderr: &e}
	root := newRoot(env)
	root.SetArgs(args)
	root.SetOut(&o)
	root.SetErr(&e)
	err = root.ExecuteContext(context.Background())
	return o.String(), e.String(), err
}

func jsonAlerts(t *testing.T, out string) []egress.Alert {
	t.Helper()
	var as []egress.Alert
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var a egress.Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		as = append(as, a)
	}
	return as
}

// TestEgressReplayMeter meters a capture of plain packets: NTP to the
// allowed server, and a 60 s beacon to a foreign address.
func TestEgressReplayMeter(t *testing.T) {
	dir := writeEgressInputs(t)
	gnb := netip.MustParseAddr("10.1.0.1")
	var pkts []flowtest.Packet
	for i := 0; i < 6*60; i++ {
		ts := egressT0.Add(time.Duration(i) * time.Minute)
		pkts = append(pkts,
			flowtest.Packet{Time: ts, Frame: flowtest.Frame(netip.AddrPortFrom(gnb, 40000+uint16(i)), netip.MustParseAddrPort("45.0.0.9:443"), 6, 0x02, make([]byte, 100))},
			flowtest.Packet{Time: ts.Add(time.Second), Frame: flowtest.Frame(netip.AddrPortFrom(gnb, 123), netip.MustParseAddrPort("10.20.0.2:123"), 17, 0, make([]byte, 48))},
			flowtest.Packet{Time: ts.Add(2 * time.Second), Frame: flowtest.Frame(netip.MustParseAddrPort("192.168.1.1:5000"), netip.MustParseAddrPort("45.0.0.9:443"), 6, 0x02, nil)},
		)
	}
	capPath := filepath.Join(dir, "mgmt.pcap")
	if err := flowtest.WritePcap(capPath, pkts); err != nil {
		t.Fatal(err)
	}
	args := []string{"egress", "replay", capPath, "--elements", filepath.Join(dir, "elements.csv"),
		"--allow", filepath.Join(dir, "allow.yaml"), "--asn", filepath.Join(dir, "asn.tsv"), "-f", "json"}
	out, errOut, err := runEgress(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	as := jsonAlerts(t, out)
	rules := map[string]egress.Alert{}
	for _, a := range as {
		if a.Destination == nil || a.Destination.Address != "45.0.0.9" || a.Element.ID != "gnb-1" {
			t.Errorf("unexpected alert %+v", a)
		}
		rules[a.Rule] = a
	}
	if len(as) != 2 || rules[egress.RuleBeacon].Score < 70 || rules[egress.RuleNotAllowlisted].Destination.ASN != 4134 {
		t.Fatalf("alerts:\n%s\nstderr:\n%s", out, errOut)
	}
	ev := rules[egress.RuleBeacon].Evidence
	if len(ev) != 1 || ev[0].Capture != "mgmt.pcap" || ev[0].Protocol != "pcap" || ev[0].Sampled || rules[egress.RuleBeacon].SelfReported {
		t.Errorf("evidence %+v", ev)
	}
	for _, want := range []string{"metered", "from unknown sources dropped", `evidence from capture "mgmt.pcap" (pcap, unsampled)`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// Same input, same output.
	out2, _, _ := runEgress(t, args...)
	if out2 != out {
		t.Error("replay is not deterministic")
	}
	// --fail-on-alert
	if _, _, err := runEgress(t, append(args, "--fail-on-alert", "-o", filepath.Join(dir, "a.jsonl"))...); err != ErrFindings {
		t.Errorf("--fail-on-alert: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.jsonl")); len(jsonAlerts(t, string(b))) != 2 {
		t.Errorf("-o file: %s", b)
	}
}

// TestEgressReplayExport decodes NetFlow v5 datagrams captured in a pcap,
// exported by the element itself (self-reported) and sampled 1:10.
func TestEgressReplayExport(t *testing.T) {
	dir := writeEgressInputs(t)
	boot := egressT0.Add(-time.Hour)
	var pkts []flowtest.Packet
	for i := 0; i < 3; i++ {
		ts := egressT0.Add(time.Duration(i) * time.Minute)
		v5 := flowtest.V5(boot, ts.Add(time.Second), 1<<14|10, []flowtest.Flow{{
			Src: netip.MustParseAddr("10.1.0.2"), Dst: netip.MustParseAddr("45.0.0.7"), SrcPort: 50000, DstPort: 8443,
			Proto: 6, Bytes: 100, Packets: 2, Start: ts, End: ts.Add(500 * time.Millisecond)}})
		pkts = append(pkts, flowtest.Packet{Time: ts.Add(time.Second),
			Frame: flowtest.Frame(netip.MustParseAddrPort("10.1.0.2:3000"), netip.MustParseAddrPort("10.9.9.9:2055"), 17, 0, v5)})
	}
	capPath := filepath.Join(dir, "export.pcap")
	if err := flowtest.WritePcap(capPath, pkts); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runEgress(t, "egress", "replay", capPath, "--elements", filepath.Join(dir, "elements.csv"),
		"--allow", filepath.Join(dir, "allow.yaml"), "-f", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	as := jsonAlerts(t, out)
	if len(as) != 1 {
		t.Fatalf("alerts:\n%s\n%s", out, errOut)
	}
	a := as[0]
	if a.Rule != egress.RuleNotAllowlisted || !a.SelfReported || !a.Sampled || a.SamplingRate != 10 || a.Flows != 3 || a.Bytes != 3000 ||
		len(a.Evidence) != 1 || a.Evidence[0].Exporter != "10.1.0.2" || a.Evidence[0].Protocol != "netflow-v5" {
		t.Errorf("alert %+v", a)
	}
	if !strings.Contains(errOut, "reports on itself") || !strings.Contains(errOut, "sampled 1:10") {
		t.Errorf("stderr: %s", errOut)
	}
	// Only trusted exporters: nothing from 10.1.0.2 is decoded.
	out, errOut, err = runEgress(t, "egress", "replay", capPath, "--elements", filepath.Join(dir, "elements.csv"),
		"--exporter", "10.9.0.0/24", "--mode", "export")
	if err != nil || out != "" || !strings.Contains(errOut, "3 from exporters not allowed") {
		t.Errorf("exporter filter: %v %q %s", err, out, errOut)
	}
}

func TestEgressUsage(t *testing.T) {
	dir := writeEgressInputs(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"egress", "replay", "x"}, "--elements or --inventory is required"},
		{[]string{"egress", "replay", "x", "--elements", "e", "-f", "xml"}, `-f "xml"`},
		{[]string{"egress", "replay", "x", "--elements", "e", "--mode", "guess"}, `--mode "guess"`},
		{[]string{"egress", "watch", "--elements", "e"}, "--exporter is required"},
		{[]string{"egress", "watch", "--elements", "e", "--exporter", "10.0.0.1", "--listen", "tcp://:1"}, "only udp"},
		{[]string{"egress", "replay", filepath.Join(dir, "elements.csv"), "--elements", filepath.Join(dir, "elements.csv"), "--webhook", "ftp://x"}, "--webhook"},
	} {
		_, _, err := runEgress(t, tc.args...)
		var ue *UsageError
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		} else if !asUsage(err, &ue) {
			t.Errorf("%v: %v is not a usage error", tc.args, err)
		}
	}
}

func asUsage(err error, ue **UsageError) bool {
	for err != nil {
		if u, ok := err.(*UsageError); ok {
			*ue = u
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEgressWatch runs the collector on a loopback socket, sends it a
// NetFlow v5 datagram and reads /metrics, then stops it.
func TestEgressWatch(t *testing.T) {
	dir := writeEgressInputs(t)
	var o, e syncBuffer
	env := &env{stdout: &o, stderr: &e}
	root := newRoot(env)
	root.SetArgs([]string{"egress", "watch", "--listen", "udp://127.0.0.1:0", "--exporter", "127.0.0.1", "--metrics", "127.0.0.1:0",
		"--elements", filepath.Join(dir, "elements.csv"), "--allow", filepath.Join(dir, "allow.yaml"), "--interval", "100ms", "-f", "json"})
	root.SetOut(&o)
	root.SetErr(&e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	listenRE := regexp.MustCompile(`listening on udp (127\.0\.0\.1:\d+)`)
	metricsRE := regexp.MustCompile(`metrics on (http://127\.0\.0\.1:\d+/metrics)`)
	var udpAddr, metricsURL string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listenRE.FindStringSubmatch(e.String()); m != nil {
			udpAddr = m[1]
			metricsURL = metricsRE.FindStringSubmatch(e.String())[1]
			break
		}
	}
	if udpAddr == "" {
		t.Fatalf("collector did not start: %s", e.String())
	}
	conn, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	v5 := flowtest.V5(now.Add(-time.Hour), now, 0, []flowtest.Flow{{Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr("45.0.0.9"),
		SrcPort: 1, DstPort: 443, Proto: 6, Bytes: 10, Packets: 1, Start: now.Add(-time.Second), End: now}})
	if _, err := conn.Write(v5); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !strings.Contains(o.String(), "\n"); time.Sleep(20 * time.Millisecond) {
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, e.String())
	}
	as := jsonAlerts(t, o.String())
	if len(as) != 1 || as[0].Element.ID != "gnb-1" || as[0].Evidence[0].Exporter != "127.0.0.1" || as[0].Evidence[0].Protocol != "netflow-v5" {
		t.Errorf("alerts: %s", o.String())
	}
	for _, want := range []string{"netvet_flow_packets_total 1\n", `netvet_egress_alerts_total{rule="not-allowlisted"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}
