package sbom

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"strings"

	"github.com/anchore/packageurl-go"

	"github.com/netvet/netvet/internal/firmware"
)

// maxPackageDB bounds the size of one opkg status or control file read.
const maxPackageDB = 32 << 20

// isOpkgDB reports whether fspath is an opkg database file: a status
// database or a package's control file, under /usr/lib/opkg or
// /var/lib/opkg (the places opkg and syft look).
func isOpkgDB(fspath string) bool {
	dir, file := path.Split(fspath)
	switch {
	case file == "status" && strings.HasSuffix(dir, "/lib/opkg/"):
		return true
	case strings.HasSuffix(file, ".control") && strings.HasSuffix(dir, "/lib/opkg/info/"):
		return true
	}
	return false
}

// catalogOpkg reads the opkg databases of every filesystem.
func catalogOpkg(ctx context.Context, t *firmware.Tree, osrels map[*firmware.Root]*osRelease, log *slog.Logger) ([]record, error) {
	var out []record
	for _, r := range t.Roots {
		for _, f := range r.Files() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if f.Type != firmware.TypeFile || !isOpkgDB(f.FSPath) {
				continue
			}
			data, err := t.ReadFile(f, maxPackageDB)
			if err != nil {
				log.Warn("opkg database not read", "path", f.Path, "err", err)
				continue
			}
			stanzas, bad, err := parseControl(data)
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
func opkgRecord(s stanza, f *firmware.File, osr *osRelease) (record, bool) {
	name, version := s.get("package"), s.get("version")
	if name == "" || version == "" || !s.installed() || len(name) > 256 || len(version) > maxVersionLen {
		return record{}, false
	}
	if strings.ContainsAny(name+version, "\n\x00") {
		return record{}, false
	}
	arch := s.get("architecture")
	ev := fmt.Sprintf("line %d: Package: %s; Version: %s", s.line, name, version)
	if arch != "" {
		ev += "; Architecture: " + arch
	}
	prod := productName(name, "opkg")
	var cpes []string
	if _, known := products[prod]; known {
		cpes = cpesFor(prod, upstreamVersion(version))
	}
	var lic []string
	if l := s.get("license"); l != "" && !strings.Contains(l, "\n") {
		lic = []string{l}
	}
	typ := "library"
	if p, ok := products[prod]; ok {
		typ = p.typ
	}
	return record{
		name: name, version: version, typ: typ, ecosystem: "opkg",
		purl: opkgPURL(name, version, arch, osr), cpes: cpes, licenses: lic,
		supplier: firstLine(s.get("maintainer")), foundBy: "netvet-opkg",
		loc: locationOf(f, s.offset, printable([]byte(ev))),
	}, true
}

// opkgPURL builds pkg:opkg/<distro id>/<name>@<version>?arch=...&distro=...
// The opkg type is not (yet) in the purl specification's registry; this
// follows the conventions of the registered deb type, as osv-scalibr does
// for opkg: the distribution's os-release ID as namespace, the package
// architecture, and the release as distro qualifier (ID-VERSION_ID, the
// form syft and grype use for Debian).
func opkgPURL(name, version, arch string, osr *osRelease) string {
	q := map[string]string{}
	if arch != "" {
		q["arch"] = arch
	}
	if d := osr.distroQualifier(); d != "" {
		q["distro"] = d
	}
	var quals packageurl.Qualifiers
	if len(q) > 0 {
		quals = packageurl.QualifiersFromMap(q)
	}
	return packageurl.NewPackageURL("opkg", osr.id(), name, version, quals, "").ToString()
}

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
		data, err := t.ReadFile(f, maxOSRelease)
		if err != nil {
			log.Debug("os-release not read", "path", f.Path, "err", err)
			continue
		}
		fields, offsets := parseOSRelease(data)
		if len(fields) == 0 {
			continue
		}
		return &osRelease{fields: fields, offsets: offsets, path: f.Path, fsPath: f.FSPath}
	}
	return nil
}

// osComponent is the operating system a filesystem's os-release names.
func osComponent(o *osRelease) (record, bool) {
	id := o.id()
	if id == "" {
		return record{}, false
	}
	version := purlSafe(o.fields["VERSION_ID"])
	off, ok := o.offsets["VERSION_ID"]
	ev := fmt.Sprintf("ID=%s VERSION_ID=%s", id, version)
	if !ok {
		off = o.offsets["ID"]
	}
	if n := o.fields["PRETTY_NAME"]; n != "" {
		ev += " PRETTY_NAME=" + n
	}
	var cpes []string
	if p, ok := products[id]; ok && p.typ == "operating-system" {
		cpes = cpesFor(id, upstreamVersion(version))
	}
	return record{
		name: id, version: version, typ: "operating-system", ecosystem: "os-release",
		cpes: cpes, foundBy: "netvet-os-release",
		loc: firmware.Location{Path: o.path, FSPath: o.fsPath, Offset: off, Evidence: printable([]byte(ev))},
	}, true
}
