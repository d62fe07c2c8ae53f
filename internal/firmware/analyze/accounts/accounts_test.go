package accounts

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// Hashes made with Python's crypt module (glibc/libxcrypt).
const (
	hashUbntMD5    = "$1$ubnt$HPfMreyctiQ6WmyxxMtm10"                                                                     // "ubnt"
	hashXc3511DES  = "x9r/SC8HXHwfw"                                                                                      // "xc3511"
	hashEmptyMD5   = "$1$empty$dcN8YAzH./JGClDgyY17.."                                                                    // ""
	hashSupportGrp = "$1$grp$zpBNcT0eIirmHf6pZS33W."                                                                      // "support"
	hashZteSHA512  = "$6$abcdefgh$sXZ7ZYVdBySvxep6Fje9/A2bkW1YVl8I4KbdMpfZZVFShJjiiK24T8GUPqBzXfFJIdZPwatYVeWyn4Qh3mPLA1" // "Zte521"
	hashStrong512  = "$6$Kq2vN1zR$cUIaBfK/SKl4eGJSf11/VjAfMqw0dBGQgmGRoP1YNUQDBCtoVo1MqZcWqcQOdt3XcZZWZAc5pIeYvKWU9w1oR0"
	hashStrong256  = "$5$rounds=2000$Kq2vN1zR$awnESnYv97wb76axbrLUl8KNnY3FK33tsDnyffwx4UB"
	hashAdminBC12  = "$2b$12$abcdefghijklmnopqrstuu12w/m81itNBaKxNG/AZzaB5lMPiIWPq" // "admin", cost 12
	hashYescrypt   = "$y$j9T$saltsaltsalt$7VoO/HtDEcM.KM8uU9NtM0d1fmLvzNbYjrDgg5MfJsB"
)

var allHashes = []string{hashUbntMD5, hashXc3511DES, hashEmptyMD5, hashSupportGrp, hashZteSHA512, hashStrong512, hashStrong256, hashAdminBC12, hashYescrypt}

func analyze(t *testing.T, a firmware.Analyzer, tr *firmware.Tree) []firmware.Finding {
	t.Helper()
	var got []firmware.Finding
	if err := a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) { got = append(got, f) })); err != nil {
		t.Fatal(err)
	}
	return got
}

func keys(fs []firmware.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d", f.Rule, f.FSPath, f.Line))
	}
	sort.Strings(out)
	return out
}

