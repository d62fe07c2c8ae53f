package egress

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/allow"
)

// peersOf lists the destinations kept for an element, sorted.
func peersOf(p *Pipeline, id string) []string {
	var out []string
	for k := range p.pairs {
		if k.el.ID == id {
			out = append(out, k.dst.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestPeerCapEviction(t *testing.T) {
	const src = "10.1.0.1" // gnb-1: acme, so 10.30.0.0/24 on 443/tcp is allowed
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	type step struct {
		dst     string
		at      int  // seconds after t0
		collect bool // run Collect after this record (alerts on denied pairs)
	}
	tests := []struct {
		name          string
		cap           int
		steps         []step
		want          []string
		evicted       uint64
		evictedDenied uint64
	}{
		{"allowed peers, least recently seen goes", 3,
			[]step{{"10.30.0.1", 0, false}, {"10.30.0.2", 1, false}, {"10.30.0.3", 2, false}, {"10.30.0.1", 3, false}, {"10.30.0.4", 4, false}},
			[]string{"10.30.0.1", "10.30.0.3", "10.30.0.4"}, 1, 0},
		{"allowed evicted before older denied", 3,
			[]step{{"45.0.0.1", 0, false}, {"10.30.0.1", 1, false}, {"10.30.0.2", 2, false}, {"45.0.0.2", 3, false}, {"45.0.0.3", 4, false}},
			[]string{"45.0.0.1", "45.0.0.2", "45.0.0.3"}, 2, 0},
		{"all denied: least recently seen denied goes", 3,
			[]step{{"45.0.0.1", 0, false}, {"45.0.0.2", 1, false}, {"45.0.0.3", 2, false}, {"45.0.0.4", 3, false}},
			[]string{"45.0.0.2", "45.0.0.3", "45.0.0.4"}, 1, 1},
		{"denied already alerted goes before unreported", 2,
			// 45.0.0.1 is alerted on; 45.0.0.2 arrives late (older flow
			// time) and has no alert yet, so the alerted one is evicted.
			[]step{{"45.0.0.1", 100, true}, {"45.0.0.2", 10, false}, {"45.0.0.3", 200, false}},
			[]string{"45.0.0.2", "45.0.0.3"}, 1, 1},
		{"under the cap nothing is evicted", 4,
			[]step{{"45.0.0.1", 0, false}, {"10.30.0.1", 1, false}, {"10.30.0.2", 2, false}, {"45.0.0.1", 3, false}},
			[]string{"10.30.0.1", "10.30.0.2", "45.0.0.1"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPipeline(t, func(c *Config) { c.MaxPeersPerElement = tt.cap })
			// Another element's pairs never count against gnb-1's cap.
			for i := 0; i < tt.cap+2; i++ {
				p.Add(rec("10.9.0.1", "10.1.0.2", fmt.Sprintf("45.0.1.%d", i+1), 443, allow.ProtoTCP, sec(i), 100))
			}
			base := p.Stats().EvictedPeers.Load()
			baseDenied := p.Stats().EvictedDenied.Load()
			for _, s := range tt.steps {
				p.Add(rec("10.9.0.1", src, s.dst, 443, allow.ProtoTCP, sec(s.at), 100))
				if s.collect {
					p.Collect(time.Time{})
				}
			}
			if got := peersOf(p, "gnb-1"); !slices.Equal(got, tt.want) {
				t.Errorf("gnb-1 keeps %v, want %v", got, tt.want)
			}
			if got := len(p.elems[mustElement(t, p, "gnb-1")].peers); got != len(tt.want) {
				t.Errorf("element peer list holds %d pairs, the pair table %d", got, len(tt.want))
			}
			if got := p.Stats().EvictedPeers.Load() - base; got != tt.evicted {
				t.Errorf("EvictedPeers = %d, want %d", got, tt.evicted)
			}
			if got := p.Stats().EvictedDenied.Load() - baseDenied; got != tt.evictedDenied {
				t.Errorf("EvictedDenied = %d, want %d", got, tt.evictedDenied)
			}
			if got := len(peersOf(p, "gnb-2")); got != tt.cap {
				t.Errorf("gnb-2 keeps %d peers, want its own cap %d", got, tt.cap)
			}
			// Alerts after evictions name only kept pairs.
			for _, a := range p.Finish() {
				if a.Element.ID == "gnb-1" && a.Destination != nil && !slices.Contains(tt.want, a.Destination.Address) {
					t.Errorf("alert %s for evicted destination %s", a.Rule, a.Destination.Address)
				}
			}
		})
	}
}

func mustElement(t *testing.T, p *Pipeline, id string) *Element {
	t.Helper()
	el, ok := p.cfg.Elements.byIDElement(id)
	if !ok {
		t.Fatalf("no element %s", id)
	}
	return el
}

// TestPeerCapDefault: a flood of destinations from one element keeps
// DefaultMaxPeers pairs, the most recent ones, and the beacon tracker
// holds no more.
func TestPeerCapDefault(t *testing.T) {
	p := testPipeline(t, nil)
	const n = 3 * DefaultMaxPeers
	for i := 0; i < n; i++ {
		dst := netip.AddrFrom4([4]byte{45, 0, byte(i >> 8), byte(i)})
		p.Add(rec("10.9.0.1", "10.1.0.3", dst.String(), 443, allow.ProtoTCP, t0.Add(time.Duration(i)*time.Second), 100))
	}
	got := peersOf(p, "gnb-3")
	if len(got) != DefaultMaxPeers {
		t.Fatalf("kept %d pairs, want %d", len(got), DefaultMaxPeers)
	}
	if first := netip.AddrFrom4([4]byte{45, 0, byte((n - DefaultMaxPeers) >> 8), byte(n - DefaultMaxPeers)}); !slices.Contains(got, first.String()) {
		t.Errorf("the oldest kept pair should be %s; kept %v", first, got)
	}
	if e := p.Stats().EvictedPeers.Load(); e != n-DefaultMaxPeers {
		t.Errorf("EvictedPeers = %d, want %d", e, n-DefaultMaxPeers)
	}
	if tp := p.tracker.Peers(); tp > DefaultMaxPeers {
		t.Errorf("beacon tracker keeps %d pairs for one element", tp)
	}
	if a := p.Stats().Accepted.Load(); a != n {
		t.Errorf("accepted %d of %d records: eviction must not drop flows", a, n)
	}
}

// TestPairDecisionPerPort: the allowlist decision kept per pair is redone
// whenever the port or protocol changes, so a denied port on an allowed
// destination is still counted and alerted on, and an allowed port after
// it is not counted as denied.
func TestPairDecisionPerPort(t *testing.T) {
	p := testPipeline(t, nil)
	steps := []struct {
		port   uint16
		proto  uint8
		denied uint64 // Stats.Denied after this record
	}{
		{443, allow.ProtoTCP, 0},
		{443, allow.ProtoTCP, 0},
		{22, allow.ProtoTCP, 1},
		{22, allow.ProtoTCP, 2},
		{443, allow.ProtoUDP, 3},
		{443, allow.ProtoTCP, 3},
		{22, allow.ProtoTCP, 4},
	}
	for i, s := range steps {
		p.Add(rec("10.9.0.1", "10.1.0.1", "10.30.0.7", s.port, s.proto, t0.Add(time.Duration(i)*time.Second), 100))
		if got := p.Stats().Denied.Load(); got != s.denied {
			t.Fatalf("record %d (%d/%d): Denied = %d, want %d", i, s.port, s.proto, got, s.denied)
		}
	}
	var found bool
	for _, a := range p.Finish() {
		if a.Rule == RuleNotAllowlisted && a.Destination != nil && a.Destination.Address == "10.30.0.7" {
			found = true
			if !slices.Equal(a.Ports, []string{"22/tcp", "443/udp"}) {
				t.Errorf("denied ports %v, want [22/tcp 443/udp]", a.Ports)
			}
		}
	}
	if !found {
		t.Error("no not-allowlisted alert for the denied ports of an allowed destination")
	}
}
