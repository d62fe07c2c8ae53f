package egress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// feedDay sends gnb-1 one flow an hour to 45.0.0.9 (not allowlisted) and
// to 10.30.0.5 (allowed) over one day starting at start.
func feedDay(p *Pipeline, start time.Time) {
	for h := 0; h < 24; h++ {
		at := start.Add(time.Duration(h) * time.Hour)
		p.Add(rec("10.9.0.1", "10.1.0.1", "45.0.0.9", 443, 6, at, 1000))
		p.Add(rec("10.9.0.1", "10.1.0.1", "10.30.0.5", 443, 6, at.Add(time.Minute), 500))
	}
}

func TestHistoryAcrossRuns(t *testing.T) {
	// Run 1: day 1.
	p1 := testPipeline(t, nil)
	feedDay(p1, t0)
	p1.Finish()
	h1 := p1.History()
	if len(h1.Pairs) != 2 || !h1.Updated.Equal(t0.Add(23*time.Hour+time.Minute+time.Second)) {
		t.Fatalf("history after run 1: %+v", h1)
	}
	var buf bytes.Buffer
	if err := h1.Write(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := ReadHistory("h.jsonl", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}

	// Run 2: day 3 only, with the history of run 1.
	day3 := t0.Add(48 * time.Hour)
	p2 := testPipeline(t, func(c *Config) { c.History = loaded })
	feedDay(p2, day3)
	alerts := p2.Finish()
	var found bool
	for _, a := range alerts {
		if a.Rule == RuleNotAllowlisted && a.Destination.Address == "45.0.0.9" {
			found = true
			if !a.KnownSince.Equal(t0) {
				t.Errorf("known_since = %s, want %s (run 1's first flow)", a.KnownSince, t0)
			}
			if !strings.Contains(a.Text(), "known_since=2026-03-02T00:00:00Z") {
				t.Errorf("text lacks known_since: %s", a.Text())
			}
		}
	}
	if !found {
		t.Fatal("no not-allowlisted alert in run 2")
	}
	// Nothing is new since day 3 began: both pairs were seen on day 1.
	r := p2.Report(day3, 10)
	if len(r.Elements) != 1 || len(r.Elements[0].New) != 0 {
		t.Errorf("report lists new destinations despite the history: %+v", r.Elements)
	}
	// Without history both are new.
	p3 := testPipeline(t, nil)
	feedDay(p3, day3)
	p3.Finish()
	if r := p3.Report(day3, 10); len(r.Elements[0].New) != 2 {
		t.Errorf("without history: %d new, want 2", len(r.Elements[0].New))
	}

	// The merged history keeps run 1's first and run 2's last.
	h2 := p2.History()
	for _, hp := range h2.Pairs {
		if !hp.First.Before(t0.Add(2*time.Minute)) || hp.Last.Before(day3) {
			t.Errorf("merged pair %+v", hp)
		}
	}
	// Idempotent: replaying run 2 again with h2 gives the same bytes.
	p4 := testPipeline(t, func(c *Config) { c.History = h2 })
	feedDay(p4, day3)
	p4.Finish()
	var a, b bytes.Buffer
	h2.Write(&a)
	p4.History().Write(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("history changed on replaying the same data:\n%s\n%s", a.String(), b.String())
	}
}

func TestReadHistoryErrors(t *testing.T) {
	hdr := `{"format":"netvet-egress-history","version":1,"updated":"2026-03-02T00:00:00Z"}` + "\n"
	pair := `{"element":"gnb-1","dst":"45.0.0.9","first_seen":"2026-03-02T00:00:00Z","last_seen":"2026-03-03T00:00:00Z"}` + "\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "h: empty history file"},
		{"not history", `{"format":"other"}` + "\n", "h: line 1: not a netvet egress history"},
		{"version", `{"format":"netvet-egress-history","version":9}` + "\n", "h: line 1: history version 9"},
		{"bad json", hdr + "{\n", "h: line 2:"},
		{"bad dst", hdr + `{"element":"e","dst":"nope","first_seen":"2026-03-02T00:00:00Z","last_seen":"2026-03-02T00:00:00Z"}` + "\n", "h: line 2:"},
		{"no dst", hdr + `{"element":"e","first_seen":"2026-03-02T00:00:00Z","last_seen":"2026-03-02T00:00:00Z"}` + "\n", "h: line 2: bad destination"},
		{"order", hdr + `{"element":"e","dst":"45.0.0.9","first_seen":"2026-03-03T00:00:00Z","last_seen":"2026-03-02T00:00:00Z"}` + "\n", "h: line 2: first_seen missing or after last_seen"},
		{"no element", hdr + `{"dst":"45.0.0.9","first_seen":"2026-03-02T00:00:00Z","last_seen":"2026-03-02T00:00:00Z"}` + "\n", "h: line 2: element id empty"},
		{"dup", hdr + pair + pair, "h: line 3: pair gnb-1 → 45.0.0.9 listed twice"},
		{"long line", hdr + strings.Repeat(" ", 17000) + "\n", "h: line 2: longer than 16384 bytes"},
	} {
		_, err := ReadHistory("h", strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ~%q", tc.name, err, tc.want)
		}
	}
	h, err := ReadHistory("h", strings.NewReader(hdr+pair))
	if err != nil || len(h.Pairs) != 1 {
		t.Fatalf("good history: %v %+v", err, h)
	}
}

