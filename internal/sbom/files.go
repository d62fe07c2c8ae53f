package sbom

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/netvet/netvet/internal/firmware"
)

// maxKernelLocations bounds how many modules are listed as evidence of a
// kernel known only from its modules' vermagic strings.
const maxKernelLocations = 16

// kernelName matches the names of kernel images that are not ELF.
var kernelName = regexp.MustCompile(`^(?:vmlinu[xz].*|[bz]?Image.*|uImage.*|kernel.*|.*\.itb|u-boot.*)$`)

// scanJob is one file to read and how.
type scanJob struct {
	f     *firmware.File
	index int
}

// fileResult is what the detectors found in one file.
type fileResult struct {
	recs []record
	kmod *modinfo
}

// scanTree runs the content detectors, the name detectors and the kernel
// module reader over the files of t that can hold them, in parallel.
func scanTree(ctx context.Context, t *firmware.Tree, opts Options) ([]record, error) {
	var files []*firmware.File
	for _, f := range t.Regular() {
		if f.Size == 0 || f.Format != "" {
			// A file a format was found in is a container: what it holds
			// was unpacked and is read there.
			continue
		}
		files = append(files, f)
	}
	results := make([]fileResult, len(files))
	jobs := make(chan scanJob)
	var wg sync.WaitGroup
	workers := min(opts.Parallelism, max(1, len(files)))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, window+span)
			for j := range jobs {
				res, err := scanFile(ctx, t, j.f, opts, buf)
				if err != nil {
					if ctx.Err() != nil {
						continue
					}
					opts.Logger.Warn("component detectors could not read a file", "path", j.f.Path, "err", err)
				}
				results[j.index] = res
			}
		}()
	}
	for i, f := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- scanJob{f: f, index: i}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var out []record
	kernels := map[string]bool{}
	type kmodRef struct {
		f  *firmware.File
		mi *modinfo
	}
	var mods []kmodRef
	for i, r := range results {
		out = append(out, r.recs...)
		for _, rec := range r.recs {
			if rec.name == "linux-kernel" {
				kernels[rec.version] = true
			}
		}
		if r.kmod != nil {
			mods = append(mods, kmodRef{files[i], r.kmod})
		}
	}
	// A kernel seen only through its modules: one component per release
	// named by their vermagic, with the first modules as evidence.
	byRelease := map[string][]kmodRef{}
	var releases []string
	for _, m := range mods {
		rel := kernelRelease(m.mi.vermagic)
		if rel == "" || kernels[rel] {
			continue
		}
		if _, ok := byRelease[rel]; !ok {
			releases = append(releases, rel)
		}
		byRelease[rel] = append(byRelease[rel], m)
	}
	sort.Strings(releases)
	for _, rel := range releases {
		ms := byRelease[rel]
		for i, m := range ms {
			if i == maxKernelLocations {
				break
			}
			ev := fmt.Sprintf("vermagic=%s (kernel release of %d modules)", printable([]byte(m.mi.vermagic)), len(ms))
			out = append(out, record{
				name: "linux-kernel", version: rel, typ: componentType("linux-kernel"),
				ecosystem: "linux-kernel", purl: genericPURL("linux-kernel", rel),
				cpes: cpesFor("linux-kernel", rel), foundBy: "netvet-kmod-vermagic",
				loc: locationOf(m.f, m.mi.vermagicOffset, ev),
			})
		}
	}
	return out, nil
}

