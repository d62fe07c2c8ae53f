package inventory

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// slowDate is parseDateLoose without its fast path.
func slowDate(s string) (Date, error) {
	var t time.Time
	var err error
	if len(s) > 10 {
		t, err = time.Parse(time.RFC3339Nano, s)
		if err == nil {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
	} else {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	if y := t.Year(); y < 1900 || y > 2199 {
		return Date{}, fmt.Errorf("%s: year %d is outside 1900..2199", s, y)
	}
	return Date{t}, nil
}

func TestParseDateFastPathAgrees(t *testing.T) {
	var in []string
	for _, y := range []string{"0000", "1899", "1900", "1999", "2000", "2023", "2024", "2100", "2199", "2200", "9999", "+024", "20x4"} {
		for m := -1; m <= 13; m++ {
			for _, d := range []string{"00", "01", "28", "29", "30", "31", "32", "1", "-1", "a1"} {
				in = append(in, fmt.Sprintf("%s-%02d-%s", y, m, d))
			}
		}
	}
	in = append(in, "", "2024-01-01T00:00:00Z", "2024/01/01", "2024-01-0１", "2024-0101-", "20240101", "2024-01-01 ")
	for _, s := range in {
		got, gerr := parseDateLoose(s)
		want, werr := slowDate(s)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !got.Equal(want.Time) || got.Location() != want.Location() || got != want {
			t.Errorf("%q: got %v, %v; want %v, %v", s, got, gerr, want, werr)
		}
	}
}

// TestSiteTableFull loads more distinct sites than the site table holds,
// and checks every element keeps its own site.
func TestSiteTableFull(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("id,vendor,domain,site\n")
	n := maxInternedKeys + 500
	for i := range n {
		fmt.Fprintf(&sb, "e%d,Nokia,ran,S%d\n", i, i/2)
	}
	inv, err := LoadCSV(strings.NewReader(sb.String()), "sites.csv", LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Elements) != n {
		t.Fatalf("%d elements, want %d", len(inv.Elements), n)
	}
	for i, e := range inv.Elements {
		if want := fmt.Sprintf("S%d", i/2); e.Site != want || e.ID != fmt.Sprintf("e%d", i) || e.Origin != fmt.Sprintf("sites.csv:%d", i+2) {
			t.Fatalf("element %d: id %q site %q origin %q", i, e.ID, e.Site, e.Origin)
		}
	}
}

func TestEstimateRows(t *testing.T) {
	for _, c := range []struct {
		n      int
		read   int64
		unread int
		want   int
	}{
		{0, 0, 100, 0},
		{1024, 102400, 0, 0},
		{1024, 102400, 1000000, 10000 + 500},
		{1024, 1024, 3200, 100 + 5}, // rows under 32 bytes count as 32
	} {
		if got := estimateRows(c.n, c.read, c.unread); got != c.want {
			t.Errorf("estimateRows(%d, %d, %d) = %d, want %d", c.n, c.read, c.unread, got, c.want)
		}
	}
}
