package keys

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pubLine reads an OpenSSH public key line and returns the key type and
// the fingerprint ssh-keygen prints for it.
func pubLine(t *testing.T, p string) (typ, fp string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("%s: no public key line", p)
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return f[0], sshFingerprint(blob)
}

func TestDropbearFixtures(t *testing.T) {
	cases := []struct {
		file, algo string
		bits       int
	}{
		{"dropbear_rsa", "RSA", 1024},
		{"dropbear_dss", "DSA", 1024},
		{"dropbear_ecdsa", "ECDSA P-256", 256},
		{"dropbear_ecdsa521", "ECDSA P-521", 521},
		{"dropbear_ed25519", "Ed25519", 256},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if !looksDropbear(b) {
				t.Fatal("prefix not recognised")
			}
			p, blob, err := parseDropbear(b)
			if err != nil {
				t.Fatal(err)
			}
			typ, fp := pubLine(t, filepath.Join("testdata", c.file+".pub"))
			if p.Algo != c.algo || p.Bits != c.bits || p.SSHType != typ || p.SSHFP != fp || sshFingerprint(blob) != fp {
				t.Errorf("got %+v, want %s %d %s %s", p, c.algo, c.bits, typ, fp)
			}
			// Any change to a field breaks the consistency checks or the
			// framing; none may panic, none may parse to another key.
			for i := 0; i < len(b); i += 7 {
				m := bytes.Clone(b)
				m[i] ^= 0x41
				if q, _, err := parseDropbear(m); err == nil && q.SSHFP == p.SSHFP {
					t.Errorf("byte %d flipped: still parses to the same key", i)
				}
			}
			for n := 0; n < len(b); n += 5 {
				if _, _, err := parseDropbear(b[:n]); err == nil {
					t.Errorf("truncated to %d bytes: parses", n)
				}
			}
		})
	}
}

// TestDropbearLive makes fresh keys with dropbearkey (Debian package
// dropbear-bin) and checks type, size and fingerprint against the public
// key dropbearkey prints.
func TestDropbearLive(t *testing.T) {
	if _, err := exec.LookPath("dropbearkey"); err != nil {
		t.Skip("dropbearkey not installed (Debian package dropbear-bin)")
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"-t", "rsa", "-s", "2048"}, {"-t", "ecdsa", "-s", "384"}, {"-t", "ed25519"}} {
		k := filepath.Join(dir, args[1])
		if out, err := exec.Command("dropbearkey", append(args, "-f", k)...).CombinedOutput(); err != nil {
			t.Fatalf("dropbearkey %v: %v: %s", args, err, out)
		}
		out, err := exec.Command("dropbearkey", "-y", "-f", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		var line string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ssh-") || strings.HasPrefix(sc.Text(), "ecdsa-") {
				line = sc.Text()
			}
		}
		os.WriteFile(k+".pub", []byte(line), 0o644)
		typ, fp := pubLine(t, k+".pub")
		b, _ := os.ReadFile(k)
		p, _, err := parseDropbear(b)
		if err != nil || p.SSHType != typ || p.SSHFP != fp {
			t.Errorf("%v: got %+v, %v; want %s %s", args, p, err, typ, fp)
		}
	}
}

func TestPEMFixtures(t *testing.T) {
	cases := []struct {
		file, algo, format string
		bits               int
		encrypted          bool
	}{
		{"pem_rsa1024_pkcs1.key", "RSA", "PKCS#1 PEM", 1024, false},
		{"pem_rsa1024_pkcs8.key", "RSA", "PKCS#8 PEM", 1024, false},
		{"pem_ec_sec1.key", "ECDSA P-256", "SEC 1 PEM", 256, false},
		{"pem_ed25519_pkcs8.key", "Ed25519", "PKCS#8 PEM", 256, false},
		{"pem_x25519_pkcs8.key", "X25519", "PKCS#8 PEM", 256, false},
		{"pem_dsa.key", "DSA", "OpenSSL DSA PEM", 1024, false},
		{"pem_dsa_pkcs8.key", "DSA", "PKCS#8 PEM", 1024, false},
		{"pem_ec_pkcs8_enc.key", "unknown algorithm", "encrypted PKCS#8 PEM", 0, true},
		{"pem_rsa_legacy_enc.key", "RSA", "PKCS#1 PEM", 0, true},
		{"openssh_ecdsa_pem", "ECDSA P-384", "SEC 1 PEM", 384, false},
		{"openssh_ed25519", "Ed25519", "OpenSSH", 256, false},
		{"openssh_rsa_enc", "RSA", "OpenSSH", 2048, true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var hits []hit
			if err := scanMarkers(context.Background(), bytes.NewReader(b), int64(len(b)), 1<<20, func(h hit) bool { hits = append(hits, h); return true }); err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].Off != 0 || hits[0].Line != 1 {
				t.Fatalf("hits %+v", hits)
			}
			seg, err := readBlock(bytes.NewReader(b), int64(len(b)), 0, hits[0].Label)
			if err != nil {
				t.Fatal(err)
			}
			blk, err := decodePEM(seg)
			if err != nil {
				t.Fatal(err)
			}
			k, err := parseKeyBlock(blk)
			if err != nil {
				t.Fatal(err)
			}
			if k.Pub.Algo != c.algo || k.Pub.Bits != c.bits || k.Format != c.format || k.Encrypted != c.encrypted {
				t.Errorf("got %+v", k)
			}
			if pub := filepath.Join("testdata", c.file+".pub"); fileNonEmpty(pub) {
				if _, fp := pubLine(t, pub); k.Pub.SSHFP != fp {
					t.Errorf("fingerprint %s, ssh-keygen says %s", k.Pub.SSHFP, fp)
				}
			}
			if spki, err := os.ReadFile(filepath.Join("testdata", c.file+".spki")); err == nil {
				if want := strings.TrimSpace(string(spki)); k.SPKI != want {
					t.Errorf("SPKI %s, openssl says %s", k.SPKI, want)
				}
			}
		})
	}
}

func fileNonEmpty(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Size() > 0
}

func TestPuTTYFixtures(t *testing.T) {
	cases := []struct {
		file, algo, comment, format string
		encrypted                   bool
	}{
		{"putty_rsa.ppk", "RSA", "putty@demo", "PuTTY v3", false},
		{"putty_ed25519_enc.ppk", "Ed25519", "putty-enc@demo", "PuTTY v3", true},
	}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		k, err := parsePuTTY(b)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		_, fp := pubLine(t, filepath.Join("testdata", c.file+".pub"))
		if k.Pub.Algo != c.algo || k.Comment != c.comment || k.Format != c.format || k.Encrypted != c.encrypted || k.Pub.SSHFP != fp {
			t.Errorf("%s: got %+v, fingerprint want %s", c.file, k, fp)
		}
	}
}
