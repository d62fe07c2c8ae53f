package sbom

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/sbom/detect"
)

// maxKernelLocations bounds how many modules are listed as evidence of a
// kernel known only from its modules' vermagic strings.
const maxKernelLocations = 16

// scanJob is one file to read and how.
type scanJob struct {
	f     *firmware.File
	index int
}

// fileResult is what the detectors found in one file.
type fileResult struct {
	recs []record
	kmod *detect.Modinfo
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
			buf := make([]byte, detect.BufferSize)
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
		mi *detect.Modinfo
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
		rel := detect.KernelRelease(m.mi.Vermagic)
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
			ev := fmt.Sprintf("vermagic=%s (kernel release of %d modules)", detect.Printable([]byte(m.mi.Vermagic)), len(ms))
			out = append(out, record{
				name: "linux-kernel", version: rel, typ: detect.ComponentType("linux-kernel"),
				ecosystem: "linux-kernel", purl: genericPURL("linux-kernel", rel),
				cpes: detect.CPEs("linux-kernel", rel), foundBy: "netvet-kmod-vermagic",
				loc: locationOf(m.f, m.mi.VermagicOffset, ev),
			})
		}
	}
	return out, nil
}

// scanFile reads one file with the detectors.
func scanFile(ctx context.Context, t *firmware.Tree, f *firmware.File, opts Options, buf []byte) (fileResult, error) {
	var res fileResult
	fh, err := t.Open(f)
	if err != nil {
		return res, err
	}
	defer fh.Close()
	r, err := detect.Scan(ctx, fh, detect.File{Name: f.Name(), FSPath: f.FSPath, InFS: f.Root != nil}, opts.MaxScanBytes, buf)
	if err != nil {
		return res, err
	}
	if r.Truncated {
		opts.Logger.Warn("file holds too many candidate version strings; read no further", "path", f.Path)
	}
	for _, h := range r.Hits {
		res.recs = append(res.recs, binaryRecord(h.Name, h.Version, h.FoundBy, f, h.Offset, h.Evidence))
	}
	if r.Modinfo != nil {
		res.kmod = r.Modinfo
		res.recs = append(res.recs, kmodRecord(f, r.Modinfo))
	}
	return res, nil
}

// binaryRecord makes the record of a component found inside a file.
func binaryRecord(name, version, foundBy string, f *firmware.File, offset int64, evidence string) record {
	eco := "binary"
	if name == "linux-kernel" {
		eco = "linux-kernel"
	}
	return record{
		name: name, version: version, typ: detect.ComponentType(name), ecosystem: eco,
		purl: genericPURL(name, version), cpes: detect.CPEs(name, detect.UpstreamVersion(version)), foundBy: foundBy,
		loc: locationOf(f, offset, evidence),
	}
}

// kmodRecord makes the component of one kernel module: its modinfo name
// (or file name) and its own version= if it has one. It has no CPE: a
// module's vulnerabilities are the kernel's.
func kmodRecord(f *firmware.File, mi *detect.Modinfo) record {
	name := mi.Name
	if name == "" {
		name = strings.TrimSuffix(path.Base(f.Name()), ".ko")
	}
	name = detect.Printable([]byte(name))
	version := ""
	if len(mi.Version) <= detect.MaxVersionLen {
		version = detect.Printable([]byte(mi.Version))
	}
	offset := mi.VermagicOffset
	ev := "vermagic=" + detect.Printable([]byte(mi.Vermagic))
	if version != "" {
		offset = mi.VersionOffset
		ev = "version=" + version + "; " + ev
	}
	var lic []string
	if mi.License != "" {
		lic = []string{detect.Printable([]byte(mi.License))}
	}
	return record{
		name: name, version: version, typ: "library", ecosystem: "linux-kernel-module",
		purl: genericPURL(name, version), foundBy: "netvet-kmod", licenses: lic,
		loc: locationOf(f, offset, ev),
	}
}
