package firmware

// This file holds the model of a scan report: what `netvet firmware scan`
// finds, in the shape every renderer (text, JSON, SARIF, CycloneDX, SPDX,
// HTML) reads. It lives here, apart from the scan pipeline, so that the
// renderers and their tests do not link the SBOM and vulnerability engines.

// Location is where a component or binary was seen.
type Location struct {
	Path   string `json:"path"`              // manifest path of the file
	FSPath string `json:"fs_path,omitempty"` // path inside its filesystem
	Offset int64  `json:"offset"`            // byte offset of the evidence; -1 for the whole file
	// Evidence says how the component was recognised: the version string
	// matched, the package database entry, the file name.
	Evidence string `json:"evidence"`
}

// Component is one software component found in the image.
type Component struct {
	// ID is stable for the same image: a BOM reference derived from the
	// package URL (or name and version) and the first location.
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Type is the CycloneDX component type: library, application,
	// operating-system, firmware, file.
	Type string `json:"type"`
	// Ecosystem is how it was catalogued: binary, opkg, deb, apk, rpm,
	// linux-kernel, linux-kernel-module, python, ...
	Ecosystem string   `json:"ecosystem"`
	PURL      string   `json:"purl,omitempty"`
	CPEs      []string `json:"cpes,omitempty"`
	Licenses  []string `json:"licenses,omitempty"`
	Supplier  string   `json:"supplier,omitempty"`
	// FoundBy names the detector (a syft cataloger or a netvet detector).
	FoundBy   string     `json:"found_by"`
	Locations []Location `json:"locations"`
	// EndOfLife is the date upstream support ended (YYYY-MM-DD) when the
	// version is past it.
	EndOfLife string `json:"end_of_life,omitempty"`
}

// CVSS is one CVSS score of a vulnerability.
type CVSS struct {
	Version string  `json:"version"`
	Vector  string  `json:"vector"`
	Score   float64 `json:"score"`
	Source  string  `json:"source,omitempty"`
}

// Vulnerability is a known vulnerability matched to a component.
type Vulnerability struct {
	ID       string   `json:"id"` // CVE-2023-48795, GHSA-…
	Aliases  []string `json:"aliases,omitempty"`
	Severity Severity `json:"severity"`
	CVSS     []CVSS   `json:"cvss,omitempty"`
	// Component is the ID of the affected component.
	Component        string `json:"component"`
	ComponentName    string `json:"component_name"`
	ComponentVersion string `json:"component_version"`
	// FixedIn lists versions that fix it; FixState is fixed, not-fixed,
	// wont-fix or unknown.
	FixedIn  []string `json:"fixed_in,omitempty"`
	FixState string   `json:"fix_state,omitempty"`
	// MatchType says how the match was made (cpe-match, exact-direct-match,
	// exact-indirect-match) and MatchedOn the CPE or package it used.
	MatchType   string       `json:"match_type"`
	MatchedOn   string       `json:"matched_on,omitempty"`
	Constraint  string       `json:"constraint,omitempty"` // the affected version range
	Description string       `json:"description,omitempty"`
	URLs        []string     `json:"urls,omitempty"`
	KEV         bool         `json:"known_exploited,omitempty"`
	EPSS        float64      `json:"epss,omitempty"`
	Disposition *Disposition `json:"disposition,omitempty"`
}

// Binary is the hardening profile of one ELF file.
type Binary struct {
	Path    string `json:"path"`
	FSPath  string `json:"fs_path,omitempty"`
	Machine string `json:"machine"` // MIPS, ARM, AArch64, PowerPC, x86-64, ...
	Class   int    `json:"class"`   // 32 or 64
	Endian  string `json:"endian"`  // little or big
	Type    string `json:"type"`    // exec, dyn (shared object or PIE), rel (kernel module)
	NX      bool   `json:"nx"`
	PIE     bool   `json:"pie"`
	// RELRO is none, partial or full.
	RELRO   string `json:"relro"`
	Canary  bool   `json:"canary"`
	Fortify bool   `json:"fortify"`
	// RPath and RunPath are the DT_RPATH and DT_RUNPATH strings.
	RPath    string   `json:"rpath,omitempty"`
	RunPath  string   `json:"runpath,omitempty"`
	Stripped bool     `json:"stripped"`
	Static   bool     `json:"static"`
	Imports  []string `json:"dangerous_imports,omitempty"`
}

