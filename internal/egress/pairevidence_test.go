package egress

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/allow"
)

// A pair keeps at most four exporters with the highest sampling rate seen
// from each, counts the records from the others, and tells an exporter
// reporting on itself from the same exporter reporting on another element.
func TestPairEvidence(t *testing.T) {
	p := testPipeline(t, nil)
	type in struct {
		exporter, src string
		rate          uint32
		sampled       bool
	}
	for i, r := range []in{
		{"10.9.0.1", "10.1.0.1", 1, false},
		{"10.9.0.2", "10.1.0.1", 100, true},
		{"10.9.0.1", "10.1.0.1", 10, true}, // raises 10.9.0.1 to 10, sampled
		{"10.1.0.2", "10.1.0.1", 1, false}, // gnb-2's own exporter, about gnb-1
		{"10.1.0.2", "10.1.0.2", 1, false}, // ... and about itself
		{"10.9.0.3", "10.1.0.1", 1, false},
		{"10.9.0.4", "10.1.0.1", 1, false},  // a fifth exporter: counted
		{"10.9.0.5", "10.1.0.1", 1, false},  // a sixth
		{"10.9.0.2", "10.1.0.1", 50, false}, // lower: no change
		{"10.9.0.4", "10.1.0.1", 1, false},
	} {
		x := rec(r.exporter, r.src, "45.0.0.9", 443, allow.ProtoTCP, t0.Add(time.Duration(i)*time.Second), 100)
		x.SamplingRate, x.Sampled = r.rate, r.sampled
		p.Add(x)
	}
	got := map[string]Alert{}
	for _, a := range p.Finish() {
		if a.Rule == RuleNotAllowlisted {
			got[a.Element.ID] = a
		}
	}
	a1 := got["gnb-1"]
	want := []Evidence{
		{Exporter: "10.1.0.2", Protocol: a1.Evidence[0].Protocol, SamplingRate: 1},
		{Exporter: "10.9.0.1", Protocol: a1.Evidence[0].Protocol, Sampled: true, SamplingRate: 10},
		{Exporter: "10.9.0.2", Protocol: a1.Evidence[0].Protocol, Sampled: true, SamplingRate: 100},
		{Exporter: "10.9.0.3", Protocol: a1.Evidence[0].Protocol, SamplingRate: 1},
	}
	if len(a1.Evidence) != len(want) || a1.MoreExporters != 3 || !a1.Sampled || a1.SamplingRate != 100 || a1.SelfReported {
		t.Fatalf("gnb-1: evidence %+v, more %d, sampled %v rate %d self %v", a1.Evidence, a1.MoreExporters, a1.Sampled, a1.SamplingRate, a1.SelfReported)
	}
	for i := range want {
		if a1.Evidence[i] != want[i] {
			t.Errorf("gnb-1 evidence %d = %+v, want %+v", i, a1.Evidence[i], want[i])
		}
	}
	a2 := got["gnb-2"]
	if len(a2.Evidence) != 1 || !a2.Evidence[0].SelfReported || !a2.SelfReported || a2.Evidence[0].Exporter != "10.1.0.2" {
		t.Errorf("gnb-2: evidence %+v self %v", a2.Evidence, a2.SelfReported)
	}
	if n := len(p.evs.items); n != 6 {
		t.Errorf("%d distinct evidence values, want 6", n)
	}
}

// The reason of a not-allowlisted alert is the allowlist's decision for
// the first denied port, as when it was made.
func TestDenyReasonFirstPort(t *testing.T) {
	p := testPipeline(t, nil)
	dst := netip.MustParseAddr("45.0.0.9")
	p.Add(rec("10.9.0.1", "10.1.0.1", dst.String(), 22, allow.ProtoTCP, t0, 100))
	p.Add(rec("10.9.0.1", "10.1.0.1", dst.String(), 8443, allow.ProtoTCP, t0.Add(time.Second), 100))
	p.Add(rec("10.9.0.1", "10.1.0.1", "10.30.0.7", 443, allow.ProtoTCP, t0.Add(2*time.Second), 100))
	p.Add(rec("10.9.0.1", "10.1.0.1", "10.30.0.7", 161, allow.ProtoUDP, t0.Add(3*time.Second), 100))
	el := mustElement(t, p, "gnb-1")
	set := p.cfg.Policy.ForElement(allow.Element{ID: el.ID, Vendor: el.Vendor, Function: el.Function, Domain: el.Domain})
	want := map[string]string{
		"45.0.0.9":  set.Evaluate(dst, 22, allow.ProtoTCP).Reason(),
		"10.30.0.7": set.Evaluate(netip.MustParseAddr("10.30.0.7"), 161, allow.ProtoUDP).Reason(),
	}
	n := 0
	for _, a := range p.Collect(time.Time{}) {
		if a.Rule != RuleNotAllowlisted {
			continue
		}
		n++
		if w := want[a.Destination.Address]; a.Reason != w || w == "" {
			t.Errorf("%s: reason %q, want %q", a.Destination.Address, a.Reason, w)
		}
	}
	if n != 2 {
		t.Errorf("%d not-allowlisted alerts, want 2", n)
	}
}
