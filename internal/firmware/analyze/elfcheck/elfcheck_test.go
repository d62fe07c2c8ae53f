package elfcheck

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func inspectBytes(t testing.TB, b []byte) *Profile {
	t.Helper()
	p, err := Inspect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	return p
}

var arches = []struct{ name, machine, endian string }{
	{"x86_64", "x86-64", "little"}, {"aarch64", "AArch64", "little"}, {"armel", "ARM", "little"},
	{"mips", "MIPS", "big"}, {"mipsel", "MIPS", "little"}, {"powerpc", "PowerPC", "big"},
}

// TestInspectFixtures checks each build variant on every architecture
// against what build.sh asked the compiler and linker for.
func TestInspectFixtures(t *testing.T) {
	variants := []struct {
		name string
		want firmware.Binary
	}{
		{"hard", firmware.Binary{Type: "dyn", NX: true, PIE: true, RELRO: "full", Canary: true, Fortify: true,
			Stripped: true, Imports: []string{"system"}}},
		{"weak", firmware.Binary{Type: "exec", NX: false, RELRO: "none", RPath: "/tmp/lib",
			Imports: []string{"gets", "system"}}},
		{"server", firmware.Binary{Type: "dyn", NX: false, PIE: true, RELRO: "partial", Canary: true,
			RunPath: "$ORIGIN/../lib:lib", Stripped: true, Imports: []string{"strcpy", "system"}}},
		{"lib.so", firmware.Binary{Type: "dyn", NX: true, RELRO: "full", Canary: true, Stripped: true,
			Imports: []string{"strcpy"}}},
		{"static", firmware.Binary{Type: "exec", NX: true, RELRO: "none", Stripped: true, Static: true}},
	}
	for _, a := range arches {
		for _, v := range variants {
			t.Run(a.name+"-"+v.name, func(t *testing.T) {
				p := inspectBytes(t, readFixture(t, a.name+"-"+v.name))
				got := p.Binary(nil)
				want := v.want
				want.Machine, want.Endian = a.machine, a.endian
				want.Class = 32
				if a.name == "x86_64" || a.name == "aarch64" {
					want.Class = 64
				}
				if a.name[:4] == "mips" && v.name == "lib.so" {
					// Debian's MIPS toolchain marks the stack executable
					// unless told otherwise (FPU emulation trampolines).
					want.NX = false
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("profile\n got %+v\nwant %+v", got, want)
				}
				if len(p.Notes) > 0 {
					t.Errorf("notes: %v", p.Notes)
				}
				if v.name == "server" && len(serverImports(p)) == 0 {
					t.Error("server not recognised as network-facing by its imports")
				}
				if v.name == "hard" && p.BindNowTag != "DT_FLAGS DF_BIND_NOW" {
					t.Errorf("bind-now from %q", p.BindNowTag)
				}
			})
		}
	}
}

// TestInspectMutations covers what firmware holds and compilers do not
// make: no section headers, no PT_GNU_STACK, DF_1_NOW alone, RWX text.
func TestInspectMutations(t *testing.T) {
	for _, a := range arches {
		t.Run(a.name, func(t *testing.T) {
			hard := readFixture(t, a.name+"-hard")
			server := readFixture(t, a.name+"-server")

			// sstrip: the same verdicts from the program headers alone.
			for _, b := range [][]byte{hard, server} {
				want := inspectBytes(t, b).Binary(nil)
				p := inspectBytes(t, stripSections(t, b))
				if p.Sections {
					t.Error("sections read from a file without section headers")
				}
				if got := p.Binary(nil); !reflect.DeepEqual(got, want) {
					t.Errorf("without section headers\n got %+v\nwant %+v", got, want)
				}
			}

			p := inspectBytes(t, retagProg(t, hard, elf.PT_GNU_STACK, elf.PT_NULL))
			if p.NX() || p.GNUStack != nil {
				t.Error("no PT_GNU_STACK: NX reported")
			}
			wantExec := a.name != "aarch64"
			if p.ExecStack() != wantExec {
				t.Errorf("no PT_GNU_STACK on %s: ExecStack = %v, want %v", a.machine, p.ExecStack(), wantExec)
			}

			p = inspectBytes(t, retagDyn(t, hard, elf.DT_FLAGS, elf.DT_CHECKSUM))
			if p.RELRO() != "full" || p.BindNowTag != "DT_FLAGS_1 DF_1_NOW" {
				t.Errorf("DF_1_NOW alone: RELRO %s from %q", p.RELRO(), p.BindNowTag)
			}

			p = inspectBytes(t, setProgFlags(t, hard, elf.PF_X, elf.PF_W))
			if len(p.RWX) != 1 || p.RWX[0].Flags != elf.PF_R|elf.PF_W|elf.PF_X {
				t.Errorf("RWX segments = %+v", p.RWX)
			}
		})
	}
}