// BinaryReporter is implemented by the Reporter an analyser gets when the
// caller wants per-binary hardening profiles; the ELF analyser
// type-asserts for it.
type BinaryReporter interface {
	Binary(Binary)
}

// HardeningSummary gives image-wide percentages over executable ELF files.
type HardeningSummary struct {
	Binaries int     `json:"binaries"`
	NX       float64 `json:"nx_pct"`
	PIE      float64 `json:"pie_pct"`
	RELRO    float64 `json:"full_relro_pct"`
	Canary   float64 `json:"canary_pct"`
	Fortify  float64 `json:"fortify_pct"`
	Stripped float64 `json:"stripped_pct"`
}

// AnalyzerRun records how one analyser went.
type AnalyzerRun struct {
	Name     string `json:"name"`
	Findings int    `json:"findings"`
	Error    string `json:"error,omitempty"`
}

// Database describes the vulnerability database a scan used.
type Database struct {
	Path          string `json:"path"`
	SchemaVersion string `json:"schema_version"`
	Built         string `json:"built"` // RFC 3339 UTC
	Checksum      string `json:"checksum,omitempty"`
}

// Counts holds counts by severity.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Info     int `json:"info"`
	Unknown  int `json:"unknown,omitempty"`
}

// Add counts one item of severity s.
func (c *Counts) Add(s Severity) {
	switch s {
	case SeverityCritical:
		c.Critical++
	case SeverityHigh:
		c.High++
	case SeverityMedium:
		c.Medium++
	case SeverityLow:
		c.Low++
	case SeverityInfo:
		c.Info++
	default:
		c.Unknown++
	}
}

// Summary is the short account of a scan.
type Summary struct {
	// Verdict is "fail" when an undispositioned finding or vulnerability is
	// high or critical, "review" when one is medium, else "pass".
	Verdict         string `json:"verdict"`
	Findings        Counts `json:"findings"`
	Vulnerabilities Counts `json:"vulnerabilities"`
	Components      int    `json:"components"`
	Dispositioned   int    `json:"dispositioned"`
}

// UnpackInfo is what the report keeps of the unpack run.
type UnpackInfo struct {
	Complete bool     `json:"complete"`
	Errors   []string `json:"errors,omitempty"`
	Files    int64    `json:"files"`
	Chunks   int64    `json:"chunks"`
	Bytes    int64    `json:"bytes_written"`
}

// ImageRef identifies the scanned image.
type ImageRef struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ScanReport is the full result of a firmware scan: the stable JSON contract.
// Every slice is sorted so that the same image and database give the same
// bytes.
type ScanReport struct {
	Tool    string   `json:"tool"`
	Version string   `json:"version"`
	Image   ImageRef `json:"image"`
	// AsOf is the date (YYYY-MM-DD) that expiry and end-of-life checks
	// were made against: the --at flag, or the day of the scan.
	AsOf      string        `json:"as_of"`
	Summary   Summary       `json:"summary"`
	Unpack    UnpackInfo    `json:"unpack"`
	Analyzers []AnalyzerRun `json:"analyzers"`
	// Database is nil when vulnerability matching was skipped; Notes says why.
	Database        *Database        `json:"database"`
	Notes           []string         `json:"notes,omitempty"`
	Components      []Component      `json:"components"`
	Vulnerabilities []Vulnerability  `json:"vulnerabilities"`
	Findings        []Finding        `json:"findings"`
	Hardening       HardeningSummary `json:"hardening"`
	Binaries        []Binary         `json:"binaries"`
	// Rules lists the rules that produced at least one finding.
	Rules []Rule `json:"rules"`
	// VEX lists the disposition documents applied.
	VEX []string `json:"vex,omitempty"`
}
