//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// TestWatchExporters runs `netvet egress watch` as an operator would, with
// every output switched on, and feeds it what real exporters send when they
// meter a SPAN-port capture: softflowd exporting IPFIX, NetFlow v9 and v5
// (-a: flow times and export times from the capture), and pmacctd's nfprobe
// plugin exporting IPFIX, then its sfprobe plugin exporting sFlow v5. Each
// exporter meters the traffic of its own element: a beacon every 60 s to a public address the allowlist does not
// cover, and NTP the allowlist covers. The test then checks the alert file,
// the webhook, syslog, /metrics, the dropping of an unconfigured exporter,
// the history file and a clean stop on SIGINT that loses nothing queued.
//
// Needs the Debian packages softflowd and pmacct (pmacctd and softflowd are
// in /usr/sbin).
func TestWatchExporters(t *testing.T) {
	for _, tool := range []struct{ name, pkg string }{{"softflowd", "softflowd"}, {"softflowctl", "softflowd"}, {"pmacctd", "pmacct"}} {
		if _, err := lookTool(tool.name); err != nil {
			t.Skipf("%s not found on PATH or in /usr/sbin (Debian package %s): egress watch integration test skipped", tool.name, tool.pkg)
		}
	}
	start := time.Now()
	dir := t.TempDir()
	bin := buildNetvet(t, dir)
	t.Logf("built netvet in %s", time.Since(start).Round(time.Millisecond))

	// The capture is three days old, as when an operator tries netvet on
	// last week's SPAN capture: watch collects in flow time, as replay
	// does. (softflowd -a takes every time from the capture; pmacctd's
	// IPFIX carries absolute times; pmacctd's v5 would not do, see
	// internal/egress/pcap.)
	base := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	elems := []watchElement{
		{id: "gnb-1", addr: "10.0.0.1", dst: "45.0.0.11", exporter: "softflowd", args: []string{"-v", "10", "-a"}, proto: flow.ProtoIPFIX},
		{id: "gnb-2", addr: "10.0.0.2", dst: "45.0.0.12", exporter: "softflowd", args: []string{"-v", "9", "-a"}, proto: flow.ProtoNetFlowV9},
		{id: "gnb-3", addr: "10.0.0.3", dst: "45.0.0.13", exporter: "softflowd", args: []string{"-v", "5", "-a"}, proto: flow.ProtoNetFlowV5},
		{id: "gnb-4", addr: "10.0.0.4", dst: "45.0.0.14", exporter: "pmacctd", version: 10, proto: flow.ProtoIPFIX},
	}
	// gnb-6 is metered later by pmacctd's sfprobe plugin (sFlow v5).
	sfElem := watchElement{id: "gnb-6", addr: "10.0.0.6", dst: "45.0.0.16", exporter: "pmacctd", plugin: "sfprobe", proto: flow.ProtoSFlowV5}
	// gnb-5's flows come in NetFlow v5 datagrams the test sends itself
	// just before SIGINT; 45.0.0.99 comes from an exporter not configured.
	const lastElem, lastDst, spoofDst = "gnb-5", "45.0.0.15", "45.0.0.99"
	var csv, hosts strings.Builder
	csv.WriteString("address,element,vendor,function,domain,site\n")
	csv.WriteString("10.0.0.6,gnb-6,acme,gnb,ran,S6\n")
	sfElem.pcap = filepath.Join(dir, sfElem.id+".pcap")
	if err := flowtest.WritePcap(sfElem.pcap, beaconPackets(base, sfElem.addr, sfElem.dst)); err != nil {
		t.Fatal(err)
	}
	for i, e := range elems {
		fmt.Fprintf(&csv, "%s,%s,acme,gnb,ran,S%d\n", e.addr, e.id, i+1)
		fmt.Fprintf(&hosts, "%s c2-%d.example\n", e.dst, i+1)
		elems[i].pcap = filepath.Join(dir, e.id+".pcap")
		if err := flowtest.WritePcap(elems[i].pcap, beaconPackets(base, e.addr, e.dst)); err != nil {
			t.Fatal(err)
		}
	}
	csv.WriteString("10.0.0.5,gnb-5,acme,gnb,ran,S5\n")
	writeFile(t, dir, "elements.csv", csv.String())
	writeFile(t, dir, "hosts", hosts.String())
	writeFile(t, dir, "allow.yaml", "version: 1\nrules:\n  - id: mgmt-ntp\n    template: ntp\n    cidrs: [10.0.0.123]\n")
	writeFile(t, dir, "asn.tsv", "45.0.0.0\t45.0.0.255\t4134\tCN\tCHINANET\n")

	sl := listenSyslog(t)
	hook := newHookReceiver(t)
	alertsPath, histPath := filepath.Join(dir, "alerts.jsonl"), filepath.Join(dir, "hist.jsonl")

	w := startWatch(t, bin, dir, "egress", "watch", "--listen", "udp://127.0.0.1:0", "--exporter", "127.0.0.1",
		"--elements", "elements.csv", "--allow", "allow.yaml", "--asn", "asn.tsv", "--hosts", "hosts",
		"--metrics", "127.0.0.1:0", "--interval", "1s", "-f", "json", "-o", "alerts.jsonl",
		"--syslog", "udp://"+sl.addr(), "--webhook", hook.srv.URL+"/hook", "--history", "hist.jsonl")
	listen := w.waitFor(t, regexp.MustCompile(`listening on udp (\S+)`))
	metricsURL := w.waitFor(t, regexp.MustCompile(`metrics on (http://\S+/metrics)`))

	// Run every exporter at once: pmacctd waits 2 s before reading a
	// savefile, softflowd waits on its control socket.
	errs := make([]error, len(elems))
	var wg sync.WaitGroup
	for i, e := range elems {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runWatchExporter(dir, e, listen)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("exporters done at %s", time.Since(start).Round(time.Millisecond))

	// A datagram from an exporter that is not configured: dropped.
	spoofed := flowtest.V5(base, time.Now(), 0, []flowtest.Flow{{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr(spoofDst),
		SrcPort: 41000, DstPort: 8443, Proto: 6, Bytes: 4000, Packets: 10, Start: base.Add(time.Minute), End: base.Add(2 * time.Minute)}})
	spoofSent := sendFrom(t, "127.0.0.2", listen, spoofed)

	// Wait until every exporter's element has both alerts in the file, the
	// webhook and syslog, and the counters account for every alert.
	want := map[string]bool{}
	for _, e := range elems {
		want[e.id+" "+egress.RuleNotAllowlisted+" "+e.dst] = true
		want[e.id+" "+egress.RuleBeacon+" "+e.dst] = true
	}
	var metricsNow map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		file := readAlertFile(t, alertsPath)
		hooked, logged := hook.alerts(t), sl.messages()
		metricsNow = scrape(t, metricsURL)
		total := metricsNow[`netvet_egress_alerts_total{rule="not-allowlisted"}`] + metricsNow[`netvet_egress_alerts_total{rule="beacon"}`] +
			metricsNow[`netvet_egress_alerts_total{rule="volume"}`] + metricsNow[`netvet_egress_alerts_total{rule="dns-tunnel"}`]
		ok := hasAll(alertKeys(file), want) && hasAll(alertKeys(hooked), want) && len(logged) == len(file) &&
			len(hooked) == len(file) && int(total) == len(file) && (!spoofSent || metricsNow[`netvet_flow_datagrams_dropped_total{reason="unknown_exporter"}`] == 1) &&
			int(metricsNow[`netvet_egress_webhook_alerts_total{result="sent"}`]) == len(file) && int(metricsNow["netvet_egress_syslog_messages_total"]) == len(file)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts did not all arrive within 30 s:\nfile: %v\nwebhook: %v\nsyslog: %d messages\nalert counter %v\nwatch stderr:\n%s",
				alertKeys(file), alertKeys(hooked), len(logged), total, w.stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}

	t.Logf("every alert delivered at %s", time.Since(start).Round(time.Millisecond))
	file := readAlertFile(t, alertsPath)
	for _, e := range elems {
		for _, rule := range []string{egress.RuleNotAllowlisted, egress.RuleBeacon} {
			t.Run(e.id+"/"+e.exporter+"/"+string(e.proto)+"/"+rule, func(t *testing.T) {
				a := findAlert(file, e.id, rule, e.dst)
				checkAlert(t, a, e, rule, base)
				h := findAlert(hook.alerts(t), e.id, rule, e.dst)
				if h == nil {
					t.Fatal("not delivered to the webhook")
				}
				if h.Score != a.Score || h.Flows != a.Flows || !slices.Equal(h.Evidence, a.Evidence) || !h.Raised.Equal(a.Raised) {
					t.Errorf("webhook alert %+v differs from the file's %+v", h, a)
				}
				checkSyslog(t, sl.messages(), a, w.cmd.Process.Pid)
			})
		}
	}
	for _, a := range file {
		if a.Destination == nil {
			continue
		}
		switch a.Destination.Address {
		case "10.0.0.123":
			t.Errorf("allowlisted NTP alerted: %s", a.Text())
		case spoofDst:
			t.Errorf("flows from an unconfigured exporter alerted: %s", a.Text())
		}
	}

	// /metrics: Prometheus text with the collector's counters.
	m := metricsNow
	for _, name := range []string{"netvet_flow_packets_total", "netvet_flow_records_total", "netvet_egress_records_total",
		"netvet_egress_records_accepted_total", "netvet_egress_records_denied_total", "netvet_flow_templates_added_total",
		`netvet_egress_records_dropped_total{reason="unknown_source"}`} {
		if m[name] <= 0 {
			t.Errorf("metric %s = %v, want > 0", name, m[name])
		}
	}
	for _, name := range []string{"netvet_flow_decode_errors_total", "netvet_flow_template_misses_total", "netvet_flow_decoder_panics_total",
		`netvet_flow_datagrams_dropped_total{reason="malformed"}`} {
		if v, ok := m[name]; !ok || v != 0 {
			t.Errorf("metric %s = %v (present %v), want 0: real exporters' datagrams should all decode", name, v, ok)
		}
	}
	if got, want := m[`netvet_egress_webhook_alerts_total{result="sent"}`], float64(len(file)); got != want {
		t.Errorf("webhook sent counter %v, want %v", got, want)
	}
	if got, want := m["netvet_egress_syslog_messages_total"], float64(len(file)); got != want {
		t.Errorf("syslog counter %v, want %v", got, want)
	}
	for _, name := range []string{`netvet_egress_webhook_alerts_total{result="dropped"}`, `netvet_egress_webhook_alerts_total{result="failed"}`, "netvet_egress_syslog_errors_total"} {
		if v, ok := m[name]; !ok || v != 0 {
			t.Errorf("metric %s = %v (present %v), want 0", name, v, ok)
		}
	}
	if !spoofSent {
		t.Log("could not send from 127.0.0.2 (no such loopback address here): the unconfigured-exporter drop was not exercised")
	}
	t.Logf("metrics: %v datagrams, %v records decoded, %v accepted, %v alerts", m["netvet_flow_packets_total"], m["netvet_flow_records_total"],
		m["netvet_egress_records_accepted_total"], len(file))

	// sFlow v5 from pmacctd's sfprobe plugin. sFlow carries packet
	// samples without flow times: the records take the receive time, so
	// the capture's schedule is gone and only the allowlist rule applies.
	if err := runWatchExporter(dir, sfElem, listen); err != nil {
		t.Fatal(err)
	}
	var sf *egress.Alert
	for deadline := time.Now().Add(30 * time.Second); sf == nil; time.Sleep(100 * time.Millisecond) {
		sf = findAlert(readAlertFile(t, alertsPath), sfElem.id, egress.RuleNotAllowlisted, sfElem.dst)
		if sf == nil && time.Now().After(deadline) {
			t.Fatalf("no alert for the sFlow exporter's element within 30 s:\n%s", w.stderr())
		}
	}
	if len(sf.Evidence) != 1 || sf.Evidence[0].Exporter != "127.0.0.1" || sf.Evidence[0].Protocol != flow.ProtoSFlowV5 || sf.Sampled || sf.SamplingRate != 1 ||
		sf.Destination == nil || sf.Destination.ASN != 4134 || !slices.Contains(sf.Ports, "443/tcp") {
		t.Errorf("sFlow alert: %s", sf.Text())
	}
	t.Logf("%s", sf.Text())
	// Wait until the counters are still, then check nothing was dropped.
	var records0 float64
	for still, deadline := 0, time.Now().Add(10*time.Second); still < 3; time.Sleep(200 * time.Millisecond) {
		m = scrape(t, metricsURL)
		if v := m["netvet_egress_records_total"]; v == records0 {
			still++
		} else {
			records0, still = v, 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record counter did not settle within 10 s: %v", records0)
		}
	}
	for name, v := range m {
		if strings.HasPrefix(name, "netvet_flow_datagrams_dropped_total") && v != 0 && !(spoofSent && strings.Contains(name, "unknown_exporter") && v == 1) {
			t.Errorf("after sFlow: %s = %v", name, v)
		}
	}

	// SIGINT right after a burst of datagrams: watch reads what is queued,
	// makes a last collection, writes, drains the webhook and exits 0.
	const burst = 200
	// Freeze watch so that the burst is still queued in the socket when
	// the signal is handled, as on a busy machine.
	if err := w.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range burst {
		d := flowtest.V5(now.Add(-time.Hour), now, 0, []flowtest.Flow{{Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr(lastDst),
			SrcPort: uint16(42000 + i), DstPort: 443, Proto: 6, Bytes: 600, Packets: 5, Start: now.Add(-time.Second), End: now}})
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := w.wait(20 * time.Second); err != nil {
		t.Fatalf("watch after SIGINT: %v\n%s", err, w.stderr())
	}
	t.Logf("watch exited at %s", time.Since(start).Round(time.Millisecond))
	stderr := w.stderr()
	wantSummary := fmt.Sprintf("netvet: egress: %d records, ", int(records0)+burst)
	if !strings.Contains(stderr, wantSummary) {
		t.Errorf("stderr lacks %q: datagrams queued at SIGINT were lost:\n%s", wantSummary, stderr)
	}
	if !strings.Contains(stderr, "evidence from exporter 127.0.0.1 (ipfix, unsampled)") || !strings.Contains(stderr, "evidence from exporter 127.0.0.1 (netflow-v5, unsampled)") {
		t.Errorf("stderr lacks the evidence summary:\n%s", stderr)
	}
	file = readAlertFile(t, alertsPath)
	a := findAlert(file, lastElem, egress.RuleNotAllowlisted, lastDst)
	if a == nil {
		t.Fatalf("the alert for flows sent just before SIGINT is not in the file:\n%v\n%s", alertKeys(file), stderr)
	}
	if a.Flows == 0 || len(a.Evidence) != 1 || a.Evidence[0].Protocol != flow.ProtoNetFlowV5 || a.Evidence[0].Exporter != "127.0.0.1" {
		t.Errorf("last alert: %s", a.Text())
	}
	if findAlert(hook.alerts(t), lastElem, egress.RuleNotAllowlisted, lastDst) == nil {
		t.Error("the last alert was not delivered to the webhook before exit")
	}
	if !slices.ContainsFunc(sl.waitMessages(len(file), 5*time.Second), func(s string) bool {
		return strings.Contains(s, `element="gnb-5"`) && strings.Contains(s, `dst="45.0.0.15"`)
	}) {
		t.Error("the last alert did not reach syslog")
	}
	if n := len(hook.alerts(t)); n != len(file) {
		t.Errorf("webhook got %d alerts, the file has %d", n, len(file))
	}

	// The history lists every beacon pair with its flow times.
	hist, err := egress.LoadHistory(histPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		i := slices.IndexFunc(hist.Pairs, func(p egress.HistoryPair) bool { return p.Element == e.id && p.Dst.String() == e.dst })
		if i < 0 {
			t.Errorf("history lacks %s → %s: %+v", e.id, e.dst, hist.Pairs)
			continue
		}
		p := hist.Pairs[i]
		first, last := base, base.Add(9*time.Minute+beaconJitter(9)+80*time.Millisecond)
		if d := p.First.Sub(first).Abs(); d > 2*time.Second {
			t.Errorf("history %s → %s: first seen %s, want %s", e.id, e.dst, p.First, first)
		}
		if d := p.Last.Sub(last).Abs(); d > 2*time.Second {
			t.Errorf("history %s → %s: last seen %s, want %s", e.id, e.dst, p.Last, last)
		}
	}
	if !slices.ContainsFunc(hist.Pairs, func(p egress.HistoryPair) bool { return p.Element == lastElem && p.Dst.String() == lastDst }) {
		t.Errorf("history lacks the pair seen just before SIGINT")
	}
}

// watchElement is one element, the exporter that meters its traffic and
// what that exporter should be named as in the evidence.
type watchElement struct {
	id, addr, dst string
	exporter      string // softflowd or pmacctd
	args          []string
	plugin        string // pmacctd's plugin: nfprobe (default) or sfprobe
	version       int    // pmacctd's nfprobe_version
	proto         flow.Protocol
	pcap          string
}

// beaconJitter is how late beacon k is against its 60 s schedule.
func beaconJitter(k int) time.Duration { return time.Duration((k*37)%7-3) * 100 * time.Millisecond }

// beaconPackets is the SPAN-port view of one element's management traffic:
// ten TCP connections to dst:443 at 60 s intervals with ±300 ms of jitter,
// each a handshake, a request, an answer and a FIN from a new source port,
// and NTP to the allowlisted 10.0.0.123 every 64 s.
func beaconPackets(base time.Time, src, dst string) []flowtest.Packet {
	var ps []flowtest.Packet
	add := func(at time.Time, from, to string, proto, flags uint8, n int) {
		ps = append(ps, flowtest.Packet{Time: at, Frame: flowtest.Frame(netip.MustParseAddrPort(from), netip.MustParseAddrPort(to), proto, flags, make([]byte, n))})
	}
	for k := range 10 {
		at := base.Add(time.Duration(k)*time.Minute + beaconJitter(k))
		local, remote := fmt.Sprintf("%s:%d", src, 40000+k), dst+":443"
		add(at, local, remote, 6, 0x02, 0)
		add(at.Add(20*time.Millisecond), remote, local, 6, 0x12, 0)
		add(at.Add(40*time.Millisecond), local, remote, 6, 0x18, 200)
		add(at.Add(60*time.Millisecond), remote, local, 6, 0x18, 400)
		add(at.Add(80*time.Millisecond), local, remote, 6, 0x11, 0)
	}
	for k := range 9 {
		at := base.Add(30*time.Second + time.Duration(k)*64*time.Second)
		add(at, src+":123", "10.0.0.123:123", 17, 0, 48)
		add(at.Add(5*time.Millisecond), "10.0.0.123:123", src+":123", 17, 0, 48)
	}
	slices.SortStableFunc(ps, func(a, b flowtest.Packet) int { return a.Time.Compare(b.Time) })
	return ps
}

func checkAlert(t *testing.T, a *egress.Alert, e watchElement, rule string, base time.Time) {
	t.Helper()
	if a == nil {
		t.Fatal("not in the alert file")
	}
	if a.Element.Vendor != "acme" || a.Element.Function != "gnb" {
		t.Errorf("element %+v", a.Element)
	}
	d := a.Destination
	if d == nil || d.ASN != 4134 || d.Country != "CN" || d.Class != "public" || !strings.HasPrefix(d.Name, "c2-") {
		t.Errorf("destination %+v", d)
	}
	if len(a.Evidence) != 1 {
		t.Fatalf("evidence %+v, want one exporter", a.Evidence)
	}
	ev := a.Evidence[0]
	if ev.Exporter != "127.0.0.1" || ev.Protocol != e.proto || ev.Sampled || ev.SamplingRate != 1 || ev.SelfReported {
		t.Errorf("evidence %+v, want exporter 127.0.0.1, %s, unsampled, not self-reported", ev, e.proto)
	}
	if a.Sampled || a.SelfReported || a.SamplingRate != 1 {
		t.Errorf("sampled %v rate %d self-reported %v", a.Sampled, a.SamplingRate, a.SelfReported)
	}
	if a.Flows == 0 || a.Bytes == 0 || a.Packets == 0 {
		t.Errorf("flows %d bytes %d packets %d", a.Flows, a.Bytes, a.Packets)
	}
	if d := a.FirstSeen.Sub(base).Abs(); d > 2*time.Second {
		t.Errorf("first seen %s, want %s (the capture's first beacon)", a.FirstSeen, base)
	}
	// Raised at a collection in flow time: after this pair's last flow,
	// not later than the last flow of the capture.
	if end := base.Add(10 * time.Minute); a.Raised.Before(a.LastSeen) || a.Raised.After(end) {
		t.Errorf("raised %s: want flow time between the last seen %s and %s", a.Raised, a.LastSeen, end)
	}
	switch rule {
	case egress.RuleNotAllowlisted:
		if !slices.Contains(a.Ports, "443/tcp") || a.Score != 100 {
			t.Errorf("ports %v score %d", a.Ports, a.Score)
		}
	case egress.RuleBeacon:
		b := a.Beacon
		if b == nil || b.Conns < 4 || b.IntervalS < 55 || b.IntervalS > 65 || a.Score < egress.DefaultBeaconMin {
			t.Errorf("beacon %+v score %d", b, a.Score)
		}
	}
	t.Logf("%s", a.Text())
}

// syslogRE is an RFC 5424 message as netvet sends it: PRI, version 1,
// timestamp, host, app netvet, PROCID, MSGID (the rule), one SD element,
// MSG.
var syslogRE = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) netvet (\d+) (\S+) \[netvet@32473((?: [a-z_]+="(?:[^"\\\]]|\\["\\\]])*")+)\] (.+)$`)

func checkSyslog(t *testing.T, msgs []string, a *egress.Alert, pid int) {
	t.Helper()
	host, _ := os.Hostname()
	for _, msg := range msgs {
		m := syslogRE.FindStringSubmatch(msg)
		if m == nil {
			t.Errorf("not an RFC 5424 message from netvet: %q", msg)
			continue
		}
		if m[5] != a.Rule || !strings.Contains(m[6], ` element="`+a.Element.ID+`"`) || !strings.Contains(m[6], ` dst="`+a.Destination.Address+`"`) {
			continue
		}
		pri, _ := strconv.Atoi(m[1])
		if pri/8 != 16 || pri%8 < 3 || pri%8 > 5 {
			t.Errorf("PRI %d: want facility local0, severity error..notice", pri)
		}
		if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
			t.Errorf("timestamp %q: %v", m[2], err)
		}
		if m[3] != host && host != "" {
			t.Errorf("hostname %q, want %q", m[3], host)
		}
		if m[4] != strconv.Itoa(pid) {
			t.Errorf("PROCID %s, want watch's pid %d", m[4], pid)
		}
		for _, kv := range []string{`evidence="` + a.EvidenceText() + `"`, `sampled="false"`, `self_reported="false"`, `asn="4134"`, `country="CN"`,
			`score="` + strconv.Itoa(a.Score) + `"`} {
			if !strings.Contains(m[6], " "+kv) {
				t.Errorf("structured data lacks %s: %s", kv, m[6])
			}
		}
		if m[7] != a.Text() {
			t.Errorf("MSG %q, want the text line %q", m[7], a.Text())
		}
		return
	}
	t.Errorf("no syslog message for %s %s %s among %d", a.Element.ID, a.Rule, a.Destination.Address, len(msgs))
}

// buildNetvet builds the command into dir once per test run.
func buildNetvet(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "netvet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// No symbol table or DWARF: links in half the time.
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", bin, "./cmd/netvet")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/netvet: %v\n%s", err, out)
	}
	return bin
}

func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runWatchExporter meters e's capture with its exporter, sending to addr,
// and returns when the exporter has exited.
func runWatchExporter(dir string, e watchElement, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	var poke func()
	switch e.exporter {
	case "softflowd":
		sock := filepath.Join(dir, e.id+".ctl")
		path, err := lookTool("softflowd")
		if err != nil {
			return err
		}
		ctl, err := lookTool("softflowctl")
		if err != nil {
			return err
		}
		args := append([]string{"-r", e.pcap, "-n", addr, "-d", "-c", sock, "-p", filepath.Join(dir, e.id+".pid")}, e.args...)
		cmd = exec.CommandContext(ctx, path, args...)
		// With -r, softflowd only moves on when its control socket is used.
		poke = func() { _ = exec.CommandContext(ctx, ctl, "-c", sock, "statistics").Run() }
	case "pmacctd":
		path, err := lookTool("pmacctd")
		if err != nil {
			return err
		}
		conf := filepath.Join(dir, e.id+"-pmacctd.conf")
		// Timeouts beyond the capture's span: every flow leaves at the end.
		text := fmt.Sprintf("daemonize: false\npcap_savefile: %s\nplugins: nfprobe\nnfprobe_version: %d\nnfprobe_receiver: %s\nnfprobe_timeouts: tcp=3600:udp=3600:maxlife=7200:expint=1\n",
			e.pcap, e.version, addr)
		if e.plugin == "sfprobe" {
			// Every packet sampled (sfprobe's default rate 1).
			text = fmt.Sprintf("daemonize: false\npcap_savefile: %s\nplugins: sfprobe\nsfprobe_receiver: %s\n", e.pcap, addr)
		}
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return err
		}
		cmd = exec.CommandContext(ctx, path, "-f", conf)
	default:
		return fmt.Errorf("unknown exporter %s", e.exporter)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", e.exporter, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			// pmacctd: when its plugin stops first at the end of the file,
			// the core exits 1 after the flows were sent.
			if err != nil && !(e.exporter == "pmacctd" && strings.Contains(out.String(), "no more plugins active. Shutting down")) {
				return fmt.Errorf("%s %s: %v: %s", e.exporter, e.id, err, out.String())
			}
			return nil
		case <-tick.C:
			if poke != nil {
				poke()
			}
		}
	}
}

// sendFrom sends one datagram to addr from a socket bound to src. It
// returns false when src cannot be bound here.
func sendFrom(t *testing.T, src, addr string, data []byte) bool {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		return false
	}
	defer c.Close()
	if _, err := c.WriteToUDP(data, to); err != nil {
		t.Fatal(err)
	}
	return true
}

// watchProc is a running netvet egress watch.
type watchProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	errb   bytes.Buffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before exited is closed
}

func startWatch(t *testing.T, bin, dir string, args ...string) *watchProc {
	t.Helper()
	w := &watchProc{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	w.cmd.Dir = dir
	w.cmd.Stdout = io.Discard
	pr, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		br := bufio.NewReader(pr)
		for {
			line, err := br.ReadString('\n')
			w.mu.Lock()
			w.errb.WriteString(line)
			w.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		<-copied
		w.err = w.cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-w.exited:
		default:
			_ = w.cmd.Process.Kill()
			<-w.exited
		}
	})
	return w
}

func (w *watchProc) stderr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.errb.String()
}

// waitFor waits up to 30 s for re to match stderr and returns its first
// group.
func (w *watchProc) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(w.stderr()); m != nil {
			return m[1]
		}
		select {
		case <-w.exited:
			t.Fatalf("watch exited (%v) before printing %s:\n%s", w.err, re, w.stderr())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch did not print %s:\n%s", re, w.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its error (nil for
// status 0).
func (w *watchProc) wait(limit time.Duration) error {
	select {
	case <-w.exited:
		return w.err
	case <-time.After(limit):
		_ = w.cmd.Process.Signal(syscall.SIGQUIT) // dump the goroutines into stderr
		time.Sleep(time.Second)
		_ = w.cmd.Process.Kill()
		return fmt.Errorf("did not exit within %s", limit)
	}
}

// syslogReceiver collects the datagrams of a UDP syslog listener.
type syslogReceiver struct {
	conn *net.UDPConn
	mu   sync.Mutex
	msgs []string
}

func listenSyslog(t *testing.T) *syslogReceiver {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(1 << 20)
	s := &syslogReceiver{conn: c}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return s
}

func (s *syslogReceiver) addr() string { return s.conn.LocalAddr().String() }

func (s *syslogReceiver) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// waitMessages waits up to limit for n messages and returns what it has.
func (s *syslogReceiver) waitMessages(n int, limit time.Duration) []string {
	deadline := time.Now().Add(limit)
	for {
		m := s.messages()
		if len(m) >= n || time.Now().After(deadline) {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hookReceiver is a webhook endpoint keeping the JSON bodies it was sent.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	errs   []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		h.mu.Lock()
		defer h.mu.Unlock()
		switch {
		case err != nil:
			h.errs = append(h.errs, err.Error())
		case r.Method != http.MethodPost || r.URL.Path != "/hook" || mt != "application/json":
			h.errs = append(h.errs, fmt.Sprintf("%s %s %s", r.Method, r.URL.Path, mt))
		default:
			h.bodies = append(h.bodies, body)
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) alerts(t *testing.T) []egress.Alert {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) > 0 {
		t.Fatalf("bad webhook requests: %v", h.errs)
	}
	out := make([]egress.Alert, 0, len(h.bodies))
	for _, b := range h.bodies {
		var a egress.Alert
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
		out = append(out, a)
	}
	return out
}

func readAlertFile(t *testing.T, path string) []egress.Alert {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []egress.Alert
	// Only whole lines: the file may be read while watch writes to it.
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		var a egress.Alert
		dec := json.NewDecoder(bytes.NewReader(data[:i]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("%s: %q: %v", path, data[:i], err)
		}
		out = append(out, a)
		data = data[i+1:]
	}
	return out
}

func alertKeys(as []egress.Alert) map[string]bool {
	m := map[string]bool{}
	for _, a := range as {
		dst := ""
		if a.Destination != nil {
			dst = a.Destination.Address
		}
		m[a.Element.ID+" "+a.Rule+" "+dst] = true
	}
	return m
}

func hasAll(got, want map[string]bool) bool {
	for k := range want {
		if !got[k] {
			return false
		}
	}
	return true
}

func findAlert(as []egress.Alert, el, rule, dst string) *egress.Alert {
	for i := range as {
		a := &as[i]
		if a.Element.ID == el && a.Rule == rule && a.Destination != nil && a.Destination.Address == dst {
			return a
		}
	}
	return nil
}

// promLineRE is one sample line of the Prometheus text format.
var promLineRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})?) (\S+)$`)

// scrape GETs /metrics, checks the exposition format and returns the
// samples by name and labels as written.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("GET %s: %s, Content-Type %q", url, resp.Status, ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		sm := promLineRE.FindStringSubmatch(line)
		if sm == nil {
			t.Fatalf("/metrics: not a sample line: %q", line)
		}
		name, _, _ := strings.Cut(sm[1], "{")
		if !typed[name] {
			t.Fatalf("/metrics: %s has no TYPE line before it", name)
		}
		v, err := strconv.ParseFloat(sm[2], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		m[sm[1]] = v
	}
	return m
}
