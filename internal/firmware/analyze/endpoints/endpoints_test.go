package endpoints

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

type recorder struct {
	mu       sync.Mutex
	findings []firmware.Finding
}

func (r *recorder) Report(f firmware.Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.findings = append(r.findings, f)
}

func run(t *testing.T, tr *firmware.Tree, opts ...Option) []firmware.Finding {
	t.Helper()
	rec := &recorder{}
	if err := New(opts...).Analyze(context.Background(), tr, rec); err != nil {
		t.Fatal(err)
	}
	return rec.findings
}

type want struct {
	rule, fspath string
	sev          firmware.Severity
	offset       int64
	line         int
	evidence     string // prefix
}

func TestAnalyze(t *testing.T) {
	config := "# network\nconfig ntp\n\toption server pool.ntp.org\n\toption server 203.0.113.7\n" +
		"\toption backup 8.8.8.8\n\toption backup 8.8.8.8\n\toption lan 192.168.1.1\n" +
		"\toption cloud https://admin:hunter2@cloud.vendor.com/api\n\toption fw http://fw.vendor.com/latest.bin\n"
	bin := "\x7fELF\x01\x01\x00\x00" + strings.Repeat("\x00", 24) + "GLIBC_2.2.5\x00libc.so.6\x00" +
		"telemetry.vendor.com\x00\x01\x02ntp %s\x00198.18.0.1\x00" + "EXAMPLE.COM\x00fmt.ss\x00"
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/config/system", config, 0o644),
		fwtest.FileEntry("/usr/bin/agent", bin, 0o755),
		fwtest.FileEntry("/etc/empty", "", 0o644),
		fwtest.FileEntry("/etc/banner", "no endpoints here, version 1.2.3.4\n", 0o644),
	)
	got := run(t, tr)
	cfgOff := func(s string) int64 { return int64(strings.Index(config, s)) }
	binOff := func(s string) int64 { return int64(strings.Index(bin, s)) }
	wants := []want{
		{"NV-NET-004", "/etc/config/system", firmware.SeverityLow, cfgOff("pool.ntp.org"), 3, "pool.ntp.org (domain, public); 1 occurrence"},
		{"NV-NET-006", "/etc/config/system", firmware.SeverityInfo, cfgOff("203.0.113.7"), 4, "203.0.113.7 (IPv4, documentation)"},
		{"NV-NET-001", "/etc/config/system", firmware.SeverityMedium, cfgOff("8.8.8.8"), 5, "8.8.8.8 (IPv4, public); 2 occurrences"},
		{"NV-NET-005", "/etc/config/system", firmware.SeverityInfo, cfgOff("192.168.1.1"), 7, "192.168.1.1 (IPv4, private)"},
		{"NV-NET-003", "/etc/config/system", firmware.SeverityLow, cfgOff("https://"), 8,
			"https://admin:****@cloud.vendor.com/api (URL, host cloud.vendor.com, public, encrypted https, carries credentials (redacted))"},
		{"NV-NET-002", "/etc/config/system", firmware.SeverityMedium, cfgOff("http://fw"), 9, "http://fw.vendor.com/latest.bin (URL, host fw.vendor.com, public, cleartext http)"},
		{"NV-NET-004", "/usr/bin/agent", firmware.SeverityLow, binOff("telemetry"), 0, "telemetry.vendor.com (domain, public)"},
		{"NV-NET-005", "/usr/bin/agent", firmware.SeverityInfo, binOff("198.18"), 0, "198.18.0.1 (IPv4, reserved)"},
	}
	if len(got) != len(wants) {
		for _, f := range got {
			t.Logf("%s %s %d %q", f.Rule, f.FSPath, f.Offset, f.Evidence)
		}
		t.Fatalf("%d findings, want %d", len(got), len(wants))
	}
	files := map[string]string{"/etc/config/system": config, "/usr/bin/agent": bin}
	for i, w := range wants {
		f := got[i]
		if f.Rule != w.rule || f.FSPath != w.fspath || f.Severity != w.sev || f.Offset != w.offset || f.Line != w.line ||
			!strings.HasPrefix(f.Evidence, w.evidence) || f.Analyzer != "endpoints" || f.Path != fwtest.TreeImage+"/rootfs"+w.fspath {
			t.Errorf("finding %d\n got %+v\nwant %+v", i, f, w)
		}
		if strings.Contains(f.Evidence, "hunter2") {
			t.Errorf("password in evidence: %q", f.Evidence)
		}
		// The offset holds the endpoint as written (the URL's scheme, the
		// address, the name).
		data := files[f.FSPath]
		value := strings.Fields(f.Evidence)[0]
		if f.Rule == "NV-NET-003" {
			value = "https://admin:"
		}
		if !strings.HasPrefix(data[f.Offset:], value) {
			t.Errorf("offset %d of %s holds %q, not %q", f.Offset, f.FSPath, data[f.Offset:min(len(data), int(f.Offset)+20)], value)
		}
	}
	if again := run(t, tr); !reflect.DeepEqual(got, again) {
		t.Error("two runs differ")
	}
}

