package backdoor

import (
	"bytes"
	"context"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// noise returns n deterministic pseudo-random bytes, like the code and
// data around a string in a real binary.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// binaryWith embeds marker in an ELF-looking blob at offset off.
func binaryWith(seed uint64, size, off int, marker []byte) string {
	b := noise(seed, size)
	copy(b, "\x7fELF\x01\x01\x01\x00")
	copy(b[off:], marker)
	return string(b)
}

func run(t *testing.T, a firmware.Analyzer, tr *firmware.Tree) []firmware.Finding {
	t.Helper()
	var mu sync.Mutex
	var got []firmware.Finding
	err := a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) {
		mu.Lock()
		got = append(got, f)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func hexPattern(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const alphaScript = "#!/bin/sh\nif [ \"$1\" = \"start\" ]; then\n\timage_sign=`cat /etc/config/image_sign`\n\ttelnetd -l /usr/sbin/login -u Alphanetworks:$image_sign -i br0 &\nfi\n"

func TestRules(t *testing.T) {
	xc1 := hexPattern(t, "f30f1efa554889f54c89ce5389fb81e70000008048 83ec28 4889542418 48894c2410")
	op1 := hexPattern(t, "488d7c2408f3ab488d442408 4889d14c89c74889c2 e8 11223344 89c2")
	op2 := hexPattern(t, "31c04989ffb9160000004d89c5488d7c24484d89cef3ab488d442448")
	op3 := hexPattern(t, "4d8b6c2408458b3c244c8b631089857 8f1ffff31c083bd78f1ffff00f3ab7907")
	cases := []struct {
		name    string
		entries []fwtest.FSEntry
		rule    string // "" = no finding expected
		path    string
		offset  int64
		want    []string // substrings of the evidence
		notWant []string
	}{
		{
			name:    "dlink user agent in httpd",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/httpd", binaryWith(1, 40000, 0x1234, []byte("xmlset_roodkcableoj28840ybtide\x00")), 0o755)},
			rule:    "NV-BD-001", path: "/usr/sbin/httpd", offset: 0x1234,
			want: []string{`"xmlset_roodkcableoj28840ybtide" at offset 4660 (0x1234)`, "00001230  ", "78 6d 6c 73  65 74 5f 72", "|cableoj28840ybti|"},
		},
		{
			name:    "tenda magic",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/bin/httpd", binaryWith(2, 9000, 5000, []byte("w302r_mfg\x00")), 0o755)},
			rule:    "NV-BD-002", path: "/bin/httpd", offset: 5000,
		},
		{
			name:    "tenda rlink variant",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/bin/httpd", binaryWith(3, 9000, 77, []byte("rlink_mfg\x00")), 0o755)},
			rule:    "NV-BD-002", path: "/bin/httpd", offset: 77,
		},
		{
			name:    "netgear telnetenable",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/telnetenabled", binaryWith(4, 20000, 12000, []byte("AMBIT_TELNET_ENABLE+\x00")), 0o755)},
			rule:    "NV-BD-003", path: "/usr/sbin/telnetenabled", offset: 12000,
		},
		{
			name:    "sercomm scfgmgr by name",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/scfgmgr", binaryWith(5, 3000, 100, []byte("x")), 0o755)},
			rule:    "NV-BD-004", path: "/usr/sbin/scfgmgr", offset: -1,
			want: []string{"file named scfgmgr (3000 bytes, sha256 "},
		},
		{
			name:    "netcore igdmptd",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/bin/igdmptd", binaryWith(6, 8000, 4000, []byte("IGD MPT Interface daemon 1.0\x00")), 0o755)},
			rule:    "NV-BD-005", path: "/bin/igdmptd", offset: 4000,
		},
		{
			name:    "juniper password is redacted",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/boot/screenos.bin", binaryWith(7, 5000, 2000, []byte("<<< %s(un='%s') = %u\x00")), 0o644)},
			rule:    "NV-BD-006", path: "/boot/screenos.bin", offset: 2000,
			want:    []string{`"<<< ****************"`, "3c 3c 3c 20 ** **", "|<<< ****"},
			notWant: []string{"un='%s'", "28 75 6e"},
		},
		{
			name:    "fortinet secret is redacted",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/bin/sshd", binaryWith(8, 5000, 999, []byte("FGTAbc11*xy+Qqz27")), 0o755)},
			rule:    "NV-BD-007", path: "/bin/sshd", offset: 999,
			want:    []string{`"FGTA*************"`},
			notWant: []string{"Qqz27", "xy+"},
		},
		{
			name:    "zyxel password",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/zyshd", binaryWith(9, 5000, 10, []byte("PrOw!aN_fXp\x00zyfwp")), 0o755)},
			rule:    "NV-BD-008", path: "/usr/sbin/zyshd", offset: 10,
			notWant: []string{"aN_fXp"},
		},
		{
			name:    "alphanetworks telnet script",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/init0.d/S80telnetd.sh", alphaScript, 0o755)},
			rule:    "NV-BD-009", path: "/etc/init0.d/S80telnetd.sh", offset: int64(strings.Index(alphaScript, "-u Alpha")),
		},
		{
			name:    "zte airocon",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/bin/cfgmgr", binaryWith(10, 5000, 300, []byte("%sairocon\x00")), 0o755)},
			rule:    "NV-BD-010", path: "/bin/cfgmgr", offset: 302,
		},
		{
			name:    "xz function prologue in an ELF",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/lib/liblzma.so.5.6.1", binaryWith(11, 70000, 0x8000, xc1), 0o755)},
			rule:    "NV-BD-011", path: "/usr/lib/liblzma.so.5.6.1", offset: 0x8000,
			want: []string{"34-byte code signature at offset 32768"},
		},
		{
			name: "xz three opcode sequences with a wildcard",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/lib/liblzma.so.5",
				binaryWith(12, 70000, 0x100, append(append(append(append([]byte{}, op2...), 0x90, 0x90), op1...), append([]byte{0xcc}, op3...)...)), 0o755)},
			rule: "NV-BD-011", path: "/usr/lib/liblzma.so.5", offset: 0x100,
			want: []string{"with the other patterns of the signature at"},
		},
		{
			name:    "xz bytes outside an ELF do not count",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/data/blob", "garbage"+string(xc1), 0o644)},
		},
		{
			name: "two of three opcode sequences do not count",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/lib/liblzma.so.5",
				binaryWith(13, 70000, 0x100, append(append([]byte{}, op2...), op3...)), 0o755)},
		},
		{
			name: "wildcard mismatch outside the anchor",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/lib/liblzma.so.5",
				binaryWith(14, 70000, 0x100, append(append(append(append([]byte{}, op2...), op3...), op1[:len(op1)-2]...), 0x00, 0x00)), 0o755)},
		},
		{
			name:    "marker across a chunk boundary",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/data/big.bin", binaryWith(15, chunkSize+4096, chunkSize-7, []byte("xmlset_roodkcableoj28840ybtide")), 0o644)},
			rule:    "NV-BD-001", path: "/data/big.bin", offset: chunkSize - 7,
		},
		{
			name:    "a near miss is not a match",
			entries: []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/httpd", binaryWith(16, 4000, 100, []byte("xmlset_roodkcableoj28840ybtidE")), 0o755)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := fwtest.FS(t, tc.entries...)
			got := run(t, New(), tr)
			if tc.rule == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one finding, got %d: %+v", len(got), got)
			}
			f := got[0]
			if f.Rule != tc.rule || f.FSPath != tc.path || f.Offset != tc.offset || f.Analyzer != "backdoor" {
				t.Fatalf("got rule %s path %s offset %d analyzer %q, want %s %s %d", f.Rule, f.FSPath, f.Offset, f.Analyzer, tc.rule, tc.path, tc.offset)
			}
			if f.Severity < firmware.SeverityHigh || len(f.References) == 0 {
				t.Fatalf("severity %v refs %v", f.Severity, f.References)
			}
			for _, w := range tc.want {
				if !strings.Contains(f.Evidence, w) {
					t.Errorf("evidence lacks %q:\n%s", w, f.Evidence)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(f.Evidence, w) {
					t.Errorf("evidence shows %q:\n%s", w, f.Evidence)
				}
			}
		})
	}
}