func TestAnalyze(t *testing.T) {
	cases := []struct {
		name    string
		entries []fwtest.FSEntry
		opts    Options
		want    []string
		// evidence substrings expected in the finding of each rule
		evidence map[string]string
	}{{
		name: "openwrt passwd holds the hash",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/passwd", "root:"+hashUbntMD5+":0:0:root:/root:/bin/ash\ndaemon:*:1:1:daemon:/var:/bin/false\n", 0o644),
		},
		want: []string{"NV-ACCT-003 /etc/passwd:1", "NV-ACCT-008 /etc/passwd:1", "NV-ACCT-009 /etc/passwd:1"},
		evidence: map[string]string{
			"NV-ACCT-003": `root:$1$ubnt$**********************:0:0:root:/root:/bin/ash (MD5-crypt ($1$) hash of the password "u***": default list entry 26`,
			"NV-ACCT-009": "mode 0644",
		},
	}, {
		name: "empty passwords",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/passwd", "# accounts\nroot::0:0:root:/root:/bin/ash\nftp::21:21:ftp:/srv:/bin/false\nguest::1001:1001:guest:/home/guest:\n", 0o644),
		},
		want: []string{"NV-ACCT-001 /etc/passwd:2", "NV-ACCT-001 /etc/passwd:4", "NV-ACCT-002 /etc/passwd:3"},
		evidence: map[string]string{
			"NV-ACCT-002": "ftp::21:21:ftp:/srv:/bin/false (password field empty, shell /bin/false)",
		},
	}, {
		name: "shadow beside passwd",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nadmin:x:0:0:admin:/root:/bin/sh\nsupport:x:1000:1000::/home/support:/bin/sh\nbin:x:2:2:bin:/bin:/bin/sh\nsync:x:4:65534:sync:/bin:/bin/sync\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\nlost:x:1001:1001::/:/bin/sh\n", 0o644),
			fwtest.FileEntry("/etc/shadow", "root:"+hashStrong512+":19000:0:99999:7:::\nadmin:"+hashXc3511DES+":19000:0:99999:7:::\nsupport:"+hashStrong256+":19000::::::\nbin:"+hashStrong512+":19000:0:99999:7:::\nsync:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640),
		},
		want: []string{
			"NV-ACCT-003 /etc/shadow:2", "NV-ACCT-004 /etc/passwd:2", "NV-ACCT-005 /etc/passwd:4",
			"NV-ACCT-006 /etc/passwd:6", "NV-ACCT-007 /etc/shadow:2",
		},
		evidence: map[string]string{
			"NV-ACCT-003": `admin:x9***********:19000:0:99999:7::: (DES crypt hash of the password "x*****": default list entry 10`,
			"NV-ACCT-004": "admin:x:0:0:admin:/root:/bin/sh (UID 0, shell /bin/sh)",
			"NV-ACCT-005": "bin:x:2:2:bin:/bin:/bin/sh (UID 2, shell /bin/sh, password usable)",
			"NV-ACCT-006": "(UID 65534, shell /bin/sh, password locked or absent)",
		},
	}, {
		name: "world-readable shadow and the account's own name",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
			fwtest.FileEntry("/etc/shadow", "root:"+hashZteSHA512+":19000:0:99999:7:::\n", 0o644),
		},
		opts: Options{Passwords: []string{"Zte521"}},
		want: []string{"NV-ACCT-003 /etc/shadow:1", "NV-ACCT-012 /etc/shadow:0"},
		evidence: map[string]string{
			"NV-ACCT-012": "mode 0644, 1 password hash(es)",
			"NV-ACCT-003": "default list entry 1, caller's list",
		},
	}, {
		name: "hash of the empty password, yescrypt, plaintext",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nop:x:500:500::/:/bin/sh\nweb:admin:1002:1002::/www:/bin/false\n", 0o600),
			fwtest.FileEntry("/etc/shadow", "root:"+hashEmptyMD5+":1::::::\nop:"+hashYescrypt+":1::::::\n", 0o600),
		},
		want: []string{
			"NV-ACCT-001 /etc/shadow:1", "NV-ACCT-005 /etc/passwd:2", "NV-ACCT-008 /etc/shadow:1",
			"NV-ACCT-010 /etc/passwd:3", "NV-ACCT-010 /etc/shadow:2",
		},
		evidence: map[string]string{
			"NV-ACCT-001": "root:$1$empty$**********************:1:::::: (hash of the empty password, shell /bin/sh)",
			"NV-ACCT-010": "web:*****:1002:1002::/www:/bin/false (not a crypt(3) hash",
		},
	}, {
		name: "symlinked account files pair through the link",
		entries: []fwtest.FSEntry{
			fwtest.SymlinkEntry("/etc/passwd", "/rom/passwd.def"),
			fwtest.SymlinkEntry("/etc/shadow", "../rom/shadow.def"),
			fwtest.FileEntry("/rom/passwd.def", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
			fwtest.FileEntry("/rom/shadow.def", "root:"+hashUbntMD5+":19000:0:99999:7:::\n", 0o600),
		},
		want: []string{"NV-ACCT-003 /rom/shadow.def:1", "NV-ACCT-008 /rom/shadow.def:1"},
	}, {
		name: "group password",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/group", "root:x:0:\nadmin:"+hashSupportGrp+":10:root,support\nusers::100:\n", 0o644),
		},
		want: []string{"NV-ACCT-003 /etc/group:2", "NV-ACCT-008 /etc/group:2"},
	}, {
		name: "files named passwd that are not account files",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/pam.d/passwd", "@include common-password\npassword required pam_unix.so\n", 0o644),
			fwtest.FileEntry("/usr/bin/passwd", "\x7fELF\x02\x01\x01\x00root::0:0:root:/root:/bin/sh\n", 0o755),
		},
		want: nil,
	}, {
		name: "shadow without passwd, and a backup pair",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/shadow", "root::19000:0:99999:7:::\n", 0o600),
			fwtest.FileEntry("/etc/passwd-", "root:x:0:0:root:/root:/bin/sh\nghost:x:0:0::/:/bin/false\n", 0o644),
			fwtest.FileEntry("/etc/shadow-", "root:!"+hashUbntMD5+":19000::::::\nubnt:"+hashUbntMD5+":1::::::\n", 0o600),
		},
		want: []string{
			"NV-ACCT-001 /etc/shadow:1", "NV-ACCT-003 /etc/shadow-:2", "NV-ACCT-004 /etc/passwd-:2", "NV-ACCT-008 /etc/shadow-:2",
		},
		evidence: map[string]string{
			"NV-ACCT-001": "no passwd file beside it: shell unknown",
			"NV-ACCT-003": "own name",
		},
	}, {
		name: "bcrypt cost beyond the per-hash budget",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/shadow", "root:"+hashAdminBC12+":1::::::\n", 0o600),
			fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
		},
		want:     []string{"NV-ACCT-011 /etc/shadow:1"},
		evidence: map[string]string{"NV-ACCT-011": "0 of 98 candidates tested; one test costs about 369ms, more than the per-hash budget of 200ms"},
		opts:     Options{CrackPerHash: 200 * time.Millisecond},
	}, {
		name: "total budget runs out in file order",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/passwd", "a:x:1000:1000::/:/bin/false\nb:x:1001:1001::/:/bin/false\n", 0o644),
			fwtest.FileEntry("/etc/shadow", "a:"+hashStrong512+":1::::::\nb:"+hashStrong512+":1::::::\n", 0o600),
		},
		opts:     Options{CrackBudget: 150 * time.Millisecond},
		want:     []string{"NV-ACCT-011 /etc/shadow:1", "NV-ACCT-011 /etc/shadow:2"},
		evidence: map[string]string{"NV-ACCT-011": "total budget"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := fwtest.FS(t, c.entries...)
			got := analyze(t, NewWithOptions(c.opts), tr)
			if k := keys(got); !reflect.DeepEqual(k, c.want) {
				t.Errorf("findings:\n got %q\nwant %q", k, c.want)
				for _, f := range got {
					t.Logf("%s %s:%d %s", f.Rule, f.FSPath, f.Line, f.Evidence)
				}
			}
			for _, f := range got {
				for _, h := range allHashes {
					if strings.Contains(f.Evidence, h) {
						t.Errorf("%s: evidence shows a hash: %s", f.Rule, f.Evidence)
					}
				}
				if f.Analyzer != "accounts" || f.Title == "" || f.Rationale == "" || f.Path == "" {
					t.Errorf("%s: incomplete finding %+v", f.Rule, f)
				}
				if f.Offset < 0 && f.Line != 0 || f.Offset >= 0 && f.Line == 0 {
					t.Errorf("%s: offset %d with line %d", f.Rule, f.Offset, f.Line)
				}
			}
			for rule, want := range c.evidence {
				found := false
				for _, f := range got {
					if f.Rule == rule && strings.Contains(f.Evidence, want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no %s finding with evidence containing %q", rule, want)
				}
			}
		})
	}
}