// scanFile reads one file with every detector that applies to it.
func scanFile(ctx context.Context, t *firmware.Tree, f *firmware.File, opts Options, buf []byte) (fileResult, error) {
	var res fileResult
	base := f.Name()
	fh, err := t.Open(f)
	if err != nil {
		return res, err
	}
	defer fh.Close()
	var magic [4]byte
	n, err := io.ReadFull(fh, magic[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return res, err
	}
	isELF := n == 4 && bytes.Equal(magic[:], []byte("\x7fELF"))

	var sc scope
	switch {
	case isELF:
		sc = scopeELF
	case f.Root == nil, strings.HasPrefix(f.FSPath, "/boot/"), kernelName.MatchString(base):
		sc = scopeBlob
	default:
		return res, nil
	}

	var named []record
	if isELF {
		for _, nd := range nameDetectors {
			m := nd.re.FindStringSubmatch(base)
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
			named = append(named, binaryRecord(name, version, nd.foundBy, f, -1, "file name "+printable([]byte(base))))
		}
	}

	var dets []*detector
	for _, d := range detectors {
		if d.scope&sc != 0 && (d.skip == nil || !d.skip(base)) {
			dets = append(dets, d)
		}
	}
	var mks []*markerDetector
	if isELF {
		mks = markers
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	hits, marks, err := scanContent(ctx, fh, opts.MaxScanBytes, dets, mks, buf)
	if err == errTooManyAnchors {
		opts.Logger.Warn("file holds too many candidate version strings; read no further", "path", f.Path)
	} else if err != nil {
		return res, err
	}
	have := map[string]bool{}
	for _, h := range hits {
		have[h.name] = true
		res.recs = append(res.recs, binaryRecord(h.name, h.version, h.foundBy, f, h.offset, h.text))
	}
	for _, mh := range marks {
		if have[mh.det.name] {
			continue
		}
		recs, err := markerRecords(ctx, t, f, mh, opts, buf)
		if err != nil {
			return res, err
		}
		res.recs = append(res.recs, recs...)
		have[mh.det.name] = true
	}
	// A file name is the weakest evidence: used only when the content
	// named no version of the same component.
	for _, r := range named {
		if !have[r.name] {
			res.recs = append(res.recs, r)
		}
	}

	if isELF && strings.HasSuffix(base, ".ko") {
		mi, err := readModinfo(t, f)
		if err != nil {
			return res, err
		}
		if mi != nil {
			res.kmod = mi
			res.recs = append(res.recs, kmodRecord(f, mi))
		}
	}
	return res, nil
}

// markerRecords completes a marker detector's find: the version is the
// single release-looking string of the file; with none, or several that
// disagree, the component is reported without a version.
func markerRecords(ctx context.Context, t *firmware.Tree, f *firmware.File, mh markerHit, opts Options, buf []byte) ([]record, error) {
	fh, err := t.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	cands, err := standaloneStrings(ctx, fh, opts.MaxScanBytes, mh.det.version, 16, buf)
	if err != nil {
		return nil, err
	}
	distinct := map[string]bool{}
	for _, c := range cands {
		distinct[c.version] = true
	}
	marker := printable(mh.det.marker)
	if len(distinct) == 1 {
		c := cands[0]
		ev := fmt.Sprintf("marker %q at 0x%x; version string %q", marker, mh.offset, c.text)
		return []record{binaryRecord(mh.det.name, c.version, mh.det.foundBy, f, c.offset, ev)}, nil
	}
	ev := fmt.Sprintf("marker %q; no single version string in the file (%d candidates)", marker, len(distinct))
	return []record{binaryRecord(mh.det.name, "", mh.det.foundBy, f, mh.offset, ev)}, nil
}

// binaryRecord makes the record of a component found inside a file.
func binaryRecord(name, version, foundBy string, f *firmware.File, offset int64, evidence string) record {
	eco := "binary"
	if name == "linux-kernel" {
		eco = "linux-kernel"
	}
	return record{
		name: name, version: version, typ: componentType(name), ecosystem: eco,
		purl: genericPURL(name, version), cpes: cpesFor(name, upstreamVersion(version)), foundBy: foundBy,
		loc: locationOf(f, offset, evidence),
	}
}

// maxModuleRead bounds the bytes read from one kernel module.
const maxModuleRead = 64 << 20

func readModinfo(t *firmware.Tree, f *firmware.File) (*modinfo, error) {
	data, err := t.ReadPrefix(f, maxModuleRead)
	if err != nil {
		return nil, err
	}
	mi, ok := parseModinfo(data)
	if !ok {
		return nil, nil
	}
	return &mi, nil
}

// kmodRecord makes the component of one kernel module: its modinfo name
// (or file name) and its own version= if it has one. It has no CPE: a
// module's vulnerabilities are the kernel's.
func kmodRecord(f *firmware.File, mi *modinfo) record {
	name := mi.name
	if name == "" {
		name = strings.TrimSuffix(path.Base(f.Name()), ".ko")
	}
	name = printable([]byte(name))
	version := ""
	if len(mi.version) <= maxVersionLen {
		version = printable([]byte(mi.version))
	}
	offset := mi.vermagicOffset
	ev := "vermagic=" + printable([]byte(mi.vermagic))
	if version != "" {
		offset = mi.versionOffset
		ev = "version=" + version + "; " + ev
	}
	var lic []string
	if mi.license != "" {
		lic = []string{printable([]byte(mi.license))}
	}
	return record{
		name: name, version: version, typ: "library", ecosystem: "linux-kernel-module",
		purl: genericPURL(name, version), foundBy: "netvet-kmod", licenses: lic,
		loc: locationOf(f, offset, ev),
	}
}