// TestEvidenceMatchesFile checks the dump against the file bytes, the way
// a reader would with xxd.
func TestEvidenceMatchesFile(t *testing.T) {
	data := binaryWith(20, 600, 301, []byte("w302r_mfg"))
	tr := fwtest.FS(t, fwtest.FileEntry("/bin/httpd", data, 0o755))
	got := run(t, New(), tr)
	if len(got) != 1 {
		t.Fatalf("got %+v", got)
	}
	row := regexp.MustCompile(`(?m)^([0-9a-f]{8})  ((?:[0-9a-f]{2} {1,2}){1,16})`)
	rows := row.FindAllStringSubmatch(got[0].Evidence, -1)
	if len(rows) < 2 {
		t.Fatalf("no dump rows:\n%s", got[0].Evidence)
	}
	for _, r := range rows {
		off64, err := strconv.ParseInt(r[1], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		off := int(off64)
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(r[2]), " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		if off%16 != 0 || !bytes.Equal(b, []byte(data[off:off+len(b)])) {
			t.Fatalf("row %s does not match the file", r[0])
		}
	}
}

// TestCleanRootfs: an ordinary router filesystem raises nothing.
func TestCleanRootfs(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/bin/busybox", binaryWith(30, 300000, 5000, []byte("BusyBox v1.36.1 (2024-01-01) multi-call binary.\x00ash\x00sh\x00telnetd\x00")), 0o755),
		fwtest.SymlinkEntry("/bin/sh", "busybox"),
		fwtest.FileEntry("/usr/sbin/dropbear", binaryWith(31, 200000, 100, []byte("Dropbear sshd v2022.83\x00")), 0o755),
		fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/ash\n", 0o644),
		fwtest.FileEntry("/etc/init.d/dropbear", "#!/bin/sh /etc/rc.common\nSTART=19\nUSE_PROCD=1\nPROG=/usr/sbin/dropbear\n", 0o755),
		fwtest.FileEntry("/www/index.html", "<html>router</html>", 0o644),
	)
	if got := run(t, New(), tr); len(got) != 0 {
		t.Fatalf("clean tree gave %+v", got)
	}
}

