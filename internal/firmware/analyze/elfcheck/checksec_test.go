package elfcheck

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The checksec comparison runs Debian's checksec (package "checksec", a
// shell script over readelf) on the committed fixtures and on variants of
// them made in the test (TestChecksecFixtures), and on a sample of the
// host's programs and libraries or, when NETVET_ELF_CORPUS lists folders
// (colon-separated), on every ELF file under them (TestChecksecHost).
// NETVET_CHECKSEC_ALL=1 takes every host file instead of a sample. Each property must agree, or differ for
// one of the documented reasons (see explain); anything else fails.

// checksecVerdict is what checksec --output=json says about one file.
type checksecVerdict struct {
	RELRO   string `json:"relro"`
	Canary  string `json:"canary"`
	NX      string `json:"nx"`
	PIE     string `json:"pie"`
	RPath   string `json:"rpath"`
	RunPath string `json:"runpath"`
	Symbols string `json:"symbols"`
	Fortify string `json:"fortify_source"`
}

// checksecEntry matches one file's verdict. checksec 2.6 prints no
// newline after a setuid file's entry, so the output is matched as a
// whole, not line by line.
var checksecEntry = regexp.MustCompile(`"([^"]*)": (\{[^{}]*\})`)

// runChecksec runs checksec once over a list of files.
func runChecksec(t *testing.T, files []string) map[string]checksecVerdict {
	t.Helper()
	list := filepath.Join(t.TempDir(), "list")
	if err := os.WriteFile(list, []byte(strings.Join(files, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("checksec", "--output=json", "--listfile="+list)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("checksec: %v\n%s", err, stderr.Bytes())
	}
	res := map[string]checksecVerdict{}
	for _, m := range checksecEntry.FindAllSubmatch(out, -1) {
		var v checksecVerdict
		if err := json.Unmarshal(m[2], &v); err != nil {
			t.Fatalf("checksec output %q: %v", m[0], err)
		}
		res[string(m[1])] = v
	}
	return res
}

// ours turns a profile into checksec's vocabulary.
func ours(p *Profile) checksecVerdict {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	v := checksecVerdict{
		RELRO: p.RELRO(), Canary: yn(p.Canary), NX: yn(p.NX()),
		RPath: yn(p.HasRPath), RunPath: yn(p.HasRunPath), Symbols: yn(!p.Stripped()), Fortify: yn(p.Fortify()),
	}
	if v.RELRO == "none" {
		v.RELRO = "no"
	}
	switch {
	case p.Type == "exec":
		v.PIE = "no"
	case p.PIE():
		v.PIE = "yes"
	case p.Type == "dyn":
		v.PIE = "dso"
	case p.Type == "rel":
		v.PIE = "rel"
	}
	return v
}

// explain returns why a property may differ from checksec's verdict for
// this file, or "" when a difference is a defect.
func explain(prop string, p *Profile, want, got string) string {
	switch prop {
	case "relro":
		if got == "full" && want == "partial" && p.BindNowTag == "DT_FLAGS_1 DF_1_NOW" {
			return "bind-now set only by DF_1_NOW, which checksec's grep for BIND_NOW misses"
		}
	case "canary", "fortify_source":
		if got == "yes" && want == "no" && !p.Sections {
			return "no section headers: readelf -s shows nothing, the dynamic symbols are read through PT_DYNAMIC"
		}
		if prop == "fortify_source" && got == "no" && want == "yes" && p.DefinesChk && len(p.FortifyImports) == 0 {
			return "the file defines *_chk functions (a C library) but imports none"
		}
		if prop == "fortify_source" && got == "yes" && want == "no" && p.Machine == "PowerPC64" {
			return "readelf's [<localentry>: N] column on 64-bit PowerPC shifts the field checksec takes symbol names from"
		}
	case "nx":
		if p.GNUStack != nil && p.GNUStack.Flags&elf.PF_X != 0 && p.GNUStack.Flags&elf.PF_W == 0 {
			return "PT_GNU_STACK is executable but not writable; checksec only matches RWE"
		}
	case "pie":
		if got == "yes" && want == "dso" && p.FlagPIE && !p.Debug {
			return "DF_1_PIE without DT_DEBUG"
		}
	case "symbols":
		if p.Symtab && p.SymtabSyms == 0 {
			return ".symtab holds only the null symbol"
		}
	}
	return ""
}

func compareChecksec(t *testing.T, files []string) {
	t.Helper()
	if _, err := exec.LookPath("checksec"); err != nil {
		t.Skip("checksec not installed (Debian package checksec): skipping the comparison with it")
	}
	if len(files) == 0 {
		t.Skip("no ELF files to compare")
	}
	verdicts := runChecksec(t, files)
	var disagree, explained, compared int
	reasons := map[string]int{}
	for _, path := range files {
		want, ok := verdicts[path]
		if !ok {
			t.Errorf("%s: checksec printed no verdict", path)
			continue
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := fh.Stat()
		p, err := Inspect(fh, st.Size())
		fh.Close()
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		compared++
		got := ours(p)
		for _, c := range []struct{ prop, want, got string }{
			{"relro", want.RELRO, got.RELRO}, {"canary", want.Canary, got.Canary}, {"nx", want.NX, got.NX},
			{"pie", want.PIE, got.PIE}, {"rpath", want.RPath, got.RPath}, {"runpath", want.RunPath, got.RunPath},
			{"symbols", want.Symbols, got.Symbols}, {"fortify_source", want.Fortify, got.Fortify},
		} {
			if c.want == c.got {
				continue
			}
			if why := explain(c.prop, p, c.want, c.got); why != "" {
				explained++
				reasons[c.prop+": "+why]++
				continue
			}
			disagree++
			t.Errorf("%s: %s: checksec says %q, elfcheck says %q", path, c.prop, c.want, c.got)
		}
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("documented difference ×%d: %s", reasons[k], k)
	}
	t.Logf("compared %d files × 8 properties with checksec: %d unexplained differences, %d documented", compared, disagree, explained)
}

func fixtureFiles(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join("testdata", "bin", "*"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no fixtures in testdata/bin (%v)", err)
	}
	abs := make([]string, len(m))
	for i, f := range m {
		abs[i], _ = filepath.Abs(f)
	}
	return abs
}

func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	n, _ := f.Read(b[:])
	return n == 4 && string(b[:]) == elf.ELFMAG
}

// elfFilesUnder lists regular ELF files under dir, sorted, at most limit
// of them spread evenly (all when limit is 0).
func elfFilesUnder(dir string, limit int) []string {
	var all []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if isELF(p) {
			all = append(all, p)
		}
		return nil
	})
	sort.Strings(all)
	if limit <= 0 || len(all) <= limit {
		return all
	}
	out := make([]string, 0, limit)
	for i := 0; i < limit; i++ {
		out = append(out, all[i*len(all)/limit])
	}
	return out
}

