package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// scanTime is the clock the tests give the analyser.
var scanTime = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func analyze(t testing.TB, a firmware.Analyzer, tr *firmware.Tree) []firmware.Finding {
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
		out = append(out, fmt.Sprintf("%s %s@%d:%d", f.Rule, f.FSPath, f.Offset, f.Line))
	}
	sort.Strings(out)
	return out
}

// certSpec describes a certificate the tests make.
type certSpec struct {
	cn        string
	ca        bool
	notAfter  time.Time
	key       crypto.Signer // the certificate's key; a new P-256 key if nil
	parent    *x509.Certificate
	parentKey crypto.Signer
}

// makeCert returns a PEM certificate and its key.
func makeCert(t testing.TB, s certSpec) (string, *x509.Certificate, crypto.Signer) {
	t.Helper()
	if s.key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s.key = k
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(int64(len(s.cn)) + 100),
		Subject:               pkix.Name{CommonName: s.cn},
		NotBefore:             time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              s.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
	}
	parent, parentKey := tmpl, s.key
	if s.parent != nil {
		parent, parentKey = s.parent, s.parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, s.key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), c, s.key
}

func keyPEM(t testing.TB, k crypto.Signer) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestAnalyze(t *testing.T) {
	rsa1024 := fixture(t, "pem_rsa1024_pkcs1.key")
	ecKey := fixture(t, "pem_ec_sec1.key")
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	// A device certificate with its key, self-signed and expired.
	devCert, _, devKey := makeCert(t, certSpec{cn: "router.local", notAfter: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)})
	// A CA bundle: two trust anchors.
	ca1, caCert, caKey := makeCert(t, certSpec{cn: "Root One", ca: true, notAfter: later})
	ca2, _, _ := makeCert(t, certSpec{cn: "Root Two", ca: true, notAfter: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	leaf, _, _ := makeCert(t, certSpec{cn: "acs.example", notAfter: later, parent: caCert, parentKey: caKey})

	binPrefix := "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00code", 40)
	escaped := strings.ReplaceAll(strings.TrimSpace(ecKey), "\n", `\n`)

	cases := []struct {
		name     string
		entries  []fwtest.FSEntry
		want     []string
		evidence map[string]string
	}{{
		name: "dropbear host keys",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/dropbear/dropbear_rsa_host_key", fixture(t, "dropbear_rsa"), 0o600),
			fwtest.FileEntry("/etc/dropbear/dropbear_ed25519_host_key", fixture(t, "dropbear_ed25519"), 0o600),
			fwtest.FileEntry("/usr/share/keys/backup_key", fixture(t, "dropbear_ecdsa"), 0o600),
		},
		want: []string{
			"NV-KEY-001 /usr/share/keys/backup_key@0:0",
			"NV-KEY-003 /etc/dropbear/dropbear_ed25519_host_key@0:0",
			"NV-KEY-003 /etc/dropbear/dropbear_rsa_host_key@0:0",
			"NV-KEY-007 /etc/dropbear/dropbear_rsa_host_key@0:0",
		},
		evidence: map[string]string{
			"NV-KEY-003": "Ed25519 256-bit SSH host key, dropbear, not encrypted; public key SHA256:",
			"NV-KEY-001": "ECDSA P-256 256-bit private key, dropbear",
			"NV-KEY-007": "RSA key of 1024 bits, below 2048",
		},
	}, {
		name: "PEM keys in text files and binaries",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/ssl/private/server.key", rsa1024, 0o600),
			fwtest.FileEntry("/usr/bin/app", binPrefix+"\n"+ecKey+"\x00tail", 0o755),
			fwtest.FileEntry("/etc/app.json", "{\n  \"tls\": {\"key\": \""+escaped+"\"}\n}\n", 0o644),
			fwtest.FileEntry("/etc/ssl/private/device.der", fixture(t, "der_rsa1024_pkcs8.der"), 0o600),
		},
		want: []string{
			"NV-KEY-001 /etc/app.json@20:2",
			"NV-KEY-001 /etc/ssl/private/server.key@0:1",
			"NV-KEY-001 /etc/ssl/private/device.der@0:0",
			"NV-KEY-007 /etc/ssl/private/device.der@0:0",
			fmt.Sprintf("NV-KEY-001 /usr/bin/app@%d:0", len(binPrefix)+1),
			"NV-KEY-007 /etc/ssl/private/server.key@0:1",
		},
		evidence: map[string]string{"NV-KEY-001": "RSA 1024-bit private key, PKCS#1 PEM, not encrypted; public key SHA256:"},
	}, {
		name: "OpenSSH, PuTTY and encrypted keys",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/ssh/ssh_host_ed25519_key", fixture(t, "openssh_ed25519"), 0o600),
			fwtest.FileEntry("/root/.ssh/id_rsa", fixture(t, "openssh_rsa_enc"), 0o600),
			fwtest.FileEntry("/home/vendor/tool.ppk", fixture(t, "putty_rsa.ppk"), 0o600),
			fwtest.FileEntry("/home/vendor/enc.ppk", "# note\n"+fixture(t, "putty_ed25519_enc.ppk"), 0o600),
			fwtest.FileEntry("/etc/legacy.pem", fixture(t, "pem_rsa_legacy_enc.key"), 0o600),
			fwtest.FileEntry("/etc/p8.pem", fixture(t, "pem_ec_pkcs8_enc.key"), 0o600),
			fwtest.FileEntry("/etc/dsa.pem", fixture(t, "pem_dsa.key"), 0o600),
		},
		want: []string{
			"NV-KEY-001 /etc/dsa.pem@0:1",
			"NV-KEY-001 /home/vendor/tool.ppk@0:1",
			"NV-KEY-002 /etc/legacy.pem@0:1",
			"NV-KEY-002 /etc/p8.pem@0:1",
			"NV-KEY-002 /home/vendor/enc.ppk@7:2",
			"NV-KEY-002 /root/.ssh/id_rsa@0:1",
			"NV-KEY-003 /etc/ssh/ssh_host_ed25519_key@0:1",
			"NV-KEY-007 /etc/dsa.pem@0:1",
			"NV-KEY-007 /home/vendor/tool.ppk@0:1",
		},
		evidence: map[string]string{
			"NV-KEY-002": "RSA 2048-bit private key, OpenSSH, encrypted (aes256-ctr); public key SHA256:",
			"NV-KEY-003": `comment "host@demo"`,
		},
	}, {
		name: "authorized_keys",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/root/.ssh/authorized_keys",
				"# vendor access\n"+
					`command="/bin/diag",no-pty `+strings.TrimSpace(fixture(t, "openssh_ed25519.pub"))+"\n"+
					"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDemoVendorSupportKeyNotARealKey support@vendor\n"+
					strings.TrimSpace(fixture(t, "dropbear_rsa.pub"))+"\n", 0o600),
		},
		want: []string{
			"NV-KEY-004 /root/.ssh/authorized_keys@16:2",
			"NV-KEY-004 /root/.ssh/authorized_keys@134:3",
			"NV-KEY-004 /root/.ssh/authorized_keys@219:4",
			"NV-KEY-007 /root/.ssh/authorized_keys@219:4",
		},
		evidence: map[string]string{
			"NV-KEY-004": `comment "support@vendor"; the key data does not parse`,
		},
	}, {
		name: "certificates",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/lighttpd/server.pem", keyPEM(t, devKey)+devCert, 0o600),
			fwtest.FileEntry("/etc/ssl/certs/ca-certificates.crt", ca1+ca2, 0o644),
			fwtest.FileEntry("/etc/cwmp/acs.pem", leaf, 0o644),
			fwtest.FileEntry("/etc/certs/sha1.pem", fixture(t, "cert_sha1.pem"), 0o644),
			fwtest.FileEntry("/etc/certs/md5.pem", fixture(t, "cert_md5.pem"), 0o644),
			fwtest.FileEntry("/etc/certs/sha1.der", fixture(t, "cert_sha1.der"), 0o644),
		},
		want: []string{
			"NV-KEY-001 /etc/lighttpd/server.pem@0:1",
			"NV-KEY-005 /etc/lighttpd/server.pem@241:6",
			"NV-KEY-006 /etc/lighttpd/server.pem@241:6",
			"NV-KEY-008 /etc/certs/md5.pem@0:1",
			"NV-KEY-009 /etc/certs/sha1.der@0:0",
			"NV-KEY-009 /etc/certs/sha1.pem@0:1",
		},
		evidence: map[string]string{
			"NV-KEY-001": `the certificate "CN=router.local" at /etc/lighttpd/server.pem has this public key`,
			"NV-KEY-005": "expired 2021-01-01T00:00:00Z: certificate subject \"CN=router.local\"",
			"NV-KEY-009": "SHA1-RSA signature",
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := fwtest.FS(t, c.entries...)
			got := analyze(t, NewWithOptions(Options{Now: scanTime}), tr)
			sort.Strings(c.want)
			if k := keys(got); !reflect.DeepEqual(k, c.want) {
				t.Errorf("findings:\n got %q\nwant %q", k, c.want)
				for _, f := range got {
					t.Logf("%s %s@%d:%d %s", f.Rule, f.FSPath, f.Offset, f.Line, f.Evidence)
				}
			}
			for _, f := range got {
				if f.Analyzer != "keys" || f.Title == "" || f.Rationale == "" || f.Path == "" {
					t.Errorf("%s: incomplete finding %+v", f.Rule, f)
				}
				if strings.Contains(f.Evidence, "PRIVATE KEY") || strings.Contains(f.Evidence, "MII") {
					t.Errorf("%s: evidence shows key material: %s", f.Rule, f.Evidence)
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
			// The same findings whatever the chunk size.
			small := analyze(t, NewWithOptions(Options{Now: scanTime, chunk: 37}), tr)
			if !reflect.DeepEqual(got, small) {
				t.Errorf("37-byte chunks give other findings:\n%q\n%q", keys(small), keys(got))
			}
		})
	}
}