func TestDropAncestors(t *testing.T) {
	in := []firmware.Finding{
		{Rule: "NV-BD-001", Path: "img.bin"},
		{Rule: "NV-BD-001", Path: "img.bin/squashfs/usr/sbin/httpd"},
		{Rule: "NV-BD-002", Path: "img.bin"},
		{Rule: "NV-BD-001", Path: "img.bin-2/x"},
	}
	got := dropAncestors(in)
	var paths []string
	for _, f := range got {
		paths = append(paths, f.Rule+" "+f.Path)
	}
	sort.Strings(paths)
	want := []string{"NV-BD-001 img.bin-2/x", "NV-BD-001 img.bin/squashfs/usr/sbin/httpd", "NV-BD-002 img.bin"}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v want %v", paths, want)
	}
}

// TestContainerAndChild: the same marker in an image and in a file
// extracted from it is reported once, on the extracted file.
func TestContainerAndChild(t *testing.T) {
	dir := t.TempDir()
	marker := "junk xmlset_roodkcableoj28840ybtide junk"
	if err := os.MkdirAll(filepath.Join(dir, "fs", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blob"), []byte("HDR"+marker), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fs", "bin", "httpd"), []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	root := &firmware.Root{Path: "img.bin/blob", Format: "cpio"}
	files := []*firmware.File{
		{Path: "img.bin/blob", Type: firmware.TypeFile, Disk: "blob"},
		{Path: "img.bin/blob/bin/httpd", FSPath: "/bin/httpd", Root: root, Type: firmware.TypeFile, Disk: "fs/bin/httpd"},
	}
	tr, err := firmware.NewTree(dir, "", files)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	got := run(t, New(), tr)
	if len(got) != 1 || got[0].Path != "img.bin/blob/bin/httpd" || got[0].Offset != 5 {
		t.Fatalf("got %+v", got)
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.Name != "backdoor" || len(info.Rules) != len(signatures) {
		t.Fatalf("info %+v", info)
	}
	seen := map[string]bool{}
	for _, r := range info.Rules {
		if !regexp.MustCompile(`^NV-BD-\d{3}$`).MatchString(r.ID) || seen[r.ID] {
			t.Errorf("bad or duplicate rule ID %q", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || r.Rationale == "" || len(r.References) == 0 || r.Severity < firmware.SeverityHigh {
			t.Errorf("rule %s incomplete: %+v", r.ID, r)
		}
	}
	// The docs table lists every rule.
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "analyzers-services-fs-backdoor.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ruleIDs() {
		if !bytes.Contains(doc, []byte("| "+id+" |")) {
			t.Errorf("docs table lacks %s", id)
		}
	}
}

func TestCancel(t *testing.T) {
	tr := fwtest.FS(t, fwtest.FileEntry("/data/a", "w302r_mfg", 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New().Analyze(ctx, tr, firmware.ReporterFunc(func(firmware.Finding) {})); err == nil {
		t.Fatal("cancelled context: want an error")
	}
}

func TestParseHex(t *testing.T) {
	for _, tc := range []struct {
		in          string
		ok          bool
		anchorOff   int
		anchorLen   int
		exactAnchor bool
	}{
		{"41 42 43", true, 0, 3, true},
		{"41 ?? 42 43 44 ?? 45", true, 2, 3, false},
		{"?? ??", false, 0, 0, false},
		{"", false, 0, 0, false},
		{"4", false, 0, 0, false},
		{"zz", false, 0, 0, false},
		{"123", false, 0, 0, false},
	} {
		p, err := parseHex(tc.in)
		if (err == nil) != tc.ok {
			t.Fatalf("%q: err %v", tc.in, err)
		}
		if !tc.ok {
			continue
		}
		if p.anchorOff != tc.anchorOff || p.anchorLen != tc.anchorLen || p.exact() != tc.exactAnchor {
			t.Fatalf("%q: got %+v", tc.in, p)
		}
	}
}

// naive finds every occurrence of every anchor.
func naive(anchors [][]byte, data []byte) map[[2]int64]bool {
	out := map[[2]int64]bool{}
	for id, a := range anchors {
		for i := 0; i+len(a) <= len(data); i++ {
			if bytes.Equal(data[i:i+len(a)], a) {
				out[[2]int64{int64(id), int64(i)}] = true
			}
		}
	}
	return out
}

func automatonHits(a *automaton, data []byte, chunk int) map[[2]int64]bool {
	out := map[[2]int64]bool{}
	var s int32
	for base := 0; base < len(data); base += chunk {
		end := min(base+chunk, len(data))
		s = a.feed(s, data[base:end], int64(base), func(id int, start int64) {
			out[[2]int64{int64(id), start}] = true
		})
	}
	return out
}

var fuzzAnchors = [][]byte{[]byte("ab"), []byte("abab"), []byte("bab"), []byte("b"), []byte("w302r_mfg"), []byte("aab"), []byte("\x00\xff")}

func TestAutomatonAgainstNaive(t *testing.T) {
	a := newAutomaton(fuzzAnchors)
	for seed := uint64(0); seed < 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		data := make([]byte, r.IntN(300))
		for i := range data {
			data[i] = "abw302r_mfg\x00\xff"[r.IntN(13)]
		}
		chunk := 1 + r.IntN(17)
		if got, want := automatonHits(a, data, chunk), naive(fuzzAnchors, data); !equalSets(got, want) {
			t.Fatalf("seed %d: automaton %v naive %v", seed, got, want)
		}
	}
}

func equalSets(a, b map[[2]int64]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func FuzzAutomaton(f *testing.F) {
	f.Add([]byte("xxababab w302r_mfg\x00\xffb"), uint8(3))
	f.Add([]byte("aab"), uint8(1))
	a := newAutomaton(fuzzAnchors)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		c := int(chunk%64) + 1
		if got, want := automatonHits(a, data, c), naive(fuzzAnchors, data); !equalSets(got, want) {
			t.Fatalf("automaton %v naive %v", got, want)
		}
	})
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"41 42", "?? 41", "41 ?? ?? 42 43", "f3 0f 1e fa"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseHex(s)
		if err != nil {
			return
		}
		if p.anchorLen == 0 || p.anchorOff+p.anchorLen > len(p.b) {
			t.Fatalf("bad anchor %+v", p)
		}
		if !p.matchAt(append([]byte(nil), p.b...)) {
			t.Fatalf("pattern does not match its own bytes")
		}
	})
}

func FuzzScanFile(f *testing.F) {
	f.Add([]byte("\x7fELF junk xmlset_roodkcableoj28840ybtide PrOw!aN_fXp"))
	f.Add([]byte("w302r_mfg"))
	a := NewWithOptions(Options{})
	dir := f.TempDir()
	root := &firmware.Root{Path: "img/fs", Format: "tar"}
	file := &firmware.File{Path: "img/fs/f", FSPath: "/f", Root: root, Type: firmware.TypeFile, Disk: "f"}
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
		f.Fatal(err)
	}
	tr, err := firmware.NewTree(dir, "", []*firmware.File{file})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { tr.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		file.Size = int64(len(data))
		_ = a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(fd firmware.Finding) {
			if fd.Offset < -1 || fd.Offset > int64(len(data)) {
				t.Fatalf("offset %d outside the file", fd.Offset)
			}
		}))
	})
}

// BenchmarkScan measures the search speed over a 16 MiB binary.
func BenchmarkScan(b *testing.B) {
	const size = 16 << 20
	tr := fwtest.FS(b, fwtest.FileEntry("/usr/lib/blob.so", binaryWith(99, size, size/2, []byte("w302r_mfg")), 0o755))
	a := New()
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(firmware.Finding) { n++ })); err != nil || n != 1 {
			b.Fatal(err, n)
		}
	}
}
