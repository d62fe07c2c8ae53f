//go:build integration

package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests sign with the tools vendors use (GnuPG, OpenSSL, coreutils)
// and verify with netvet. Debian packages: gnupg, openssl, coreutils.

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package: gnupg, openssl or coreutils): %v", tool, err)
		}
	}
}

func sh(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func TestCoreutilsManifests(t *testing.T) {
	need(t, "sha256sum", "sha512sum")
	dir := t.TempDir()
	writeFile(t, dir, "fw.bin", bytes.Repeat([]byte("image"), 1000))
	writeFile(t, dir, "with space.bin", []byte("x"))
	writeFile(t, dir, "new\nline.bin", []byte("y"))
	for _, tc := range [][]string{
		{"sha256sum", "fw.bin", "with space.bin", "new\nline.bin"},
		{"sha256sum", "--tag", "fw.bin"},
		{"sha512sum", "-b", "fw.bin"},
		{"sha512sum", "--tag", "fw.bin"},
	} {
		out := sh(t, dir, nil, tc[0], tc[1:]...)
		m := writeFile(t, dir, "SUMS", out)
		r, err := Run(context.Background(), Options{Image: filepath.Join(dir, "fw.bin"), Manifest: m})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Verified || r.Summary.Match != 1 {
			t.Errorf("%v: %s %+v\n%s", tc, r.Verdict, r.Summary, out)
		}
		if strings.Contains(string(out), "new") {
			pm, _ := ParseManifest(out)
			found := false
			for _, e := range pm.Entries {
				found = found || e.Name == "new\nline.bin"
			}
			if !found {
				t.Errorf("escaped name not decoded: %q", out)
			}
		}
	}
}

func TestGnuPG(t *testing.T) {
	need(t, "gpg", "gpgconf")
	dir := t.TempDir()
	home := filepath.Join(dir, "gnupg")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"GNUPGHOME=" + home}
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run() })
	gpg := func(args ...string) []byte {
		return sh(t, dir, env, "gpg", append([]string{"--batch", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
	}
	gpg("--quick-generate-key", "Vendor Release <release@vendor.example>", "ed25519", "sign", "never")
	writeFile(t, dir, "vendor.asc", gpg("--armor", "--export"))
	img := bytes.Repeat([]byte("firmware"), 4096)
	image := writeFile(t, dir, "fw.bin", img)
	manifest := writeFile(t, dir, "SHA256SUMS", []byte(sha256hex(img)+"  fw.bin\n"))
	gpg("--armor", "--detach-sign", "-o", "SHA256SUMS.asc", "SHA256SUMS")
	gpg("--detach-sign", "-o", "SHA256SUMS.gpg", "SHA256SUMS")
	gpg("--clearsign", "-o", "SHA256SUMS.txt", "SHA256SUMS")
	key := filepath.Join(dir, "vendor.asc")

	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"armored", Options{Manifest: manifest, PGPSig: filepath.Join(dir, "SHA256SUMS.asc")}},
		{"binary", Options{Manifest: manifest, PGPSig: filepath.Join(dir, "SHA256SUMS.gpg")}},
		{"cleartext", Options{Manifest: filepath.Join(dir, "SHA256SUMS.txt")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Image, tc.o.Keys = image, []string{key}
			r, err := Run(context.Background(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Verified || r.Signatures[0].Verdict != Valid || !strings.Contains(r.Signatures[0].Signer, "Vendor Release") {
				t.Errorf("%s %+v", r.Verdict, r.Signatures)
			}
		})
	}
	// The manifest changed after gpg signed it.
	os.WriteFile(manifest, []byte(sha256hex(img)+"  fw.bin\n"+h256+"  x\n"), 0o644)
	r, err := Run(context.Background(), Options{Image: image, Manifest: manifest, PGPSig: filepath.Join(dir, "SHA256SUMS.asc"), Keys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verified || r.Signatures[0].Verdict != Invalid {
		t.Errorf("tampered: %s %+v", r.Verdict, r.Signatures)
	}
}

func TestOpenSSLCMS(t *testing.T) {
	need(t, "openssl")
	dir := t.TempDir()
	ossl := func(args ...string) { sh(t, dir, nil, "openssl", args...) }
	ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
		"-subj", "/CN=Vendor Root CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
	ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=Vendor Release Signing")
	writeFile(t, dir, "ext.cnf", []byte("keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n"))
	ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "10", "-extfile", "ext.cnf")
	ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "other.key", "-out", "other.pem", "-subj", "/CN=Other CA", "-days", "30")
	img := bytes.Repeat([]byte("firmware"), 4096)
	image := writeFile(t, dir, "fw.bin", img)
	manifest := writeFile(t, dir, "SHA256SUMS", []byte(sha256hex(img)+"  fw.bin\n"))
	ossl("cms", "-sign", "-binary", "-in", "SHA256SUMS", "-signer", "leaf.pem", "-inkey", "leaf.key", "-outform", "DER", "-out", "SHA256SUMS.p7s")
	ossl("cms", "-sign", "-binary", "-in", "SHA256SUMS", "-signer", "leaf.pem", "-inkey", "leaf.key", "-outform", "PEM", "-out", "SHA256SUMS.pem")
	ossl("cms", "-sign", "-binary", "-nodetach", "-in", "SHA256SUMS", "-signer", "leaf.pem", "-inkey", "leaf.key", "-outform", "DER", "-out", "SHA256SUMS.p7m")
	ca := filepath.Join(dir, "ca.pem")
	for _, tc := range []struct {
		name    string
		o       Options
		verdict string
	}{
		{"detached DER", Options{Manifest: manifest, CMSSig: filepath.Join(dir, "SHA256SUMS.p7s"), CAs: []string{ca}}, Valid},
		{"detached PEM", Options{Manifest: manifest, CMSSig: filepath.Join(dir, "SHA256SUMS.pem"), CAs: []string{ca}}, Valid},
		{"content inside", Options{CMSSig: filepath.Join(dir, "SHA256SUMS.p7m"), CAs: []string{ca}}, Valid},
		{"other CA", Options{Manifest: manifest, CMSSig: filepath.Join(dir, "SHA256SUMS.p7s"), CAs: []string{filepath.Join(dir, "other.pem")}}, UntrustedChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Image = image
			r, err := Run(context.Background(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Signatures[0].Verdict != tc.verdict || r.Verified != (tc.verdict == Valid) {
				t.Errorf("%s %+v", r.Verdict, r.Signatures)
			}
		})
	}
	os.WriteFile(manifest, []byte(sha256hex(img)+"  fw.bin\n\n"), 0o644)
	r, err := Run(context.Background(), Options{Image: image, Manifest: manifest, CMSSig: filepath.Join(dir, "SHA256SUMS.p7s"), CAs: []string{ca}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Signatures[0].Verdict != Invalid {
		t.Errorf("tampered: %+v", r.Signatures)
	}
}
