package sbom

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/sbom/detect"

	// syft's RPM cataloger reads SQLite package databases (RPM 4.16+)
	// through database/sql under the driver name "sqlite". grype's
	// database layer already registers that name with glebarez/go-sqlite
	// (pure Go, on modernc.org/sqlite); registering modernc's driver too
	// would panic at start-up, so the same one is used here.
	_ "github.com/glebarez/go-sqlite"
)

// rootDir returns the folder, relative to the unpack folder, that holds a
// filesystem's files: the Disk path of any of its files less the file's
// path inside the filesystem. The most common answer wins (ties go to the
// first in order), so that one odd entry cannot move it. ok is false when
// no file of the root is on disk or the folder would leave the unpack
// folder.
func rootDir(r *firmware.Root) (string, bool) {
	votes := map[string]int{}
	best, bestN := "", 0
	for _, f := range r.Files() {
		if f.Disk == "" || f.FSPath == "" || f.FSPath == "/" {
			continue
		}
		if !strings.HasSuffix(f.Disk, f.FSPath) {
			continue
		}
		d := strings.TrimSuffix(f.Disk, f.FSPath)
		votes[d]++
		if n := votes[d]; n > bestN || (n == bestN && d < best) {
			best, bestN = d, n
		}
	}
	if bestN == 0 || best == "" || !filepath.IsLocal(filepath.FromSlash(best)) {
		return "", false
	}
	return best, true
}

// syftConfig is syft configured for an unpacked firmware filesystem:
// installed software only (the catalogers syft runs on container images),
// nothing that reaches the network or reads the host (Go module cache,
// Maven repository), no file digests or metadata (the unpack manifest has
// them), no archive expansion (the unpacker did that), no relationships.
// syft's Linux kernel cataloger is replaced by netvet's kernel detectors,
// which also read kernels outside any filesystem.
func syftConfig(parallelism int) *syft.CreateSBOMConfig {
	pc := pkgcataloging.DefaultConfig()
	pc.Golang = pc.Golang.
		WithSearchLocalModCacheLicenses(false).
		WithLocalModCacheDir("").
		WithSearchLocalVendorLicenses(false).
		WithSearchRemoteLicenses(false).
		WithUsePackagesLib(false)
	pc.JavaArchive = pc.JavaArchive.
		WithUseNetwork(false).
		WithUseMavenLocalRepository(false).
		WithMavenLocalRepositoryDir("")
	pc.JavaScript = pc.JavaScript.WithSearchRemoteLicenses(false)
	pc.Python = pc.Python.WithSearchRemoteLicenses(false)

	return syft.DefaultCreateSBOMConfig().
		WithParallelism(parallelism).
		WithPackagesConfig(pc).
		WithoutFiles().
		WithArchiveConfig(cataloging.DefaultArchiveSearchConfig().WithMaxDepth(0)).
		WithRelationshipsConfig(cataloging.RelationshipsConfig{}).
		WithUnknownsConfig(cataloging.UnknownsConfig{}).
		WithCatalogerSelection(cataloging.NewSelectionRequest().
			WithDefaults(pkgcataloging.ImageTag).
			WithRemovals("linux-kernel-cataloger"))
}

// licenseScanner holds syft's licence scanner, built once per process:
// building it (a DFA over every licence text licensecheck knows) costs
// seconds of CPU, which CreateSBOM would otherwise spend again for each
// filesystem of each image.
var licenseScanner struct {
	once sync.Once
	ctx  context.Context // carries the scanner as a value
	err  error
}

// withLicenseScanner returns ctx with the shared licence scanner set, so
// that syft.CreateSBOM uses it instead of building its own.
func withLicenseScanner(ctx context.Context) (context.Context, error) {
	licenseScanner.once.Do(func() {
		licenseScanner.ctx, licenseScanner.err = syft.SetContextLicenseScanner(context.Background(), cataloging.DefaultLicenseConfig())
	})
	if licenseScanner.err != nil {
		return nil, licenseScanner.err
	}
	return valuesFrom{Context: ctx, values: licenseScanner.ctx}, nil
}