func TestLoadHistoryMissingAndSave(t *testing.T) {
	path := t.TempDir() + "/h.jsonl"
	h, err := LoadHistory(path)
	if err != nil || len(h.Pairs) != 0 {
		t.Fatalf("missing file: %v %+v", err, h)
	}
	p := testPipeline(t, nil)
	feedDay(p, t0)
	if err := p.History().Save(path); err != nil {
		t.Fatal(err)
	}
	h, err = LoadHistory(path)
	if err != nil || len(h.Pairs) != 2 {
		t.Fatalf("reload: %v %+v", err, h)
	}
}

func FuzzReadHistory(f *testing.F) {
	f.Add([]byte(`{"format":"netvet-egress-history","version":1,"updated":"2026-03-02T00:00:00Z"}` + "\n" +
		`{"element":"gnb-1","dst":"45.0.0.9","first_seen":"2026-03-02T00:00:00Z","last_seen":"2026-03-03T00:00:00Z"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHistory("f", bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := h.Write(&buf); err != nil {
			t.Fatal(err)
		}
		h2, err := ReadHistory("f2", bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("re-reading written history: %v", err)
		}
		var buf2 bytes.Buffer
		h2.Write(&buf2)
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatal("history not stable across write/read")
		}
	})
}

// Volume baselines survive a restart through the history: three weeks
// learnt in run 1 let run 2 judge its first hour.
func TestHistoryKeepsBaselines(t *testing.T) {
	day := 24 * time.Hour
	p1 := testPipeline(t, nil)
	for d := 0; d < 21; d++ {
		p1.Add(rec("10.9.0.1", "10.1.0.1", "10.30.0.5", 443, 6, t0.Add(time.Duration(d)*day+10*time.Hour), 1_000_000))
	}
	p1.Finish()
	var buf bytes.Buffer
	if err := p1.History().Write(&buf); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHistory("h", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Volume) != 1 || h.Volume[0].Element != "gnb-1" {
		t.Fatalf("volume baselines in history: %+v", h.Volume)
	}
	jump := rec("10.9.0.1", "10.1.0.1", "10.30.0.5", 443, 6, t0.Add(21*day+10*time.Hour), 60_000_000)
	volume := func(alerts []Alert) int {
		n := 0
		for _, a := range alerts {
			if a.Rule == RuleVolume {
				n++
			}
		}
		return n
	}
	p2 := testPipeline(t, func(c *Config) { c.History = h })
	p2.Add(jump)
	if n := volume(p2.Finish()); n != 1 {
		t.Errorf("with history: %d volume alerts, want 1", n)
	}
	p3 := testPipeline(t, nil)
	p3.Add(jump)
	if n := volume(p3.Finish()); n != 0 {
		t.Errorf("without history: %d volume alerts, want 0 (warming up)", n)
	}
}
