// Package equiv compares two firmware builds: the image an evaluation lab
// reviewed and the image an operator runs. Both are unpacked, their objects
// are matched by path (files by their path inside the filesystem they come
// from), and every object is classified as identical, equivalent after
// normalisation (with the name of every normalisation applied and the byte
// spans it masked), or different (with the reason: content, ELF sections,
// TLSH distance, a unified diff for text, metadata). Security-relevant
// changes are reported as findings: a new set-user-ID file, a new or
// changed init script, a new listening daemon, a changed authorized_keys,
// a changed account database.
//
// Normalisations are cautious: a byte span is masked only where a strict
// pattern matches on both sides, masks keep their length so offsets stay
// meaningful, and each masked span is reported so that a lab can check it
// by hand.
package equiv

import (
	"log/slog"

	"github.com/netvet/netvet/internal/firmware"
)

// Verdict is the outcome of a comparison.
type Verdict string

const (
	// VerdictIdentical: the two images are the same bytes.
	VerdictIdentical Verdict = "bit-identical"
	// VerdictEquivalent: every object is identical or equivalent after the
	// normalisations the report names.
	VerdictEquivalent Verdict = "equivalent"
	// VerdictDifferent: at least one object differs, was added or removed.
	VerdictDifferent Verdict = "different"
	// VerdictIncomplete: nothing was found to differ, but some objects could
	// not be compared (their bytes were not available); equivalence is not
	// shown.
	VerdictIncomplete Verdict = "incomplete"
)

// Status classifies one object.
type Status string

const (
	StatusIdentical  Status = "identical"
	StatusEquivalent Status = "equivalent"
	StatusDifferent  Status = "different"
	StatusAdded      Status = "added"
	StatusRemoved    Status = "removed"
	StatusUnverified Status = "unverified"
)

// Normalisation names. Each names one known source of build
// non-determinism that the comparison removed before it compared again.
const (
	NormMTime        = "mtime"              // file-system, archive and container timestamps
	NormFileOrder    = "file-order"         // order of entries in an archive or of data in a file system
	NormCompression  = "compression"        // compression settings; decompressed content equal
	NormGzipHeader   = "gzip-header"        // gzip header modification time and file name
	NormFSLayout     = "fs-layout"          // equal entries encoded differently by a file system netvet does not parse
	NormContainerSum = "container-checksum" // container header checksums over equivalent payloads
	NormContainerLen = "container-layout"   // container header lengths and offsets of equivalent payloads
	NormBuildID      = "elf-build-id"       // ELF build ID notes
	NormBuildDate    = "build-date"         // embedded build dates and times
	NormBuildPath    = "build-path"         // absolute build folders in ELF strings and debug information
	NormBuildHost    = "build-host"         // user@host of the Linux kernel banner
)

// NormalisationInfo documents one normalisation.
type NormalisationInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Normalisations lists every normalisation netvet can apply, in the order
// reports use.
func Normalisations() []NormalisationInfo {
	return []NormalisationInfo{
		{NormMTime, "modification times of files, folders and links; file-system creation times (SquashFS); container timestamps (uImage)"},
		{NormFileOrder, "order of entries in an archive or of file data in a file system, and which of a set of hard links an archive stores first"},
		{NormCompression, "compressor, level, block size: the compressed bytes differ, the decompressed content is equal"},
		{NormGzipHeader, "gzip header modification time and original file name"},
		{NormFSLayout, "a file system netvet does not parse byte by byte (ext, JFFS2, UBIFS, ...) holds equal entries laid out differently"},
		{NormContainerSum, "checksums in a container header (uImage, TRX, CHK, SEAMA) over payloads that are equivalent but not identical"},
		{NormContainerLen, "lengths and offsets in a container header when the equivalent payloads changed size, or a container judged by its payloads only"},
		{NormBuildID, "the descriptor of an ELF .note.gnu.build-id or Go build ID note"},
		{NormBuildDate, "embedded build dates and times: __DATE__/__TIME__, date(1) and RFC 2822 dates, ISO 8601 timestamps, dates after \"built on\" and similar words"},
		{NormBuildPath, "absolute build folders (/home/USER, /builds, /build, /tmp/RANDOM, /var/lib/jenkins/workspace, ...) in ELF strings and debug information, when only the folder differs"},
		{NormBuildHost, "the user@host a Linux kernel records in its version banner"},
	}
}

