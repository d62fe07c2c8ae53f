package sbom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/anchore/packageurl-go"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/sbom/detect"
)

// Options configure Catalog.
type Options struct {
	// Dir is the unpack folder the tree's Disk paths are relative to.
	// syft reads each filesystem there; it is required unless NoSyft.
	Dir string
	// NoSyft skips syft and runs only netvet's detectors.
	NoSyft bool
	// Parallelism is the number of files read at once, and of syft's
	// cataloguing tasks; 0 means GOMAXPROCS.
	Parallelism int
	// Logger receives progress and the files that could not be read;
	// nil discards.
	Logger *slog.Logger
	// Now is the date end-of-life is judged at; zero means time.Now().
	// Tests fix it.
	Now time.Time
	// MaxScanBytes bounds how much of one file the detectors read; 0
	// means DefaultMaxScanBytes.
	MaxScanBytes int64
}

// DefaultMaxScanBytes is how much of one file the detectors read by
// default: more than any kernel image or daemon of network equipment.
const DefaultMaxScanBytes = 256 << 20

// ErrNoDir is returned when syft is wanted but Options.Dir is empty.
var ErrNoDir = errors.New("sbom: Options.Dir (the unpack folder) is required to run syft; set NoSyft to run only netvet's detectors")

func (o Options) withDefaults() Options {
	if o.Parallelism <= 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.MaxScanBytes <= 0 {
		o.MaxScanBytes = DefaultMaxScanBytes
	}
	return o
}

// record is one piece of evidence for a component: one detector's finding
// in one file. Records of the same component (same name, version,
// ecosystem, package URL and detector) merge into one Component with one
// Location per record.
type record struct {
	name, version string
	typ           string // CycloneDX type
	ecosystem     string
	purl          string
	cpes          []string
	licenses      []string
	supplier      string
	foundBy       string
	loc           firmware.Location
}

// Catalog lists the components of the unpacked image t.
//
// The same version of a component found by the same detector in several
// files is one component with one location per file, so that
// len(Locations) counts its copies; different versions, and the same
// version found by different detectors (a package database and a binary),
// are different components. Components are sorted by name, version,
// ecosystem, detector and first location, and their IDs depend only on
// the image.
//
// A file that cannot be read is skipped and logged. The error is non-nil
// when ctx is cancelled (no components are returned) or when syft failed
// on a filesystem: the components found elsewhere are still returned.
func Catalog(ctx context.Context, t *firmware.Tree, opts Options) ([]firmware.Component, error) {
	opts = opts.withDefaults()
	if !opts.NoSyft && opts.Dir == "" && len(t.Roots) > 0 {
		return nil, ErrNoDir
	}
	log := opts.Logger
	var recs []record
	var errs []error

	osrels := map[*firmware.Root]*osRelease{}
	for _, r := range t.Roots {
		o := readOSRelease(t, r, log)
		if o == nil {
			continue
		}
		osrels[r] = o
		if rec, ok := osComponent(o); ok {
			recs = append(recs, rec)
		}
	}

	db, err := catalogOpkg(ctx, t, osrels, log)
	if err != nil {
		return nil, err
	}
	recs = append(recs, db...)

	found, err := scanTree(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	recs = append(recs, found...)

	if !opts.NoSyft {
		for _, r := range t.Roots {
			sr, err := catalogRootWithSyft(ctx, t, r, opts)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				log.Warn("syft failed on a filesystem", "path", r.Path, "err", err)
				errs = append(errs, fmt.Errorf("syft: %s: %w", r.Path, err))
			}
			recs = append(recs, dropCovered(sr, found)...)
		}
	}

	comps := merge(recs)
	for i := range comps {
		setEndOfLife(&comps[i], opts.Now)
	}
	sortComponents(comps)
	assignIDs(comps)
	return comps, errors.Join(errs...)
}

