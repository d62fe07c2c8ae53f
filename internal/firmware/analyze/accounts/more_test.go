package accounts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestCleanControl runs the analyser on the account files of a sound
// image: strong SHA-512 hashes, one root, services without shells, shadow
// readable by root only. Nothing may be reported.
func TestCleanControl(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/ash\ndaemon:*:1:1:daemon:/var:/bin/false\nftp:*:55:55:ftp:/home/ftp:/bin/false\nnetwork:*:101:101:network:/var:/bin/false\nnobody:*:65534:65534:nobody:/var:/bin/false\n", 0o644),
		fwtest.FileEntry("/etc/shadow", "root:"+hashStrong512+":19000:0:99999:7:::\ndaemon:*:0:0:99999:7:::\nftp:*:0:0:99999:7:::\nnetwork:!:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n", 0o600),
		fwtest.FileEntry("/etc/group", "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n", 0o644),
		fwtest.FileEntry("/etc/pam.d/passwd", "password required pam_unix.so sha512\n", 0o644),
	)
	if got := analyze(t, New(), tr); len(got) != 0 {
		for _, f := range got {
			t.Errorf("%s %s:%d %s", f.Rule, f.FSPath, f.Line, f.Evidence)
		}
	}
}

// TestDeterministic runs the analyser twice on the same tree.
func TestDeterministic(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/passwd", "root::0:0:root:/root:/bin/sh\nadmin:x:0:0::/:/bin/sh\nbin:x:2:2::/:/bin/sh\n", 0o644),
		fwtest.FileEntry("/etc/shadow", "admin:"+hashXc3511DES+":1::::::\nbin:"+hashStrong256+":1::::::\n", 0o644),
		fwtest.FileEntry("/rom/etc/passwd", "root:"+hashUbntMD5+":0:0:root:/root:/bin/sh\n", 0o644),
	)
	a := analyze(t, New(), tr)
	b := analyze(t, New(), tr)
	if !reflect.DeepEqual(a, b) || len(a) == 0 {
		t.Fatalf("two runs differ or are empty:\n%v\n%v", a, b)
	}
	for i := 1; i < len(a); i++ {
		if a[i-1].Severity < a[i].Severity {
			t.Errorf("findings not sorted: %v before %v", a[i-1], a[i])
		}
	}
}

// TestTimeout checks the wall-clock guard and cancellation.
func TestTimeout(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/false\n", 0o644),
		fwtest.FileEntry("/etc/shadow", "root:"+hashStrong512+":1::::::\n", 0o600),
	)
	got := analyze(t, NewWithOptions(Options{CrackTimeout: time.Nanosecond}), tr)
	if len(got) != 1 || got[0].Rule != RuleIncomplete.ID || !strings.Contains(got[0].Evidence, "wall-clock timeout") {
		t.Errorf("timeout: got %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := New().Analyze(ctx, tr, firmware.ReporterFunc(func(firmware.Finding) {}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.Name != "accounts" || len(info.Rules) != 12 {
		t.Fatalf("info %+v", info)
	}
	id := regexp.MustCompile(`^NV-ACCT-\d{3}$`)
	seen := map[string]bool{}
	for _, r := range info.Rules {
		if !id.MatchString(r.ID) || seen[r.ID] || r.Title == "" || r.Rationale == "" || r.Severity == firmware.SeverityUnknown {
			t.Errorf("bad rule %+v", r)
		}
		seen[r.ID] = true
	}
	firmware.NewAnalyzerRegistry(New()) // panics on a duplicate rule
}

// TestDefaultList checks the bundled list: no duplicates, every entry
// sourced, about a hundred entries.
func TestDefaultList(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range defaultPasswords {
		if d.Password == "" || d.Source == "" || seen[d.Password] {
			t.Errorf("bad entry %+v", d)
		}
		seen[d.Password] = true
	}
	if n := len(defaultPasswords); n < 80 || n > 120 {
		t.Errorf("%d entries", n)
	}
}

// TestDemoRootfs runs the analyser on the account files of the bundled
// demo image's rootfs (examples/firmware/rootfs) with the modes
// examples/firmware/make.sh gives them.
func TestDemoRootfs(t *testing.T) {
	const dir = "../../../../examples/firmware/rootfs/etc/"
	var entries []fwtest.FSEntry
	for name, mode := range map[string]fs.FileMode{"passwd": 0o644, "shadow": 0o600} {
		b, err := os.ReadFile(dir + name)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, fwtest.FileEntry("/etc/"+name, string(b), mode))
	}
	got := analyze(t, New(), fwtest.FS(t, entries...))
	want := []string{
		"NV-ACCT-001 /etc/passwd:1", // root with an empty password
		"NV-ACCT-003 /etc/shadow:4", // support: DES hash of "password"
		"NV-ACCT-004 /etc/passwd:2", // admin, UID 0
		"NV-ACCT-007 /etc/shadow:4", // support: DES
		"NV-ACCT-008 /etc/shadow:2", // admin: MD5-crypt
	}
	if k := keys(got); !reflect.DeepEqual(k, want) {
		t.Errorf("got %q\nwant %q", k, want)
	}
	for _, f := range got {
		t.Logf("%s %s %s:%d %s", f.Severity, f.Rule, f.FSPath, f.Line, f.Evidence)
	}
}

// TestDocumentedList checks that the rule documentation lists the bundled
// passwords with the numbers the evidence cites.
func TestDocumentedList(t *testing.T) {
	b, err := os.ReadFile("../../../../docs/analyzers-accounts-keys-secrets.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for i, d := range defaultPasswords {
		if want := fmt.Sprintf(" %d `%s`", i+1, d.Password); !strings.Contains(doc, want) {
			t.Errorf("documentation lacks %q", want)
		}
	}
}