// TestCleanControl runs the analyser on a sound image: a CA bundle, a
// public key, a current CA-issued certificate, and binaries that hold
// PEM marker strings as format constants. Nothing may be reported.
func TestCleanControl(t *testing.T) {
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ca1, caCert, caKey := makeCert(t, certSpec{cn: "Root One", ca: true, notAfter: later})
	ca2, _, _ := makeCert(t, certSpec{cn: "Root Two", ca: true, notAfter: later})
	leaf, _, _ := makeCert(t, certSpec{cn: "fw-update.example", notAfter: later, parent: caCert, parentKey: caKey})
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/ssl/certs/ca-certificates.crt", ca1+ca2, 0o644),
		fwtest.FileEntry("/etc/ssl/certs/update.pem", leaf, 0o644),
		fwtest.FileEntry("/etc/dropbear/authorized_keys.example", "", 0o644),
		fwtest.FileEntry("/root/.ssh/id_ed25519.pub", fixture(t, "openssh_ed25519.pub"), 0o644),
		fwtest.FileEntry("/usr/lib/libssl.so", "\x7fELF\x00-----BEGIN %s-----\x00-----BEGIN CERTIFICATE-----\x00-----END CERTIFICATE-----\x00-----BEGIN RSA PRIVATE KEY-----\x00PuTTY-User-Key-File-%d: %s\n", 0o755),
		fwtest.FileEntry("/usr/bin/dropbearkey", "\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x01\x03", 0o755),
	)
	for _, f := range analyze(t, NewWithOptions(Options{Now: scanTime}), tr) {
		t.Errorf("%s %s@%d %s", f.Rule, f.FSPath, f.Offset, f.Evidence)
	}
}