type recorder struct {
	mu       sync.Mutex
	findings []firmware.Finding
	bins     []firmware.Binary
}

func (r *recorder) Report(f firmware.Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.findings = append(r.findings, f)
}

func (r *recorder) Binary(b firmware.Binary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bins = append(r.bins, b)
}

func (r *recorder) byRule() map[string][]firmware.Finding {
	m := map[string][]firmware.Finding{}
	for _, f := range r.findings {
		m[f.Rule] = append(m[f.Rule], f)
	}
	return m
}

func fsPaths(fs []firmware.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.FSPath)
	}
	slices.Sort(out)
	return out
}

func TestAnalyze(t *testing.T) {
	x86weak := readFixture(t, "x86_64-weak")
	tr := fwtest.FS(t,
		fwtest.FileEntry("/usr/sbin/telnetd", string(readFixture(t, "mips-server")), 0o755),
		fwtest.FSEntry{Path: "/usr/bin/passwd", Data: string(x86weak), Mode: 0o755 | fs.ModeSetuid},
		fwtest.FileEntry("/bin/hard", string(readFixture(t, "armel-hard")), 0o755),
		fwtest.FileEntry("/lib/libfoo.so", string(readFixture(t, "mips-lib.so")), 0o755),
		fwtest.FileEntry("/usr/bin/tool", string(readFixture(t, "aarch64-weak")), 0o755),
		fwtest.FileEntry("/bin/init", string(readFixture(t, "powerpc-static")), 0o755),
		fwtest.FileEntry("/usr/sbin/uhttpd", string(setProgFlags(t, readFixture(t, "armel-hard"), elf.PF_X, elf.PF_W)), 0o755),
		fwtest.FileEntry("/bin/broken", string(x86weak[:40]), 0o755),
		fwtest.FileEntry("/etc/config", "option server 10.0.0.1\n", 0o644),
		fwtest.FileEntry("/bin/notelf", "\x7fELX not really", 0o755),
	)
	rec := &recorder{}
	if err := New().Analyze(context.Background(), tr, rec); err != nil {
		t.Fatal(err)
	}
	got := rec.byRule()
	want := map[string][]string{
		"NV-ELF-001": {"/usr/bin/passwd", "/usr/sbin/telnetd"},
		"NV-ELF-002": {""},
		"NV-ELF-003": {"/usr/sbin/uhttpd"},
		"NV-ELF-005": {"/usr/bin/passwd", "/usr/bin/tool", "/usr/sbin/telnetd"},
		"NV-ELF-006": {"/usr/bin/passwd", "/usr/bin/tool"},
		"NV-ELF-007": {"/usr/sbin/telnetd", "/usr/sbin/uhttpd"},
		"NV-ELF-008": {"/bin/broken"},
	}
	for rule, paths := range want {
		if g := fsPaths(got[rule]); !reflect.DeepEqual(g, paths) {
			t.Errorf("%s on %q, want %q", rule, g, paths)
		}
	}
	for rule := range got {
		if _, ok := want[rule]; !ok {
			t.Errorf("unexpected %s: %+v", rule, got[rule])
		}
	}
	if len(rec.bins) != 7 {
		t.Errorf("%d binaries reported, want 7", len(rec.bins))
	}

	files := map[string][]byte{}
	for _, f := range tr.Regular() {
		b, err := tr.ReadFile(f, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		files[f.FSPath] = b
	}
	for _, f := range rec.findings {
		if f.Analyzer != "elf" || f.Title == "" || f.Rationale == "" || f.Evidence == "" {
			t.Errorf("incomplete finding %+v", f)
		}
		b := files[f.FSPath]
		switch f.Rule {
		case "NV-ELF-001":
			// The offset is the PT_GNU_STACK program header: p_type there.
			order := binary.ByteOrder(binary.LittleEndian)
			if b[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
				order = binary.BigEndian
			}
			if f.Offset < 0 || elf.ProgType(order.Uint32(b[f.Offset:])) != elf.PT_GNU_STACK {
				t.Errorf("%s: offset %#x is not the PT_GNU_STACK header", f.FSPath, f.Offset)
			}
			if !strings.Contains(f.Evidence, "RWE") {
				t.Errorf("%s: evidence %q", f.FSPath, f.Evidence)
			}
		case "NV-ELF-002":
			if f.Path != fwtest.TreeImage+"/rootfs" || f.Offset != -1 ||
				!strings.HasPrefix(f.Evidence, "2 of 7 ELF files have an executable stack: /lib/libfoo.so, /usr/bin/tool") {
				t.Errorf("aggregate finding %+v", f)
			}
		case "NV-ELF-005":
			if f.Offset < 0 || !(bytes.HasPrefix(b[f.Offset:], []byte("/tmp/lib\x00")) || bytes.HasPrefix(b[f.Offset:], []byte("$ORIGIN/../lib:lib\x00"))) {
				t.Errorf("%s: offset %#x does not hold the search path", f.FSPath, f.Offset)
			}
		case "NV-ELF-006":
			if f.Offset < 0 || !bytes.HasPrefix(b[f.Offset:], []byte("gets\x00")) {
				t.Errorf("%s: offset %#x does not hold gets", f.FSPath, f.Offset)
			}
		case "NV-ELF-007":
			if f.Offset < 0 || !(bytes.HasPrefix(b[f.Offset:], []byte("system\x00")) || bytes.HasPrefix(b[f.Offset:], []byte("strcpy\x00"))) {
				t.Errorf("%s: offset %#x does not hold an import name", f.FSPath, f.Offset)
			}
			// Every name@offset pair in the evidence points at that name.
			for _, part := range strings.Split(strings.TrimPrefix(strings.SplitN(f.Evidence, " (", 2)[0], "imports "), ", ") {
				name, off, ok := strings.Cut(part, "@")
				o, err := strconv.ParseInt(off, 0, 64)
				if !ok || err != nil || o < 0 || o >= int64(len(b)) || !bytes.HasPrefix(b[o:], []byte(name+"\x00")) {
					t.Errorf("%s: evidence %q: %q not at %s", f.FSPath, f.Evidence, name, off)
				}
			}
		}
	}

	// Same input, same output.
	rec2 := &recorder{}
	New().Analyze(context.Background(), tr, rec2)
	if !reflect.DeepEqual(rec.findings, rec2.findings) || !reflect.DeepEqual(rec.bins, rec2.bins) {
		t.Error("two runs differ")
	}
}

func TestAnalyzeCancelled(t *testing.T) {
	tr := fwtest.FS(t, fwtest.FileEntry("/bin/a", string(readFixture(t, "x86_64-hard")), 0o755))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New().Analyze(ctx, tr, &recorder{}); err == nil {
		t.Fatal("cancelled analysis returned nil")
	}
}

func TestAnalyzeSizeCap(t *testing.T) {
	tr := fwtest.FS(t, fwtest.FileEntry("/bin/a", string(readFixture(t, "x86_64-hard")), 0o755))
	rec := &recorder{}
	if err := New(WithMaxSize(1024)).Analyze(context.Background(), tr, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.findings) != 1 || rec.findings[0].Rule != "NV-ELF-008" || len(rec.bins) != 0 {
		t.Fatalf("findings %+v, binaries %d", rec.findings, len(rec.bins))
	}
}

func TestRiskyPaths(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FSEntry{Path: "/data/lib", Type: firmware.TypeDir, Mode: 0o777},
		fwtest.FSEntry{Path: "/opt/lib", Type: firmware.TypeDir, Mode: 0o755},
		fwtest.FileEntry("/bin/x", "x", 0o755),
	)
	f := tr.Roots[0].Get("/bin/x")
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0}, {"/usr/lib", 0}, {"$ORIGIN/../lib", 0}, {"${ORIGIN}/lib", 0}, {"/opt/lib", 0},
		{"/tmp/lib", 1}, {"/var/tmp", 1}, {"/tmp", 1}, {"/tmpfoo", 0}, {"lib", 1}, {".", 1},
		{"/usr/lib:", 1}, {"/a::/b", 1}, {"/data/lib", 1}, {"/dev/shm/x:/mnt/usb", 2},
	} {
		if got := riskyPaths(f, c.in); len(got) != c.want {
			t.Errorf("riskyPaths(%q) = %q, want %d reasons", c.in, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	bs := []firmware.Binary{
		{Type: "exec", NX: true, RELRO: "full", Canary: true, Stripped: true},
		{Type: "dyn", PIE: true, NX: true, RELRO: "partial", Fortify: true},
		{Type: "dyn", PIE: false, NX: false, RELRO: "none"}, // shared library: left out
		{Type: "exec", NX: false, RELRO: "none", Stripped: true},
	}
	got := Summarize(bs)
	want := firmware.HardeningSummary{Binaries: 3, NX: 66.7, PIE: 33.3, RELRO: 33.3, Canary: 33.3, Fortify: 33.3, Stripped: 66.7}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if s := Summarize(nil); s != (firmware.HardeningSummary{}) {
		t.Fatalf("Summarize(nil) = %+v", s)
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.Name != "elf" || len(info.Rules) != 8 {
		t.Fatalf("info %+v", info)
	}
	firmware.NewAnalyzerRegistry(New()) // panics on a duplicate or empty rule ID
	for _, r := range info.Rules {
		if !strings.HasPrefix(r.ID, "NV-ELF-") || r.Title == "" || r.Rationale == "" || r.Severity == firmware.SeverityUnknown {
			t.Errorf("rule %+v", r)
		}
	}
}

// TestAnalyzePartial checks that a file whose section headers are broken
// on purpose is still profiled from its program headers, and that the
// gap is reported.
func TestAnalyzePartial(t *testing.T) {
	b := bytes.Clone(readFixture(t, "x86_64-server"))
	binary.LittleEndian.PutUint64(b[40:], 1<<62) // e_shoff far beyond the file
	tr := fwtest.FS(t, fwtest.FileEntry("/usr/sbin/httpd", string(b), 0o755))
	rec := &recorder{}
	if err := New().Analyze(context.Background(), tr, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.bins) != 1 || !rec.bins[0].PIE || !rec.bins[0].Canary || rec.bins[0].RunPath == "" {
		t.Fatalf("binaries %+v, findings %+v", rec.bins, rec.findings)
	}
	got := rec.byRule()["NV-ELF-008"]
	if len(got) != 1 || !strings.HasPrefix(got[0].Evidence, "profiled in part: section headers unreadable") {
		t.Fatalf("NV-ELF-008 findings %+v", got)
	}
	if len(rec.byRule()["NV-ELF-001"]) != 1 {
		t.Errorf("executable stack of the server not reported: %+v", rec.findings)
	}
}