// merge groups records into components.
func merge(recs []record) []firmware.Component {
	type key struct{ eco, name, version, purl, foundBy string }
	idx := map[key]int{}
	var out []firmware.Component
	seenLoc := map[key]map[string]bool{}
	for _, r := range recs {
		k := key{r.ecosystem, r.name, r.version, r.purl, r.foundBy}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			seenLoc[k] = map[string]bool{}
			out = append(out, firmware.Component{
				Name: r.name, Version: r.version, Type: r.typ, Ecosystem: r.ecosystem,
				PURL: r.purl, Supplier: r.supplier, FoundBy: r.foundBy,
			})
		}
		c := &out[i]
		c.CPEs = appendNew(c.CPEs, r.cpes...)
		c.Licenses = appendNew(c.Licenses, r.licenses...)
		lk := fmt.Sprintf("%s\x00%d", r.loc.Path, r.loc.Offset)
		if !seenLoc[k][lk] {
			seenLoc[k][lk] = true
			c.Locations = append(c.Locations, r.loc)
		}
	}
	for i := range out {
		sort.Strings(out[i].Licenses)
		sortLocations(out[i].Locations)
	}
	return out
}

func appendNew(dst []string, vs ...string) []string {
	for _, v := range vs {
		dup := false
		for _, d := range dst {
			if d == v {
				dup = true
				break
			}
		}
		if !dup && v != "" {
			dst = append(dst, v)
		}
	}
	return dst
}

func sortLocations(ls []firmware.Location) {
	sort.Slice(ls, func(i, j int) bool {
		a, b := ls[i], ls[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		return a.Evidence < b.Evidence
	})
}

func sortComponents(cs []firmware.Component) {
	first := func(c firmware.Component) (string, int64) {
		if len(c.Locations) == 0 {
			return "", 0
		}
		return c.Locations[0].Path, c.Locations[0].Offset
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if c := detect.CompareVersions(a.Version, b.Version); c != 0 {
			return c < 0
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		if a.Ecosystem != b.Ecosystem {
			return a.Ecosystem < b.Ecosystem
		}
		if a.FoundBy != b.FoundBy {
			return a.FoundBy < b.FoundBy
		}
		if a.PURL != b.PURL {
			return a.PURL < b.PURL
		}
		pa, oa := first(a)
		pb, ob := first(b)
		if pa != pb {
			return pa < pb
		}
		return oa < ob
	})
}

// assignIDs gives every component a BOM reference: its package URL (or
// name@version) with a package-id qualifier, the first 8 bytes of the
// SHA-256 of its detector and first location path. A collision, which
// needs two components of the same package URL found by the same detector
// in the same first file, gets a counter.
func assignIDs(cs []firmware.Component) {
	seen := map[string]int{}
	for i := range cs {
		c := &cs[i]
		base := c.PURL
		if base == "" {
			base = c.Name
			if c.Version != "" {
				base += "@" + c.Version
			}
		}
		first := ""
		if len(c.Locations) > 0 {
			first = c.Locations[0].Path
		}
		sum := sha256.Sum256([]byte(c.FoundBy + "\x00" + first))
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		id := base + sep + "package-id=" + hex.EncodeToString(sum[:8])
		seen[id]++
		if n := seen[id]; n > 1 {
			id = fmt.Sprintf("%s-%d", id, n)
		}
		c.ID = id
	}
}

// setEndOfLife fills EndOfLife when the component's version is past the
// end of upstream support at now. Packages of Debian-like distributions
// are left out: the distribution supports them past upstream's date.
func setEndOfLife(c *firmware.Component, now time.Time) {
	switch c.Ecosystem {
	case "deb", "rpm", "apk", "linux-kernel-module":
		return
	}
	r, ok := detect.EndOfLife(detect.ProductName(c.Name, c.Ecosystem), c.Version)
	if ok && detect.PastEndOfLife(r.Date, now) {
		c.EndOfLife = r.Date
	}
}

// genericPURL is the package URL of a component known only by its name
// and version, as syft writes it for binaries.
func genericPURL(name, version string) string {
	if version == "" {
		return ""
	}
	return packageurl.NewPackageURL("generic", "", name, version, nil, "").ToString()
}

// locationOf builds a Location for a file.
func locationOf(f *firmware.File, offset int64, evidence string) firmware.Location {
	return firmware.Location{Path: f.Path, FSPath: f.FSPath, Offset: offset, Evidence: evidence}
}
