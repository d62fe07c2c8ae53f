package detect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
)

// scope says which files a detector reads.
type scope uint8

const (
	// scopeELF: ELF executables and libraries.
	scopeELF scope = 1 << iota
	// scopeBlob: kernel and boot loader candidates that are not ELF: blobs
	// outside any filesystem (decompressed kernels, carved partitions)
	// and kernel-looking files inside one (/boot/*, zImage, uImage, ...).
	scopeBlob
)

// detector finds one component by a version string inside a file. The
// match starts at a literal anchor; re is anchored there and its first
// submatch is the version.
type detector struct {
	name    string // canonical component name (see products)
	foundBy string
	anchor  []byte
	re      *regexp.Regexp
	scope   scope
	// skip, when set, rules a file out by its base name.
	skip func(base string) bool
	// reject, when set, rules out a match by the bytes just before it
	// (at most lookBehind of them).
	reject func(before []byte) bool
	// confirm, when set, must also occur somewhere in the file for a
	// match to count: it tells a copy of a library from a program that
	// only quotes the version of the headers it was built with.
	confirm [][]byte
}

// markerDetector recognises a program by a string that carries no version
// (a printf format such as "hostapd v%s") and then takes its version from
// the one release-looking string stored on its own in the file.
type markerDetector struct {
	name    string
	foundBy string
	marker  []byte
	// version matches a whole NUL-terminated string that is a release.
	version *regexp.Regexp
}

// nameDetector recognises a library by its file name, e.g.
// libuClibc-0.9.33.2.so; the first submatch, if any, is the version.
type nameDetector struct {
	name    string
	foundBy string
	re      *regexp.Regexp
	// product picks the canonical name from the version when one file
	// name stands for two projects (uClibc and uClibc-ng).
	product func(version string) string
}

const (
	// window is how much of a file is searched at a time.
	window = 1 << 20
	// span is the longest match a detector may make; windows overlap by
	// this much so that no match is cut.
	span = 512
	// lookBehind is how many bytes before a match reject may see.
	lookBehind = 32
	// maxAnchorHits bounds the regexp work per file: a file made of
	// millions of anchors is searched no further.
	maxAnchorHits = 200_000
	// maxEvidence bounds the matched text kept as evidence.
	maxEvidence = 200
)

// hit is one component found in one file.
type hit struct {
	det     *detector // nil for marker and name finds
	name    string
	foundBy string
	version string
	offset  int64
	text    string
}

// ErrTooManyAnchors stops a scan that met more anchors than maxAnchorHits.
var ErrTooManyAnchors = errors.New("too many candidate version strings")

// scanContent searches r (size bytes, read up to max) with the detectors
// and returns the first match of every (component, version) pair, by
// offset. buf is scratch space of at least window+span bytes.
func scanContent(ctx context.Context, r io.Reader, max int64, dets []*detector, markers []*markerDetector, buf []byte) ([]hit, []markerHit, error) {
	type key struct{ name, version string }
	found := map[key]hit{}
	var order []key
	var marks []markerHit
	seenMarker := map[string]bool{}
	confirmed := map[*detector]bool{}
	anchorHits := 0

	var base int64 // file offset of buf[0]
	carry := 0     // bytes at buf[0:carry] kept from the previous window
	start := 0     // buf[:start] was searched already; kept for reject
	var read int64
	eof := false
	for !eof {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		want := len(buf) - carry
		if rem := max - read; int64(want) > rem {
			want = int(rem)
		}
		n := 0
		if want > 0 {
			var err error
			n, err = io.ReadFull(r, buf[carry:carry+want])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				eof = true
			} else if err != nil {
				return nil, nil, err
			}
		}
		read += int64(n)
		if read >= max || want == 0 {
			eof = true
		}
		data := buf[:carry+n]
		// Positions in the last span bytes are searched with the next
		// window, unless this is the last one.
		limit := len(data)
		if !eof && limit > span {
			limit -= span
		}
		for _, d := range dets {
			for from := start; from < limit; {
				i := bytes.Index(data[from:], d.anchor)
				if i < 0 || from+i >= limit {
					break
				}
				p := from + i
				from = p + 1
				anchorHits++
				if anchorHits > maxAnchorHits {
					return hitsOf(found, order, confirmed), marks, ErrTooManyAnchors
				}
				if d.reject != nil && d.reject(data[max0(p-lookBehind):p]) {
					continue
				}
				end := p + span
				if end > len(data) {
					end = len(data)
				}
				m := d.re.FindSubmatchIndex(data[p:end])
				if m == nil || m[2] < 0 {
					continue
				}
				k := key{d.name, string(data[p+m[2] : p+m[3]])}
				if _, dup := found[k]; dup {
					continue
				}
				found[k] = hit{
					det: d, name: d.name, foundBy: d.foundBy, version: k.version,
					offset: base + int64(p), text: Printable(evidenceString(data[p:end], m[3])),
				}
				order = append(order, k)
			}
		}
		for _, d := range dets {
			if len(d.confirm) == 0 || confirmed[d] {
				continue
			}
			for _, c := range d.confirm {
				if bytes.Contains(data[start:], c) {
					confirmed[d] = true
				}
			}
		}
		for _, mk := range markers {
			if seenMarker[mk.name] {
				continue
			}
			i := bytes.Index(data[start:], mk.marker)
			if i < 0 {
				continue
			}
			seenMarker[mk.name] = true
			marks = append(marks, markerHit{det: mk, offset: base + int64(start+i)})
		}
		if eof {
			break
		}
		// Keep the unsearched tail for the next window, and the few bytes
		// before it that reject may look at.
		lb := min(lookBehind, limit)
		carry = copy(buf, data[limit-lb:])
		start = lb
		base += int64(limit - lb)
	}
	return hitsOf(found, order, confirmed), marks, nil
}

