package detect

import (
	"sort"
	"time"
)

// eolSeries is the support calendar of one product: the end of upstream
// support of each release branch.
type eolSeries struct {
	// fields is how many leading version fields name a branch: 2 for
	// "4.14", 3 for OpenSSL's "1.0.2" before 3.0 (see branch).
	fields int
	// source names where the dates come from.
	source string
	// bounded: the table lists every long-term branch from its oldest
	// entry on, so a branch missing between two entries is a short-lived
	// one, whose support ended before that of any later branch (the
	// earliest end among later entries bounds it), and a branch older than
	// the oldest entry ended no later than that long-term branch. True for
	// the Linux kernel, whose non-LTS branches end soon after their
	// successor is released.
	bounded bool
	// branches, oldest first. eol "" means still supported.
	branches []eolBranch
}

type eolBranch struct{ branch, eol string }

// eolTable holds the products whose projects publish a support calendar.
// BusyBox, dropbear, dnsmasq, hostapd, curl and the C libraries publish
// none (only their latest release is maintained), so they are not listed:
// their age shows through their vulnerabilities instead.
var eolTable = map[string]eolSeries{
	"openssl": {
		fields: 2, // 3.x and later; 0.9.8 to 1.1.1 use three fields, see branch
		source: "OpenSSL release strategy (openssl-library.org/policies/releasestrat), as collected by endoflife.date",
		branches: []eolBranch{
			{"0.9.8", "2015-12-31"}, {"1.0.0", "2015-12-31"}, {"1.0.1", "2016-12-31"},
			{"1.0.2", "2019-12-31"}, {"1.1.0", "2019-09-11"}, {"1.1.1", "2023-09-11"},
			{"3.0", "2026-09-07"}, {"3.1", "2025-03-14"}, {"3.2", "2025-11-23"},
			{"3.3", "2026-04-09"}, {"3.4", "2026-10-22"}, {"3.5", "2030-04-08"},
			{"3.6", "2026-11-01"}, {"4.0", "2027-05-14"},
		},
	},
	"linux-kernel": {
		fields:  2,
		bounded: true,
		source:  "kernel.org releases page and stable maintainers' end-of-life announcements, as collected by endoflife.date",
		branches: []eolBranch{
			{"4.9", "2023-01-07"}, {"4.14", "2024-01-10"}, {"4.19", "2024-12-05"},
			{"5.4", "2025-12-03"}, {"5.10", "2026-12-31"}, {"5.11", "2021-05-19"},
			{"5.12", "2021-07-20"}, {"5.13", "2021-09-18"}, {"5.14", "2021-11-21"},
			{"5.15", "2026-12-31"}, {"5.16", "2022-04-13"}, {"5.17", "2022-06-14"},
			{"5.18", "2022-08-21"}, {"5.19", "2022-10-24"}, {"6.0", "2023-01-12"},
			{"6.1", "2027-12-31"}, {"6.2", "2023-05-17"}, {"6.3", "2023-07-11"},
			{"6.4", "2023-09-13"}, {"6.5", "2023-11-28"}, {"6.6", "2027-12-31"},
			{"6.7", "2024-04-03"}, {"6.8", "2024-05-30"}, {"6.9", "2024-07-27"},
			{"6.10", "2024-10-10"}, {"6.11", "2024-12-05"}, {"6.12", "2028-12-31"},
			{"6.13", "2025-04-20"}, {"6.14", "2025-06-10"}, {"6.15", "2025-08-20"},
			{"6.16", "2025-10-12"}, {"6.17", "2025-12-18"}, {"6.18", "2028-12-31"},
			{"6.19", "2026-04-22"}, {"7.0", "2026-06-27"}, {"7.1", ""}, {"7.2", ""},
		},
	},
	"openvpn": {
		fields: 2,
		source: "OpenVPN community wiki, SupportedVersions (end of old-stable support), as collected by endoflife.date",
		branches: []eolBranch{
			{"2.1", "2011-11-30"}, {"2.2", "2015-11-30"}, {"2.3", "2021-06-30"},
			{"2.4", "2023-03-31"}, {"2.5", "2025-07-31"}, {"2.6", "2028-08-31"}, {"2.7", ""},
		},
	},
	"openwrt": {
		fields: 2,
		source: "OpenWrt release support policy (a release is maintained until six months after its successor, at least one year), as collected by endoflife.date",
		branches: []eolBranch{
			{"17.01", "2019-02-01"}, {"18.06", "2021-07-01"}, {"19.07", "2022-04-30"},
			{"21.02", "2023-04-30"}, {"22.03", "2024-04-11"}, {"23.05", "2025-08-16"},
			{"24.10", "2026-09-05"}, {"25.12", ""},
		},
	},
}

// EOL is the end of support found for one version.
type EOL struct {
	Branch string // the release branch, e.g. "1.0.2"
	Date   string // YYYY-MM-DD
	// bound: the branch is not in the table and date is the latest day
	// its support can have ended (see eolSeries.bounded).
	Bound  bool
	Source string
}

// EndOfLife returns when upstream support of product at version ended or
// ends. ok is false when the product has no calendar, the version names no
// branch, or the branch is unknown or still supported with no end date.
func EndOfLife(product, version string) (EOL, bool) {
	s, found := eolTable[product]
	if !found {
		return EOL{}, false
	}
	up := UpstreamVersion(version)
	if up == "" {
		return EOL{}, false
	}
	fields := s.fields
	if product == "openssl" && CompareVersions(up, "3") < 0 {
		fields = 3
	}
	br := branchOf(up, fields)
	if br == "" {
		return EOL{}, false
	}
	for _, b := range s.branches {
		if b.branch == br {
			if b.eol == "" {
				return EOL{}, false
			}
			return EOL{Branch: br, Date: b.eol, Source: s.source}, true
		}
	}
	if !s.bounded {
		return EOL{}, false
	}
	sorted := append([]eolBranch(nil), s.branches...)
	sort.Slice(sorted, func(i, j int) bool { return CompareVersions(sorted[i].branch, sorted[j].branch) < 0 })
	if CompareVersions(br, sorted[0].branch) < 0 {
		// Older than every listed branch: the oldest listed one is a
		// long-term branch that outlived all before it.
		if sorted[0].eol == "" {
			return EOL{}, false
		}
		return EOL{Branch: br, Date: sorted[0].eol, Bound: true, Source: s.source}, true
	}
	// A gap between listed branches is a short-lived branch, whose support
	// ends before that of any later branch.
	bound := ""
	for _, b := range sorted {
		if CompareVersions(b.branch, br) > 0 && b.eol != "" && (bound == "" || b.eol < bound) {
			bound = b.eol
		}
	}
	if bound == "" || CompareVersions(br, sorted[len(sorted)-1].branch) > 0 {
		return EOL{}, false
	}
	return EOL{Branch: br, Date: bound, Bound: true, Source: s.source}, true
}

// PastEndOfLife reports whether the end-of-life date is before now (a
// branch is supported through its last day).
func PastEndOfLife(date string, now time.Time) bool {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return false
	}
	return now.UTC().After(t.Add(24*time.Hour - time.Nanosecond))
}