// TestContainerCopy checks that a key inside an uncompressed container is
// reported once, at the extracted file, while a key only in the
// container's own bytes is still reported there.
func TestContainerCopy(t *testing.T) {
	dir := t.TempDir()
	key := fixture(t, "pem_ec_sec1.key")
	other := fixture(t, "pem_ed25519_pkcs8.key")
	container := "tar header....\n" + key + "padding\n" + other
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("img.bin", container)
	write("x/etc/key.pem", key)
	root := &firmware.Root{Path: "img.bin/0x0.tar", Format: "tar"}
	files := []*firmware.File{
		{Path: "img.bin", Type: firmware.TypeFile, Disk: "img.bin", Size: int64(len(container)), UID: -1, GID: -1},
		{Path: "img.bin/0x0.tar/etc/key.pem", FSPath: "/etc/key.pem", Root: root, Type: firmware.TypeFile, Disk: "x/etc/key.pem", Size: int64(len(key)), Mode: 0o600},
	}
	tr, err := firmware.NewTree(dir, "", files)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	got := keys(analyze(t, NewWithOptions(Options{Now: scanTime}), tr))
	want := []string{
		"NV-KEY-001 /etc/key.pem@0:1",
		fmt.Sprintf("NV-KEY-001 @%d:%d", len(container)-len(other), strings.Count(container[:len(container)-len(other)], "\n")+1),
	}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestLimits checks the size cap and the per-file block cap.
func TestLimits(t *testing.T) {
	key := fixture(t, "pem_ec_sec1.key")
	tr := fwtest.FS(t,
		fwtest.FileEntry("/data/big", strings.Repeat("x", 2000)+key, 0o644),
		fwtest.FileEntry("/data/many", strings.Repeat(key, 5), 0o644),
	)
	got := analyze(t, NewWithOptions(Options{Now: scanTime, MaxFileSize: 1500, MaxBlocks: 3}), tr)
	if k := keys(got); len(k) != 3 || !strings.HasPrefix(k[0], "NV-KEY-001 /data/many@0:") {
		t.Errorf("got %q", k)
	}
}

func TestDeterministicAndCancel(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/dropbear/dropbear_rsa_host_key", fixture(t, "dropbear_rsa"), 0o600),
		fwtest.FileEntry("/etc/a.pem", fixture(t, "pem_rsa1024_pkcs1.key")+fixture(t, "cert_sha1.pem"), 0o600),
	)
	a := analyze(t, NewWithOptions(Options{Now: scanTime}), tr)
	b := analyze(t, NewWithOptions(Options{Now: scanTime}), tr)
	if !reflect.DeepEqual(a, b) || len(a) < 4 {
		t.Fatalf("runs differ or too few findings: %q %q", keys(a), keys(b))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New().Analyze(ctx, tr, firmware.ReporterFunc(func(firmware.Finding) {})); err != context.Canceled {
		t.Errorf("cancelled: got %v", err)
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	id := regexp.MustCompile(`^NV-KEY-\d{3}$`)
	if info.Name != "keys" || len(info.Rules) != 10 {
		t.Fatalf("info %+v", info)
	}
	for _, r := range info.Rules {
		if !id.MatchString(r.ID) || r.Title == "" || r.Rationale == "" || r.Severity == firmware.SeverityUnknown {
			t.Errorf("bad rule %+v", r)
		}
	}
	firmware.NewAnalyzerRegistry(New())
}