// valuesFrom is ctx (its deadline, cancellation and values) with the
// values of a second context underneath.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (c valuesFrom) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.values.Value(key)
}

// catalogRootWithSyft runs syft over one filesystem's folder and turns its
// packages into records whose locations are the filesystem's files.
func catalogRootWithSyft(ctx context.Context, t *firmware.Tree, r *firmware.Root, opts Options) ([]record, error) {
	rel, ok := rootDir(r)
	if !ok {
		opts.Logger.Debug("filesystem has no files on disk; syft skipped", "path", r.Path)
		return nil, nil
	}
	dir := filepath.Join(opts.Dir, filepath.FromSlash(rel))
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a folder", dir)
	}
	src, err := directorysource.New(directorysource.Config{
		Path: dir, Base: dir,
		// The alias keeps syft from deriving an ID from the host path.
		Alias: source.Alias{Name: r.Path},
	})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	opts.Logger.Debug("syft started", "path", r.Path)
	lctx, err := withLicenseScanner(ctx)
	if err != nil {
		return nil, err
	}
	s, err := syft.CreateSBOM(lctx, src, syftConfig(opts.Parallelism))
	if err != nil {
		return nil, err
	}
	var out []record
	for _, p := range s.Artifacts.Packages.Sorted() {
		out = append(out, syftRecords(p, r)...)
	}
	return out, nil
}

// syftRecords converts one syft package, one record per location.
func syftRecords(p pkg.Package, r *firmware.Root) []record {
	locs := p.Locations.ToSlice()
	if p.FoundBy == "dpkg-db-cataloger" {
		// syft reads opkg databases as dpkg ones, without a package URL and
		// with CPEs guessed from the package name; netvet reads them
		// itself (catalogOpkg).
		opkg := true
		for _, l := range locs {
			if !detect.IsOpkgDB(l.RealPath) {
				opkg = false
			}
		}
		if opkg {
			return nil
		}
	}
	eco := string(p.Type)
	typ := "library"
	if p.Type == pkg.BinaryPkg {
		typ = detect.ComponentType(detect.ProductName(p.Name, eco))
	}
	var cpes []string
	for _, c := range p.CPEs {
		cpes = append(cpes, c.Attributes.String())
	}
	var lic []string
	for _, l := range p.Licenses.ToSlice() {
		v := l.SPDXExpression
		if v == "" {
			v = l.Value
		}
		lic = appendNew(lic, v)
	}
	sort.Strings(lic)
	ev := p.FoundBy
	if sig, ok := p.Metadata.(pkg.BinarySignature); ok && len(sig.Matches) > 0 {
		ev += ": classifier " + sig.Matches[0].Classifier
	}
	ev += ": " + p.Name
	if p.Version != "" {
		ev += " " + p.Version
	}
	var out []record
	for _, l := range locs {
		f := r.Get(l.RealPath)
		if f == nil && l.AccessPath != "" {
			f = r.Lookup(l.AccessPath)
		}
		if f == nil {
			continue
		}
		out = append(out, record{
			name: p.Name, version: p.Version, typ: typ, ecosystem: eco, purl: p.PURL,
			cpes: cpes, licenses: lic, foundBy: p.FoundBy,
			loc: locationOf(f, -1, detect.Printable([]byte(ev))),
		})
	}
	return out
}

// dropCovered removes syft's binary-classifier records for files in
// which a netvet detector found the same component and version: netvet's
// record has the offset of the version string.
func dropCovered(syftRecs, ours []record) []record {
	type key struct{ product, version, path string }
	have := map[key]bool{}
	for _, r := range ours {
		have[key{r.name, detect.UpstreamVersion(r.version), r.loc.Path}] = true
	}
	out := syftRecs[:0:0]
	for _, r := range syftRecs {
		if r.ecosystem == string(pkg.BinaryPkg) &&
			have[key{detect.ProductName(r.name, r.ecosystem), detect.UpstreamVersion(r.version), r.loc.Path}] {
			continue
		}
		out = append(out, r)
	}
	return out
}
