package sbom

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/anchore/packageurl-go"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/sbom/detect"
)

// maxPackageDB bounds the size of one opkg status or control file read.
const maxPackageDB = 32 << 20

// catalogOpkg reads the opkg databases of every filesystem.
func catalogOpkg(ctx context.Context, t *firmware.Tree, osrels map[*firmware.Root]*osRelease, log *slog.Logger) ([]record, error) {
	var out []record
	for _, r := range t.Roots {
		for _, f := range r.Files() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if f.Type != firmware.TypeFile || !detect.IsOpkgDB(f.FSPath) {
				continue
			}
			data, err := t.ReadFile(f, maxPackageDB)
			if err != nil {
				log.Warn("opkg database not read", "path", f.Path, "err", err)
				continue
			}
			stanzas, bad, err := detect.ParseControl(data)
			if err != nil {
				log.Warn("opkg database read in part", "path", f.Path, "err", err)
			}
			if bad > 0 {
				log.Debug("opkg database has malformed lines", "path", f.Path, "lines", bad)
			}
			for _, s := range stanzas {
				if rec, ok := opkgRecord(s, f, osrels[r]); ok {
					out = append(out, rec)
				}
			}
		}
	}
	return out, nil
}

// opkgRecord makes the component of one installed package entry.
func opkgRecord(s detect.Stanza, f *firmware.File, osr *osRelease) (record, bool) {
	name, version := s.Get("package"), s.Get("version")
	if name == "" || version == "" || !s.Installed() || len(name) > 256 || len(version) > detect.MaxVersionLen {
		return record{}, false
	}
	if strings.ContainsAny(name+version, "\n\x00") {
		return record{}, false
	}
	arch := s.Get("architecture")
	ev := fmt.Sprintf("line %d: Package: %s; Version: %s", s.Line, name, version)
	if arch != "" {
		ev += "; Architecture: " + arch
	}
	prod := detect.ProductName(name, "opkg")
	cpes := detect.CPEs(prod, detect.UpstreamVersion(version))
	var lic []string
	if l := s.Get("license"); l != "" && !strings.Contains(l, "\n") {
		lic = []string{l}
	}
	typ := "library"
	if pt, ok := detect.ProductType(prod); ok {
		typ = pt
	}
	return record{
		name: name, version: version, typ: typ, ecosystem: "opkg",
		purl: opkgPURL(name, version, arch, osr), cpes: cpes, licenses: lic,
		supplier: firstLine(s.Get("maintainer")), foundBy: "netvet-opkg",
		loc: locationOf(f, s.Offset, detect.Printable([]byte(ev))),
	}, true
}

// opkgPURL builds pkg:opkg/<distro id>/<name>@<version>?arch=...&distro=...
// The opkg type is not (yet) in the purl specification's registry; this
// follows the conventions of the registered deb type, as osv-scalibr does
// for opkg: the distribution's os-release ID as namespace, the package
// architecture, and the release as distro qualifier (ID-VERSION_ID, the
// form syft and grype use for Debian).
func opkgPURL(name, version, arch string, r *osRelease) string {
	var osr *detect.OSRelease // nil-safe methods
	if r != nil {
		osr = &r.OSRelease
	}
	q := map[string]string{}
	if arch != "" {
		q["arch"] = arch
	}
	if d := osr.Distro(); d != "" {
		q["distro"] = d
	}
	var quals packageurl.Qualifiers
	if len(q) > 0 {
		quals = packageurl.QualifiersFromMap(q)
	}
	return packageurl.NewPackageURL("opkg", osr.ID(), name, version, quals, "").ToString()
}

// osRelease is a filesystem's os-release and where it was read.
type osRelease struct {
	detect.OSRelease
	path, fsPath string
}

// firstLine returns s up to its first line break.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// readOSRelease reads a filesystem's os-release file, following links
// inside the filesystem (/etc/os-release is often a link to
// /usr/lib/os-release). It returns nil when there is none.
func readOSRelease(t *firmware.Tree, r *firmware.Root, log *slog.Logger) *osRelease {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		f := r.Lookup(p)
		if f == nil || f.Type != firmware.TypeFile {
			continue
		}
		data, err := t.ReadFile(f, detect.MaxOSRelease)
		if err != nil {
			log.Debug("os-release not read", "path", f.Path, "err", err)
			continue
		}
		fields, offsets := detect.ParseOSRelease(data)
		if len(fields) == 0 {
			continue
		}
		return &osRelease{OSRelease: detect.OSRelease{Fields: fields, Offsets: offsets}, path: f.Path, fsPath: f.FSPath}
	}
	return nil
}

// osComponent is the operating system a filesystem's os-release names.
func osComponent(o *osRelease) (record, bool) {
	id := o.ID()
	if id == "" {
		return record{}, false
	}
	version := detect.Token(o.Fields["VERSION_ID"])
	off, ok := o.Offsets["VERSION_ID"]
	ev := fmt.Sprintf("ID=%s VERSION_ID=%s", id, version)
	if !ok {
		off = o.Offsets["ID"]
	}
	if n := o.Fields["PRETTY_NAME"]; n != "" {
		ev += " PRETTY_NAME=" + n
	}
	var cpes []string
	if typ, ok := detect.ProductType(id); ok && typ == "operating-system" {
		cpes = detect.CPEs(id, detect.UpstreamVersion(version))
	}
	return record{
		name: id, version: version, typ: "operating-system", ecosystem: "os-release",
		cpes: cpes, foundBy: "netvet-os-release",
		loc: firmware.Location{Path: o.path, FSPath: o.fsPath, Offset: off, Evidence: detect.Printable([]byte(ev))},
	}, true
}
