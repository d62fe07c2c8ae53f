package egress

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/ipinfo"
)

const testElements = `address,element,vendor,function,domain,site
10.1.0.1,gnb-1,acme,gnb,ran,S1
10.1.0.2,gnb-2,acme,gnb,ran,S1
10.1.0.3,gnb-3,acme,gnb,ran,S2
10.2.0.0/24,olt-site2,bolt,olt,access-fixed,S2
`

const testPolicy = `version: 1
rules:
  - id: mgmt-ntp
    template: ntp
    cidrs: [10.20.0.2]
  - id: ems
    vendor: acme
    cidrs: [10.30.0.0/24]
    ports: [443/tcp]
`

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

func testPipeline(t *testing.T, mut func(*Config)) *Pipeline {
	t.Helper()
	em, err := ParseElements("elements.csv", strings.NewReader(testElements), nil)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := allow.Parse("allow.yaml", []byte(testPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	db := ipinfo.New(ipinfo.Limits{})
	if _, err := db.LoadText(context.Background(), "ip2asn.tsv", strings.NewReader("45.0.0.0\t45.0.0.255\t4134\tCN\tCHINANET\n")); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Elements: em, Policy: pol, Geo: db, Hosts: allow.Hosts{"c2.example": {netip.MustParseAddr("45.0.0.9")}}}
	if mut != nil {
		mut(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rec(exporter, src, dst string, port uint16, proto uint8, start time.Time, bytes uint64) *flow.Record {
	r := &flow.Record{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: 40000, DstPort: port, Proto: proto,
		Start: start, End: start.Add(time.Second), Bytes: bytes, Packets: 4, Protocol: flow.ProtoIPFIX, SamplingRate: 1}
	if exporter != "" {
		r.Exporter = netip.MustParseAddr(exporter)
	} else {
		r.Protocol, r.Source = flow.ProtoPcap, "mgmt.pcap"
	}
	return r
}

func TestPipelineDetects(t *testing.T) {
	p := testPipeline(t, nil)
	day := 24 * time.Hour
	// gnb-1: allowlisted NTP every 64 s, and a 60 s (±2 s) beacon to a
	// foreign AS, both seen by an independent exporter.
	for i := 0; time.Duration(i)*64*time.Second < day; i++ {
		p.Add(rec("10.9.0.1", "10.1.0.1", "10.20.0.2", 123, allow.ProtoUDP, t0.Add(time.Duration(i)*64*time.Second), 76))
	}
	for i := 0; time.Duration(i)*time.Minute < day; i++ {
		jitter := time.Duration(i%5-2) * time.Second
		p.Add(rec("10.9.0.1", "10.1.0.1", "45.0.0.9", 443, allow.ProtoTCP, t0.Add(time.Duration(i)*time.Minute+jitter), 512))
	}
	// gnb-2: EMS on an allowed port, and a denied port to the same EMS,
	// reported by gnb-2 itself.
	p.Add(rec("10.1.0.2", "10.1.0.2", "10.30.0.5", 443, allow.ProtoTCP, t0.Add(time.Hour), 1000))
	p.Add(rec("10.1.0.2", "10.1.0.2", "10.30.0.5", 22, allow.ProtoTCP, t0.Add(2*time.Hour), 2000))
	// unknown source
	p.Add(rec("10.9.0.1", "192.168.7.7", "45.0.0.9", 443, allow.ProtoTCP, t0, 1))

	alerts := p.Finish()
	if got := p.Stats().DropUnknownSource.Load(); got != 1 {
		t.Errorf("unknown-source drops = %d, want 1", got)
	}
	type key struct{ el, rule, dst string }
	got := map[key]Alert{}
	for _, a := range alerts {
		dst := ""
		if a.Destination != nil {
			dst = a.Destination.Address
		}
		got[key{a.Element.ID, a.Rule, dst}] = a
	}
	want := []key{
		{"gnb-1", RuleNotAllowlisted, "45.0.0.9"},
		{"gnb-1", RuleBeacon, "45.0.0.9"},
		{"gnb-2", RuleNotAllowlisted, "10.30.0.5"},
	}
	if len(got) != len(want) {
		for _, a := range alerts {
			t.Log(a.Text())
		}
		t.Fatalf("%d alerts, want %d", len(got), len(want))
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("missing alert %v", k)
		}
	}
	b := got[key{"gnb-1", RuleBeacon, "45.0.0.9"}]
	if b.Score < 70 || b.Beacon == nil || b.Beacon.IntervalS < 55 || b.Beacon.IntervalS > 65 {
		t.Errorf("beacon alert: %+v %+v", b, b.Beacon)
	}
	d := b.Destination
	if d.ASN != 4134 || d.Country != "CN" || d.Name != "c2.example" || d.Class != "public" {
		t.Errorf("destination %+v", d)
	}
	if b.SelfReported || b.Sampled || len(b.Evidence) != 1 || b.Evidence[0].Exporter != "10.9.0.1" {
		t.Errorf("beacon evidence %+v self=%v", b.Evidence, b.SelfReported)
	}
	if b.Element.Vendor != "acme" || b.Element.Site != "S1" || b.Element.Function != "gnb" {
		t.Errorf("element %+v", b.Element)
	}
	n := got[key{"gnb-2", RuleNotAllowlisted, "10.30.0.5"}]
	if !n.SelfReported || len(n.Ports) != 1 || n.Ports[0] != "22/tcp" || n.Flows != 2 || n.Bytes != 3000 {
		t.Errorf("self-reported alert: %+v", n)
	}
	if !strings.Contains(n.Text(), "SELF-REPORTED") {
		t.Errorf("text lacks the self-reported flag: %s", n.Text())
	}
	// Deterministic order: element, then rule.
	for i := 1; i < len(alerts); i++ {
		if compareAlerts(alerts[i-1], alerts[i]) > 0 {
			t.Errorf("alerts out of order at %d", i)
		}
	}
	if got := p.Stats().AlertsByRule[0].Load(); got != 2 {
		t.Errorf("not-allowlisted counter %d", got)
	}
}

func TestPipelineRepeat(t *testing.T) {
	p := testPipeline(t, func(c *Config) { c.Repeat = time.Hour })
	p.Add(rec("", "10.2.0.7", "45.0.0.9", 8443, allow.ProtoTCP, t0, 100))
	if a := p.Collect(t0); len(a) != 1 || a[0].Element.ID != "olt-site2" || a[0].Evidence[0].Capture != "mgmt.pcap" {
		t.Fatalf("first collect: %+v", a)
	}
	if a := p.Collect(t0.Add(2 * time.Hour)); len(a) != 0 {
		t.Errorf("no new flows but alerted again: %+v", a)
	}
	p.Add(rec("", "10.2.0.7", "45.0.0.9", 8443, allow.ProtoTCP, t0.Add(10*time.Minute), 100))
	if a := p.Collect(t0.Add(20 * time.Minute)); len(a) != 0 {
		t.Errorf("repeat within the interval: %+v", a)
	}
	if p.Stats().Suppressed.Load() != 1 {
		t.Errorf("suppressed = %d", p.Stats().Suppressed.Load())
	}
	a := p.Collect(t0.Add(90 * time.Minute))
	if len(a) != 1 || a[0].Repeat != 1 || a[0].Flows != 2 {
		t.Errorf("repeat after the interval: %+v", a)
	}
}

func TestPipelineVolume(t *testing.T) {
	p := testPipeline(t, nil)
	// three weeks of 1 MB an hour to the allowed EMS, then 2 GB in one hour
	for h := 0; h < 3*168; h++ {
		p.Add(rec("10.9.0.1", "10.1.0.3", "10.30.0.5", 443, allow.ProtoTCP, t0.Add(time.Duration(h)*time.Hour+time.Minute), 1<<20))
	}
	jump := t0.Add(3*168*time.Hour + 5*time.Minute)
	p.Add(rec("10.9.0.1", "10.1.0.3", "10.30.0.5", 443, allow.ProtoTCP, jump, 2<<30))
	p.Add(rec("10.9.0.1", "10.1.0.3", "10.30.0.5", 443, allow.ProtoTCP, jump.Add(3*time.Hour), 1<<20))
	alerts := p.Finish()
	var vol []Alert
	for _, a := range alerts {
		if a.Rule == RuleVolume {
			vol = append(vol, a)
		} else {
			t.Errorf("unexpected %s", a.Text())
		}
	}
	if len(vol) != 1 {
		t.Fatalf("%d volume alerts, want 1", len(vol))
	}
	v := vol[0]
	if v.Element.ID != "gnb-3" || !v.Volume.Hour.Equal(jump.Truncate(time.Hour)) || v.Score != 100 || v.Evidence[0].Exporter != "10.9.0.1" {
		t.Errorf("volume alert %+v %+v", v, v.Volume)
	}
}

func TestPipelineNoPolicy(t *testing.T) {
	p := testPipeline(t, func(c *Config) { c.Policy = nil })
	p.Add(rec("10.9.0.1", "10.1.0.1", "45.0.0.9", 443, allow.ProtoTCP, t0, 100))
	if a := p.Finish(); len(a) != 0 {
		t.Errorf("no policy, one flow: %+v", a)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no element map accepted")
	}
	if _, err := New(Config{Elements: NewElementMap()}); err == nil {
		t.Error("empty element map accepted")
	}
}

func TestReport(t *testing.T) {
	p := testPipeline(t, nil)
	for i := 0; i < 12; i++ {
		p.Add(rec("10.9.0.1", "10.1.0.1", "45.0.0.9", 443, allow.ProtoTCP, t0.Add(time.Duration(i)*time.Minute), 100))
		p.Add(rec("10.9.0.1", "10.1.0.1", "10.20.0.2", 123, allow.ProtoUDP, t0.Add(time.Duration(i)*time.Minute+30*time.Second), 10))
	}
	p.Add(rec("10.1.0.2", "10.1.0.2", "10.30.0.5", 443, allow.ProtoTCP, t0.Add(11*time.Minute), 5000))
	p.Finish()
	r := p.Report(t0.Add(10*time.Minute), 1)
	if len(r.Elements) != 2 || r.Elements[0].Element.ID != "gnb-1" || r.Elements[1].Element.ID != "gnb-2" {
		t.Fatalf("elements %+v", r.Elements)
	}
	g1 := r.Elements[0]
	if len(g1.Destinations) != 1 || g1.Destinations[0].Address != "45.0.0.9" || g1.Destinations[0].Allowed || g1.MoreDestinations != 1 || g1.Bytes != 1320 {
		t.Errorf("gnb-1 destinations %+v more %d", g1.Destinations, g1.MoreDestinations)
	}
	if len(g1.New) != 0 {
		t.Errorf("gnb-1 new %+v", g1.New)
	}
	if len(g1.Beacons) != 2 || g1.SelfReported {
		t.Errorf("gnb-1 beacons %+v", g1.Beacons)
	}
	g2 := r.Elements[1]
	if !g2.SelfReported || len(g2.New) != 1 || !g2.New[0].Allowed {
		t.Errorf("gnb-2 %+v", g2)
	}
	var text, html strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"exporter 10.1.0.2 (ipfix, unsampled, 1 records, SELF-REPORTED", "... 1 more"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(html.String(), `<td class="bad">NOT ALLOWED 443/tcp</td>`) {
		t.Errorf("html:\n%s", html.String())
	}
}
