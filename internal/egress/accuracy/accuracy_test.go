package accuracy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/baseline"
	"github.com/netvet/netvet/internal/egress/egressgen"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/ipinfo"
)

const inventoryPath = "../../../examples/exposure/operator.csv"

// expected says which rule must find a planted behaviour.
var expected = map[string]string{
	egressgen.Beacon:      egress.RuleBeacon,
	egressgen.DailyUpload: egress.RuleBeacon,
	egressgen.DNSForeign:  egress.RuleDNSTunnel,
	egressgen.DNSOperator: egress.RuleDNSTunnel,
	egressgen.VolumeJump:  egress.RuleVolume,
}

func month(t testing.TB, elements, days int, plant ...string) *egressgen.Month {
	t.Helper()
	f, err := os.Open(inventoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := egressgen.ReadInventory(inventoryPath, f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := egressgen.New(egressgen.Config{Seed: 6, Days: days, Elements: egressgen.Pick(inv, elements, 6), Plant: plant})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pipeline loads the written files the way `netvet egress replay` does.
func pipeline(t testing.TB, dir string) *egress.Pipeline {
	t.Helper()
	em, err := egress.LoadElements(filepath.Join(dir, egressgen.ElementsFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := allow.Load(filepath.Join(dir, egressgen.AllowFile))
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := allow.LoadHosts(filepath.Join(dir, egressgen.HostsFile))
	if err != nil {
		t.Fatal(err)
	}
	db := ipinfo.New(ipinfo.Limits{})
	st, err := db.LoadFile(context.Background(), filepath.Join(dir, egressgen.IPTableFile))
	if err != nil || st.Errors > 0 {
		t.Fatalf("ip table: %v (%d bad lines)", err, st.Errors)
	}
	p, err := egress.New(egress.Config{Elements: em, Policy: pol, Geo: db, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Outcome is the measurement of one run.
type Outcome struct {
	Found     map[string]*egress.Alert // planted kind -> the best alert that found it
	FoundN    map[string]int           // planted kind -> alerts that found it
	MinScore  map[string]int           // planted kind -> lowest score among them
	FirstAt   map[string]time.Time     // planted kind -> when the first of them was raised (flow time)
	FalsePos  map[string]int           // rule -> alerts on normal elements
	Extra     map[string]int           // rule -> other alerts on planted elements
	HardNeg   int                      // alerts on the hard-negative element
	Records   int
	Alerts    int
	FPSamples []string
}

// Evaluate matches alerts against the planted behaviours.
func Evaluate(planted []egressgen.Planted, alerts []egress.Alert) Outcome {
	o := Outcome{Found: map[string]*egress.Alert{}, FoundN: map[string]int{}, MinScore: map[string]int{}, FirstAt: map[string]time.Time{}, FalsePos: map[string]int{}, Extra: map[string]int{}, Alerts: len(alerts)}
	byElement := map[string]egressgen.Planted{}
	for _, p := range planted {
		byElement[p.Element] = p
	}
	for i := range alerts {
		a := &alerts[i]
		p, ok := byElement[a.Element.ID]
		if !ok {
			o.FalsePos[a.Rule]++
			if len(o.FPSamples) < 20 {
				o.FPSamples = append(o.FPSamples, describe(a))
			}
			continue
		}
		if p.Kind == egressgen.HardNegative {
			o.HardNeg++
			o.FalsePos[a.Rule]++
			o.FPSamples = append(o.FPSamples, describe(a))
			continue
		}
		if matches(p, a) {
			if prev := o.Found[p.Kind]; prev == nil || a.Score > prev.Score {
				o.Found[p.Kind] = a
			}
			if o.FoundN[p.Kind] == 0 || a.Score < o.MinScore[p.Kind] {
				o.MinScore[p.Kind] = a.Score
			}
			o.FoundN[p.Kind]++
			if f, ok := o.FirstAt[p.Kind]; !ok || a.Raised.Before(f) {
				o.FirstAt[p.Kind] = a.Raised
			}
			continue
		}
		o.Extra[a.Rule]++
	}
	return o
}

func matches(p egressgen.Planted, a *egress.Alert) bool {
	if a.Rule != expected[p.Kind] {
		return false
	}
	if a.Rule == egress.RuleVolume {
		return a.Volume != nil && !a.Volume.Hour.Before(p.From.Truncate(time.Hour)) && a.Volume.Hour.Before(p.From.Add(3*time.Hour))
	}
	return a.Destination != nil && a.Destination.Address == p.Dst.String()
}

func describe(a *egress.Alert) string {
	d := ""
	if a.Destination != nil {
		d = " → " + a.Destination.Address
	}
	return fmt.Sprintf("%s %s%s score %d: %s", a.Rule, a.Element.ID, d, a.Score, a.Reason)
}

func report(t testing.TB, m *egressgen.Month, o Outcome, wall time.Duration) {
	t.Logf("%d elements, %s to %s, %d records, %d alerts, %s", len(m.Nodes()), m.Start().Format(time.DateOnly), m.End().Format(time.DateOnly), o.Records, o.Alerts, wall.Round(time.Millisecond))
	for _, p := range m.Planted() {
		if p.Kind == egressgen.HardNegative {
			t.Logf("  %-13s %-22s %-15s alerts %d (want 0)", p.Kind, p.Element, p.Dst, o.HardNeg)
			continue
		}
		a := o.Found[p.Kind]
		if a == nil {
			t.Logf("  %-13s %-22s %-15s %-10s MISSED", p.Kind, p.Element, p.Dst, expected[p.Kind])
			continue
		}
		t.Logf("  %-13s %-22s %-15s %-10s found by %d alert(s), scores %d-%d, first %s after it began: %s", p.Kind, p.Element, p.Dst, a.Rule,
			o.FoundN[p.Kind], o.MinScore[p.Kind], a.Score, o.FirstAt[p.Kind].Sub(p.From).Round(time.Minute), a.Reason)
	}
	for _, r := range egress.Rules {
		t.Logf("  rule %-16s false positives %d, other alerts on planted elements %d", r, o.FalsePos[r], o.Extra[r])
	}
	for _, s := range o.FPSamples {
		t.Logf("  false positive: %s", s)
	}
}

// TestGeneratedMonth runs the month through the pipeline in process.
func TestGeneratedMonth(t *testing.T) {
	var m *egressgen.Month
	if raceEnabled || testing.Short() {
		// Ten elements for ten days: everything but the volume jump,
		// which needs two weeks of baseline (the full month runs
		// without -race and -short).
		m = month(t, 10, 10, egressgen.Beacon, egressgen.DailyUpload, egressgen.DNSForeign, egressgen.DNSOperator)
	} else {
		m = month(t, 100, 30)
	}
	dir := t.TempDir()
	if err := m.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	// replay: alerts once at the end, as `netvet egress replay` does;
	// watch: alerts collected at every hour of flow time as well, as the
	// collector does.
	for _, mode := range []string{"replay", "watch"} {
		t.Run(mode, func(t *testing.T) {
			p := pipeline(t, dir)
			// Beside the pipeline, a volume baseline fed raw bytes
			// instead of payload, to show what counting
			// acknowledgements would cost.
			raw := baseline.New(baseline.Config{})
			ids := map[netip.Addr]string{}
			for _, n := range m.Nodes() {
				ids[n.Addr] = n.ID
			}
			var alerts []egress.Alert
			var hour time.Time
			start := time.Now()
			recs := m.Run(func(r *flow.Record) {
				p.Add(r)
				raw.Add(ids[r.Src], r.Start, r.Bytes)
				if h := r.Start.Truncate(time.Hour); mode == "watch" && h.After(hour) {
					hour = h
					alerts = append(alerts, p.Collect(time.Time{})...)
				}
			})
			alerts = append(alerts, p.Finish()...)
			elapsed := time.Since(start)
			o := Evaluate(m.Planted(), alerts)
			o.Records = recs
			report(t, m, o, elapsed)
			raw.Flush(p.Now())
			rawFP := 0
			for _, a := range raw.Alerts() {
				if !slices.ContainsFunc(m.Planted(), func(pl egressgen.Planted) bool { return pl.Element == a.Element && pl.Kind != egressgen.HardNegative }) {
					rawFP++
				}
			}
			t.Logf("  volume on raw bytes instead of payload: %d alerts on normal elements", rawFP)
			for _, pl := range m.Planted() {
				if pl.Kind != egressgen.HardNegative && o.Found[pl.Kind] == nil {
					t.Errorf("%s on %s (to %s) not found by rule %s", pl.Kind, pl.Element, pl.Dst, expected[pl.Kind])
				}
			}
			if o.HardNeg > 0 {
				t.Errorf("%d alerts on the hard negative (NTP every 64 s to an allowed server)", o.HardNeg)
			}
			fp := 0
			for _, c := range o.FalsePos {
				fp += c
			}
			if fp > 0 {
				t.Errorf("%d false positives on normal elements", fp)
			}
			if st := p.Stats(); st.Accepted.Load() != uint64(recs) {
				t.Errorf("%d of %d records accepted", st.Accepted.Load(), recs)
			}
		})
	}
}

// TestDeterministic checks that the same seed gives the same records and files.
func TestDeterministic(t *testing.T) {
	sum := func() (string, int) {
		m := month(t, 12, 3)
		var b strings.Builder
		b.Write(m.ElementsCSV())
		b.Write(m.AllowYAML())
		b.Write(m.Hosts())
		b.Write(m.IPTable())
		h := fnv()
		n := m.Run(func(r *flow.Record) { h.add(fmt.Sprint(*r)) })
		return b.String() + fmt.Sprint(*h), n
	}
	a, n := sum()
	b, _ := sum()
	if a != b || n == 0 {
		t.Errorf("two runs with the same seed differ (%d records)", n)
	}
}

type fnvHash uint64

func fnv() *fnvHash { h := fnvHash(14695981039346656037); return &h }

func (h *fnvHash) add(s string) {
	for i := 0; i < len(s); i++ {
		*h = (*h ^ fnvHash(s[i])) * 1099511628211
	}
}

// TestWriteMonth writes the month's files and records as JSON lines for
// bench/egress-month.sh when NETVET_EGRESS_MONTH_OUT names a folder.
func TestWriteMonth(t *testing.T) {
	dir := os.Getenv("NETVET_EGRESS_MONTH_OUT")
	if dir == "" {
		t.Skip("set NETVET_EGRESS_MONTH_OUT to write the generated month")
	}
	m := month(t, 100, 30)
	if err := m.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "flows.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	var encErr error
	n := m.Run(func(r *flow.Record) {
		if encErr == nil {
			encErr = enc.Encode(egress.ToJSON(r))
		}
	})
	if encErr != nil {
		t.Fatal(encErr)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pl, err := json.MarshalIndent(m.Planted(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "planted.json"), append(pl, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records in %s", n, dir)
}