// hitsOf lists the hits in the order found, less those of detectors that
// need a confirmation the file did not give.
func hitsOf[K comparable](found map[K]hit, order []K, confirmed map[*detector]bool) []hit {
	out := make([]hit, 0, len(order))
	for _, k := range order {
		h := found[k]
		if h.det != nil && len(h.det.confirm) > 0 && !confirmed[h.det] {
			continue
		}
		out = append(out, h)
	}
	return out
}

// markerHit is where a marker detector's marker was seen.
type markerHit struct {
	det    *markerDetector
	offset int64
}

// standaloneStrings returns the NUL-delimited strings of r (up to max
// bytes) that re matches in full, each with its offset, at most limit of
// them. Strings longer than 32 bytes are never versions and are skipped.
func standaloneStrings(ctx context.Context, r io.Reader, max int64, re *regexp.Regexp, limit int, buf []byte) ([]hit, error) {
	const longest = 32
	var out []hit
	var base int64
	carry := 0
	var read int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := len(buf) - carry
		if rem := max - read; int64(want) > rem {
			want = int(rem)
		}
		n, err := io.ReadFull(r, buf[carry:carry+want])
		eof := err == io.EOF || err == io.ErrUnexpectedEOF || want == 0
		if err != nil && !eof {
			return nil, err
		}
		read += int64(n)
		if read >= max {
			eof = true
		}
		data := buf[:carry+n]
		limit2 := len(data)
		if !eof && limit2 > longest+2 {
			limit2 -= longest + 2
		}
		for i := 0; i < limit2; i++ {
			// a string starts after a NUL (or at offset 0 of the file)
			if !(i == 0 && base == 0) && (i == 0 || data[i-1] != 0) {
				continue
			}
			if !isDigit(data[i]) {
				continue
			}
			j := bytes.IndexByte(data[i:min(len(data), i+longest+1)], 0)
			if j < 0 {
				continue
			}
			s := data[i : i+j]
			if re.Match(s) {
				out = append(out, hit{version: string(s), offset: base + int64(i), text: string(s)})
				if len(out) >= limit {
					return out, nil
				}
			}
		}
		if eof {
			return out, nil
		}
		// Keep one searched byte before the tail so that the NUL test of
		// the first unsearched position sees it; position 0 of the next
		// window is skipped by the i == 0 rule.
		keep := limit2 - 1
		carry = copy(buf, data[keep:])
		base += int64(keep)
	}
}

// evidenceString returns the string a match is part of: from its start
// to the first NUL or line end after the version (which ends at
// data[versionEnd]).
func evidenceString(data []byte, versionEnd int) []byte {
	if i := bytes.IndexAny(data[versionEnd:], "\x00\r\n"); i >= 0 {
		return data[:versionEnd+i]
	}
	return data
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}

// Printable returns b as text for a report: bytes outside Printable ASCII
// become '.', and long text is cut.
func Printable(b []byte) string {
	if len(b) > maxEvidence {
		b = b[:maxEvidence]
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('.')
		}
	}
	return sb.String()
}