func TestChecksecFixtures(t *testing.T) {
	files := fixtureFiles(t)
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, mut := range mutations {
			if m := mut(t, b); m != nil {
				out := filepath.Join(dir, filepath.Base(f)+"."+name)
				if err := os.WriteFile(out, m, 0o755); err != nil {
					t.Fatal(err)
				}
				files = append(files, out)
			}
		}
	}
	sort.Strings(files)
	compareChecksec(t, files)
}

func TestChecksecHost(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: host comparison skipped")
	}
	compareChecksec(t, hostFiles())
}

// hostFiles lists the files TestChecksecHost and BenchmarkInspectCorpus
// use: every ELF file under NETVET_ELF_CORPUS when it is set, else a
// sample of the host's programs and libraries (all of them with
// NETVET_CHECKSEC_ALL=1).
func hostFiles() []string {
	var files []string
	if corpus := os.Getenv("NETVET_ELF_CORPUS"); corpus != "" {
		for _, d := range filepath.SplitList(corpus) {
			if d != "" {
				files = append(files, elfFilesUnder(d, 0)...)
			}
		}
		return files
	}
	limit := 120
	if os.Getenv("NETVET_CHECKSEC_ALL") == "1" {
		limit = 0
	}
	for _, d := range []string{"/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"} {
		files = append(files, elfFilesUnder(d, limit)...)
	}
	return files
}

// mutations make variants of a fixture that compilers do not produce but
// firmware holds: no section headers (OpenWrt's sstrip), no PT_GNU_STACK
// (old toolchains), bind-now set only by DF_1_NOW, a writable and
// executable text segment.
var mutations = map[string]func(t testing.TB, b []byte) []byte{
	"nosh":    func(t testing.TB, b []byte) []byte { return stripSections(t, b) },
	"nostack": func(t testing.TB, b []byte) []byte { return retagProg(t, b, elf.PT_GNU_STACK, elf.PT_NULL) },
	// DT_FLAGS becomes DT_CHECKSUM, a tag the loader ignores, leaving
	// DT_FLAGS_1 with DF_1_NOW as the only bind-now marker.
	"df1now": func(t testing.TB, b []byte) []byte { return retagDyn(t, b, elf.DT_FLAGS, elf.DT_CHECKSUM) },
	// The text segment made writable too, as -N (omagic) links do.
	"rwx": func(t testing.TB, b []byte) []byte { return setProgFlags(t, b, elf.PF_X, elf.PF_W) },
}
