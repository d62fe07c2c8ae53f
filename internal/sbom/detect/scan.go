package detect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// File describes the file Scan reads.
type File struct {
	// Name is the file's base name.
	Name string
	// FSPath is its path inside its filesystem, "" when it is in none.
	FSPath string
	// InFS is true when the file belongs to a filesystem or archive.
	InFS bool
}

// Hit is one component found in a file.
type Hit struct {
	Name    string // canonical product name (see ProductName)
	Version string // "" when the file shows the component but not its version
	FoundBy string // the detector, "netvet-<name>"
	// Offset is the byte offset of the evidence in the file, -1 when the
	// evidence is the file's name.
	Offset   int64
	Evidence string
}

// Result is what Scan found in one file.
type Result struct {
	Hits []Hit
	// Modinfo is set for a kernel module.
	Modinfo *Modinfo
	// Truncated is set when the file held more candidate version strings
	// than are examined (ErrTooManyAnchors): the hits are those found
	// before.
	Truncated bool
}

// BufferSize is the size of the scratch buffer Scan needs.
const BufferSize = window + span

// maxModuleRead bounds the bytes read from one kernel module.
const maxModuleRead = 64 << 20

// kernelName matches the names of kernel and boot loader images that are
// not ELF.
var kernelName = regexp.MustCompile(`^(?:vmlinu[xz].*|[bz]?Image.*|uImage.*|kernel.*|.*\.itb|u-boot.*)$`)

// Scan reads one file with every detector that applies to it: ELF files
// (by their first four bytes) with all of them, kernel and boot loader
// blobs (files in no filesystem, files in /boot/ or named like a kernel)
// with the kernel and U-Boot detectors; other files are not read. At most
// max bytes are read. buf is scratch space of BufferSize bytes, reused
// between calls by one goroutine.
func Scan(ctx context.Context, r io.ReadSeeker, f File, max int64, buf []byte) (Result, error) {
	var res Result
	if len(buf) < BufferSize {
		return res, fmt.Errorf("detect: scratch buffer of %d bytes, need %d", len(buf), BufferSize)
	}
	var magic [4]byte
	n, err := io.ReadFull(r, magic[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return res, err
	}
	isELF := n == 4 && bytes.Equal(magic[:], []byte("\x7fELF"))

	var sc scope
	switch {
	case isELF:
		sc = scopeELF
	case !f.InFS, strings.HasPrefix(f.FSPath, "/boot/"), kernelName.MatchString(f.Name):
		sc = scopeBlob
	default:
		return res, nil
	}

	var named []Hit
	if isELF {
		for _, nd := range nameDetectors {
			m := nd.re.FindStringSubmatch(f.Name)
			if m == nil {
				continue
			}
			version := ""
			if len(m) > 1 {
				version = m[1]
			}
			name := nd.name
			if nd.product != nil {
				name = nd.product(version)
			}
			named = append(named, Hit{Name: name, Version: version, FoundBy: nd.foundBy, Offset: -1,
				Evidence: "file name " + Printable([]byte(f.Name))})
		}
	}

	var dets []*detector
	for _, d := range detectors {
		if d.scope&sc != 0 && (d.skip == nil || !d.skip(f.Name)) {
			dets = append(dets, d)
		}
	}
	var mks []*markerDetector
	if isELF {
		mks = markers
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	hits, marks, err := scanContent(ctx, r, max, dets, mks, buf)
	if err == ErrTooManyAnchors {
		res.Truncated = true
	} else if err != nil {
		return res, err
	}
	have := map[string]bool{}
	for _, h := range hits {
		have[h.name] = true
		res.Hits = append(res.Hits, Hit{Name: h.name, Version: h.version, FoundBy: h.foundBy, Offset: h.offset, Evidence: h.text})
	}
	for _, mh := range marks {
		if have[mh.det.name] {
			continue
		}
		h, err := markerHitVersion(ctx, r, mh, max, buf)
		if err != nil {
			return res, err
		}
		res.Hits = append(res.Hits, h)
		have[mh.det.name] = true
	}
	// A file name is the weakest evidence: used only when the content
	// named no version of the same component.
	for _, h := range named {
		if !have[h.Name] {
			res.Hits = append(res.Hits, h)
		}
	}

	if isELF && strings.HasSuffix(f.Name, ".ko") {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return res, err
		}
		data, err := io.ReadAll(io.LimitReader(r, min(max, maxModuleRead)))
		if err != nil {
			return res, err
		}
		if mi, ok := ParseModinfo(data); ok {
			res.Modinfo = &mi
		}
	}
	return res, nil
}

// markerHitVersion completes a marker detector's find: the version is the
// single release-looking string of the file; with none, or several that
// disagree, the component is reported without a version.
func markerHitVersion(ctx context.Context, r io.ReadSeeker, mh markerHit, max int64, buf []byte) (Hit, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return Hit{}, err
	}
	cands, err := standaloneStrings(ctx, r, max, mh.det.version, 16, buf)
	if err != nil {
		return Hit{}, err
	}
	distinct := map[string]bool{}
	for _, c := range cands {
		distinct[c.version] = true
	}
	marker := Printable(mh.det.marker)
	if len(distinct) == 1 {
		c := cands[0]
		return Hit{Name: mh.det.name, Version: c.version, FoundBy: mh.det.foundBy, Offset: c.offset,
			Evidence: fmt.Sprintf("marker %q at 0x%x; version string %q", marker, mh.offset, c.text)}, nil
	}
	return Hit{Name: mh.det.name, FoundBy: mh.det.foundBy, Offset: mh.offset,
		Evidence: fmt.Sprintf("marker %q; no single version string in the file (%d candidates)", marker, len(distinct))}, nil
}