func normOrder(n string) int {
	for i, x := range Normalisations() {
		if x.Name == n {
			return i
		}
	}
	return 1 << 20
}

// Options tunes a comparison.
type Options struct {
	// MaxCompareBytes caps how much of one file is read into memory to
	// normalise it, diff its ELF sections or its text. Larger files are
	// compared by hash (and TLSH, streamed) only. 0: DefaultMaxCompareBytes.
	MaxCompareBytes int64
	// MaxDiffLines caps the unified diff of one text file. 0: 200.
	MaxDiffLines int
	// MaxSpans caps the masked spans listed for one file. 0: 64.
	MaxSpans int
	// All lists identical objects in the report too.
	All    bool
	Logger *slog.Logger
	// Version is recorded in the report.
	Version string
}

// DefaultMaxCompareBytes is the default for Options.MaxCompareBytes.
const DefaultMaxCompareBytes = 64 << 20

func (o *Options) defaults() {
	if o.MaxCompareBytes <= 0 {
		o.MaxCompareBytes = DefaultMaxCompareBytes
	}
	if o.MaxDiffLines <= 0 {
		o.MaxDiffLines = 200
	}
	if o.MaxSpans <= 0 {
		o.MaxSpans = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Report is the result of a comparison: the stable JSON contract.
type Report struct {
	Tool    string       `json:"tool"`
	Version string       `json:"version"`
	A       ImageSummary `json:"a"`
	B       ImageSummary `json:"b"`
	Verdict Verdict      `json:"verdict"`
	// Differences counts the objects that differ, were added or removed.
	Differences int `json:"differences"`
	// Normalisations used, with how many objects each made equivalent.
	Normalisations []NormalisationUse `json:"normalisations"`
	Summary        Counts             `json:"summary"`
	// Roots pairs the file systems and archives of A and B.
	Roots []RootPair `json:"roots"`
	// Findings are the security-relevant changes.
	Findings []firmware.Finding `json:"findings"`
	// Changes lists every object that is not identical (every object with
	// Options.All), sorted by path.
	Changes  []Change `json:"changes"`
	Warnings []string `json:"warnings,omitempty"`
}

// ImageSummary identifies one side.
type ImageSummary struct {
	Input  string `json:"input"`
	Image  string `json:"image"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Objects is the number of objects the unpack recorded.
	Objects int `json:"objects"`
}

// NormalisationUse says how many objects a normalisation made equivalent.
type NormalisationUse struct {
	Name        string `json:"name"`
	Objects     int    `json:"objects"`
	Description string `json:"description"`
}

// Counts sums the objects by status.
type Counts struct {
	Compared   int `json:"compared"`
	Identical  int `json:"identical"`
	Equivalent int `json:"equivalent"`
	Different  int `json:"different"`
	Added      int `json:"added"`
	Removed    int `json:"removed"`
	Unverified int `json:"unverified"`
	// ChangedInside counts containers (file systems, archives, compressed
	// files, firmware containers) whose bytes differ only because of the
	// objects inside them, which are reported on their own.
	ChangedInside int `json:"changed_inside"`
}

// RootPair records how a file system or archive of A was matched to one
// of B.
type RootPair struct {
	A       string  `json:"a,omitempty"`
	B       string  `json:"b,omitempty"`
	FormatA string  `json:"format_a,omitempty"`
	FormatB string  `json:"format_b,omitempty"`
	Overlap float64 `json:"overlap"`
	// How: "path" (same place in both images), "overlap" (most shared
	// paths), or "unmatched".
	How string `json:"how"`
}

// Change is one object that is not identical.
type Change struct {
	// Path is the manifest path in B (in A for a removed object).
	Path string `json:"path"`
	// PathA is the manifest path in A when it differs from Path.
	PathA  string `json:"path_a,omitempty"`
	FSPath string `json:"fs_path,omitempty"`
	Status Status `json:"status"`
	// Type is the object's type in B (in A when removed): file, dir,
	// symlink, hardlink, chardev, blockdev, fifo, socket, chunk, region.
	Type string `json:"type"`
	// TypeA is the type in A when it changed.
	TypeA  string `json:"type_a,omitempty"`
	Format string `json:"format,omitempty"`
	// Normalisations that made the object equivalent.
	Normalisations []string `json:"normalisations,omitempty"`
	// Reasons say what differs, for people.
	Reasons  []string     `json:"reasons,omitempty"`
	Metadata []MetaChange `json:"metadata,omitempty"`
	SizeA    *int64       `json:"size_a,omitempty"`
	SizeB    *int64       `json:"size_b,omitempty"`
	SHA256A  string       `json:"sha256_a,omitempty"`
	SHA256B  string       `json:"sha256_b,omitempty"`
	// Offset is the first byte that differs (in both files), -1 when the
	// change is not about content or the content is on one side only.
	Offset int64       `json:"offset"`
	TLSH   *TLSHResult `json:"tlsh,omitempty"`
	ELF    *ELFDiff    `json:"elf,omitempty"`
	// Diff is a unified diff for text files (secrets redacted).
	Diff          string `json:"diff,omitempty"`
	DiffTruncated bool   `json:"diff_truncated,omitempty"`
	// Spans lists the masked byte spans that differed.
	Spans        []Span `json:"spans,omitempty"`
	SpansOmitted int    `json:"spans_omitted,omitempty"`
	// Security lists the rule IDs of findings about this object.
	Security []string `json:"security,omitempty"`

	key string
}

// MetaChange is one metadata field that differs.
type MetaChange struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// Span is a masked run of bytes, in A and in B.
type Span struct {
	Normalisation string `json:"normalisation"`
	// Field names a container header field, when the span is one.
	Field   string `json:"field,omitempty"`
	OffsetA int64  `json:"offset_a"`
	LengthA int64  `json:"length_a"`
	OffsetB int64  `json:"offset_b"`
	LengthB int64  `json:"length_b"`
	// A and B show the masked bytes (printable, escaped, shortened).
	A string `json:"a"`
	B string `json:"b"`
}

// TLSHResult is the TLSH distance between the two versions of a file
// (0: same; above ~100: unrelated), or why it could not be computed.
type TLSHResult struct {
	Distance *int   `json:"distance,omitempty"`
	Error    string `json:"error,omitempty"`
}

// ELFDiff says which parts of an ELF file differ.
type ELFDiff struct {
	// Changed lists the classes with a changed section: code, rodata,
	// data, other, header.
	Changed  []string      `json:"changed"`
	Sections []SectionDiff `json:"sections"`
	Error    string        `json:"error,omitempty"`
}

// SectionDiff is one ELF section (or header table) that differs.
type SectionDiff struct {
	Name  string `json:"name"`
	Class string `json:"class"` // code, rodata, data, other, header
	// Status: changed, resized, added, removed.
	Status string `json:"status"`
	SizeA  uint64 `json:"size_a"`
	SizeB  uint64 `json:"size_b"`
	// OffsetB and Addr locate the section in B's file and memory.
	OffsetB uint64 `json:"offset_b"`
	Addr    uint64 `json:"addr"`
	// BytesDiffer counts differing bytes when the sizes are equal.
	BytesDiffer int64 `json:"bytes_differ,omitempty"`
	// FirstDiff is the first differing byte, as an offset into the section
	// (-1 when not computed).
	FirstDiff int64 `json:"first_diff"`
}

func (s Status) differs() bool {
	return s == StatusDifferent || s == StatusAdded || s == StatusRemoved
}