func TestAnalyzeLimits(t *testing.T) {
	var b bytes.Buffer
	for i := range 300 {
		fmt.Fprintf(&b, "host 10.0.1.%d\n", i%250)
	}
	tr := fwtest.FS(t, fwtest.FileEntry("/etc/hosts", b.String(), 0o644))
	got := run(t, tr, WithMaxPerFile(10))
	if len(got) != 11 {
		t.Fatalf("%d findings, want 10 + 1", len(got))
	}
	last := got[10]
	if last.Rule != "NV-NET-007" || last.Offset != -1 || !strings.HasPrefix(last.Evidence, "280 more occurrences") {
		t.Errorf("limit finding %+v", last)
	}

	got = run(t, tr, WithMaxBytes(100))
	last = got[len(got)-1]
	if last.Rule != "NV-NET-007" || !strings.Contains(last.Evidence, "only the first 100 of") {
		t.Errorf("size limit finding %+v", last)
	}
}

// TestContainersSkipped checks that a file recognised as a container
// (its content is unpacked elsewhere in the tree) is not scanned.
func TestContainersSkipped(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/fw/rootfs.gz", "8.8.8.8", 0o644),
		fwtest.FileEntry("/etc/x", "8.8.4.4", 0o644),
	)
	tr.Roots[0].Get("/fw/rootfs.gz").Format = "gzip"
	got := run(t, tr)
	if len(got) != 1 || got[0].FSPath != "/etc/x" {
		t.Fatalf("findings %+v", got)
	}
}

func TestAnalyzeCancelled(t *testing.T) {
	tr := fwtest.FS(t, fwtest.FileEntry("/etc/x", "8.8.8.8", 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New().Analyze(ctx, tr, &recorder{}); err == nil {
		t.Fatal("cancelled analysis returned nil")
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.Name != "endpoints" || len(info.Rules) != 8 {
		t.Fatalf("info %+v", info)
	}
	firmware.NewAnalyzerRegistry(New())
	for _, r := range info.Rules {
		if !strings.HasPrefix(r.ID, "NV-NET-") || r.Title == "" || r.Rationale == "" || r.Severity == firmware.SeverityUnknown {
			t.Errorf("rule %+v", r)
		}
	}
}

// TestReferences: endpoints in documentation (a git release note, a
// change log unpacked from .gz, a message catalog) and XML namespace
// identifiers in a binary are NV-NET-008 info, not hard-coded endpoints;
// the same text in a configuration file keeps its rule.
func TestReferences(t *testing.T) {
	notes := "Git 1.7.12.2 Release Notes\n\nFixes since 1.7.12.1\nsee http://www.kernel.org/pub/software/scm/git/\n"
	bin := "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 24) +
		"http://schemas.xmlsoap.org/soap/envelope/\x00http://www.w3.org/2001/XMLSchema-instance\x00http://fw.vendor.com/latest.bin\x00"
	tr := fwtest.FS(t,
		fwtest.FileEntry("/usr/share/doc/git/RelNotes/1.7.12.2.txt", notes, 0o644),
		fwtest.FileEntry("/usr/share/locale/de/LC_MESSAGES/dnsmasq.mo", "\xde\x12\x04\x95 Simon Kelley <simon@thekelleys.org.uk>\x00", 0o644),
		fwtest.FileEntry("/usr/sbin/hostapd", bin, 0o755),
		fwtest.FileEntry("/etc/config/update", "option url http://www.kernel.org/pub/software/scm/git/\n", 0o644),
		fwtest.FileEntry("/var/lib/dpkg/status", "Package: libgnutls30\nVersion: 3.7.9-2\nBreaks: libgnutls28 (<< 4.15.1.0)\nHomepage: https://www.gnutls.org/\n", 0o644),
	)
	got := run(t, tr)
	count := map[string]int{}
	for _, g := range got {
		count[g.FSPath+" "+g.Rule]++
		t.Logf("%s %s %d %s", g.Rule, g.FSPath, g.Offset, g.Evidence)
	}
	wantCount := map[string]int{
		"/usr/share/doc/git/RelNotes/1.7.12.2.txt NV-NET-008":    3, // two versions read as addresses, one URL
		"/usr/share/locale/de/LC_MESSAGES/dnsmasq.mo NV-NET-008": 1,
		"/usr/sbin/hostapd NV-NET-008":                           2,
		"/usr/sbin/hostapd NV-NET-002":                           1,
		"/etc/config/update NV-NET-002":                          1,
		"/var/lib/dpkg/status NV-NET-008":                        2, // a version read as an address, the home page
	}
	if !reflect.DeepEqual(count, wantCount) {
		t.Errorf("got %v, want %v", count, wantCount)
	}
	for _, g := range got {
		if g.Rule == "NV-NET-008" && g.Severity != firmware.SeverityInfo {
			t.Errorf("%s severity %v", g.Rule, g.Severity)
		}
	}
}
