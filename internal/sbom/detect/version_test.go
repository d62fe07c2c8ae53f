package detect

import (
	"strings"
	"testing"
	"time"
)

func TestUpstreamVersion(t *testing.T) {
	cases := map[string]string{
		"1.36.1-1":                    "1.36.1",
		"2022.82-5":                   "2022.82",
		"3.0.13-1":                    "3.0.13",
		"1:1.35.0-4+deb12u1+b1":       "1.35.0",
		"2:2.10-12+deb12u3":           "2.10",
		"2.90-4~deb12u2":              "2.90",
		"4.17.12+dfsg-0+deb12u4":      "4.17.12",
		"1.0.2k":                      "1.0.2k",
		"1.0.2k-fips":                 "1.0.2k",
		"1.1.1w-1":                    "1.1.1w",
		"5.15.137-1-7e1b8fc0a5d2f0c4": "5.15.137",
		"2.11-devel":                  "2.11",
		"0.94.14rc21":                 "0.94.14rc21",
		"1.36.1-r0":                   "1.36.1",
		"2023-09-08-e5ccbfc6-6":       "",
		"git-23.051.66410-a505bb1":    "",
		"":                            "",
		"snapshot":                    "",
		"1.2.3 ":                      "1.2.3",
		strings.Repeat("1.", 100):     "",
	}
	for in, want := range cases {
		if got := UpstreamVersion(in); got != want {
			t.Errorf("UpstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.10", "1.9", 1},
		{"1.0.2k", "1.0.2", 1},
		{"1.0.2k", "1.0.2l", -1},
		{"2022.83", "2022.82", 1},
		{"1.36.1", "1.36.1", 0},
		{"4.14", "4.9", 1},
		{"007", "7", 0},
		{"1.0", "1.0rc1", -1}, // a suffix sorts after, as OpenSSL's letter releases do
		{"3", "3.0", -1},
		{"", "", 0},
		{"a", "", 1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestBranchOf(t *testing.T) {
	cases := []struct {
		v    string
		n    int
		want string
	}{
		{"4.14.180", 2, "4.14"},
		{"1.0.2k", 3, "1.0.2"},
		{"3.0.13", 2, "3.0"},
		{"23.05.2", 2, "23.05"},
		{"5", 2, ""},
		{"a.b", 2, ""},
		{"1.x", 2, ""},
	}
	for _, c := range cases {
		if got := branchOf(c.v, c.n); got != c.want {
			t.Errorf("branchOf(%q, %d) = %q, want %q", c.v, c.n, got, c.want)
		}
	}
}

func TestEndOfLife(t *testing.T) {
	cases := []struct {
		product, version string
		date             string // "" for no end of life known
		bound            bool
	}{
		{"openssl", "1.0.2k", "2019-12-31", false},
		{"openssl", "1.0.2u-1", "2019-12-31", false},
		{"openssl", "1.1.1w", "2023-09-11", false},
		{"openssl", "3.0.13", "2026-09-07", false},
		{"openssl", "3.5.0", "2030-04-08", false},
		{"openssl", "0.9.7m", "", false}, // older than the calendar: not bounded
		{"linux-kernel", "4.14.180", "2024-01-10", false},
		{"linux-kernel", "5.15.137", "2026-12-31", false},
		{"linux-kernel", "4.15.0", "2021-05-19", true}, // short-lived: ended before 5.11, the earliest later end listed
		{"linux-kernel", "3.10.14", "2023-01-07", true},
		{"linux-kernel", "2.6.36", "2023-01-07", true},
		{"linux-kernel", "7.1.3", "", false},
		{"linux-kernel", "9.0", "", false},
		{"openvpn", "2.4.7", "2023-03-31", false},
		{"openwrt", "23.05.2", "2025-08-16", false},
		{"openwrt", "25.12.0", "", false},
		{"busybox", "1.36.1", "", false},
		{"openssl", "snapshot", "", false},
	}
	for _, c := range cases {
		r, ok := EndOfLife(c.product, c.version)
		if c.date == "" {
			if ok {
				t.Errorf("%s %s: end of life %+v, want none", c.product, c.version, r)
			}
			continue
		}
		if !ok || r.Date != c.date || r.Bound != c.bound || r.Source == "" {
			t.Errorf("%s %s: got %+v %v, want %s bound=%v", c.product, c.version, r, ok, c.date, c.bound)
		}
	}
}

// The calendar is ordered and well formed.
func TestEOLTable(t *testing.T) {
	for prod, s := range eolTable {
		for i, b := range s.branches {
			if b.eol != "" {
				if _, err := time.Parse(time.DateOnly, b.eol); err != nil {
					t.Errorf("%s %s: %v", prod, b.branch, err)
				}
			}
			if i > 0 && CompareVersions(s.branches[i-1].branch, b.branch) >= 0 {
				t.Errorf("%s: %s listed after %s", prod, b.branch, s.branches[i-1].branch)
			}
		}
		if _, ok := products[prod]; !ok {
			t.Errorf("%s has a calendar but no product entry", prod)
		}
	}
}

func TestPastEndOfLife(t *testing.T) {
	day := time.Date(2019, 12, 31, 23, 59, 0, 0, time.UTC)
	if PastEndOfLife("2019-12-31", day) {
		t.Error("the last day of support is not past it")
	}
	if !PastEndOfLife("2019-12-31", day.Add(time.Hour)) {
		t.Error("the day after is past it")
	}
	if PastEndOfLife("not a date", day) {
		t.Error("a bad date is never past")
	}
}
