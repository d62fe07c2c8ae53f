package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture is an image with a manifest naming it among other models.
type fixture struct {
	dir, image, manifest string
	imageData, mdata     []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	img := bytes.Repeat([]byte("router firmware 1.2.3\x00\x01"), 500)
	f := &fixture{dir: dir, imageData: img}
	f.image = writeFile(t, dir, "fw.bin", img)
	f.mdata = []byte(sha256hex(img) + "  fw.bin\n" + h256 + "  other-model.bin\n")
	f.manifest = writeFile(t, dir, "SHA256SUMS", f.mdata)
	return f
}

func run(t *testing.T, o Options) *Report {
	t.Helper()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func statuses(r *Report) string {
	var s []string
	for _, e := range r.Entries {
		s = append(s, e.Name+"="+e.Status)
	}
	return strings.Join(s, " ")
}

func verdicts(r *Report) string {
	var s []string
	for _, sg := range r.Signatures {
		s = append(s, sg.Kind+"="+sg.Verdict)
	}
	return strings.Join(s, " ")
}

func TestImageManifest(t *testing.T) {
	f := newFixture(t)
	r := run(t, Options{Image: f.image, Manifest: f.manifest})
	if got := statuses(r); got != "fw.bin=match other-model.bin=other" {
		t.Errorf("statuses %q", got)
	}
	if !r.Verified || r.Verdict != VerdictVerified || r.Summary.Match != 1 || r.Summary.Other != 1 {
		t.Errorf("verdict %q %+v", r.Verdict, r.Summary)
	}
	if len(r.Notes) == 0 || !strings.Contains(strings.Join(r.Notes, " "), "no signature") {
		t.Errorf("missing unsigned note: %q", r.Notes)
	}

	// The image changed: mismatch, failed.
	tampered := append(bytes.Clone(f.imageData), 'x')
	writeFile(t, f.dir, "fw.bin", tampered)
	r = run(t, Options{Image: f.image, Manifest: f.manifest})
	if got := statuses(r); got != "fw.bin=mismatch other-model.bin=other" || r.Verified || r.Verdict != VerdictFailed {
		t.Errorf("tampered: %q %q", got, r.Verdict)
	}
	if r.Entries[0].Actual != sha256hex(tampered) || r.Entries[0].Expected != sha256hex(f.imageData) {
		t.Errorf("digests %+v", r.Entries[0])
	}

	// The same image under another name still matches, by digest.
	renamed := writeFile(t, f.dir, "download(1).bin", f.imageData)
	r = run(t, Options{Image: renamed, Manifest: f.manifest})
	if got := statuses(r); got != "fw.bin=match other-model.bin=other" || !r.Verified {
		t.Errorf("renamed: %q", got)
	}

	// --scope files with a manifest of other images: they are not in it.
	if _, err := Run(context.Background(), Options{Image: f.image}); err == nil {
		t.Error("no inputs accepted")
	}
}

func TestOpenPGPDetached(t *testing.T) {
	f := newFixture(t)
	lab := pgpEntity(t, "Vendor Release")
	other := pgpEntity(t, "Someone Else")
	key := writeFile(t, f.dir, "vendor.asc", pgpPublicArmored(t, lab))
	otherKey := writeFile(t, f.dir, "other.asc", pgpPublicArmored(t, other))
	armored := writeFile(t, f.dir, "SHA256SUMS.asc", pgpDetach(t, lab, f.mdata, true))
	binary := writeFile(t, f.dir, "SHA256SUMS.gpg", pgpDetach(t, lab, f.mdata, false))
	overImage := writeFile(t, f.dir, "fw.bin.sig", pgpDetach(t, lab, f.imageData, false))
	badSig := pgpDetach(t, lab, f.mdata, false)
	badSig[len(badSig)-5] ^= 0x40
	corrupt := writeFile(t, f.dir, "corrupt.gpg", badSig)
	tamperedManifest := writeFile(t, f.dir, "SHA256SUMS.tampered", append(bytes.Clone(f.mdata), []byte(h256+"  extra\n")...))

	cases := []struct {
		name    string
		o       Options
		verdict string
		ok      bool
	}{
		{"armored", Options{Manifest: f.manifest, PGPSig: armored, Keys: []string{key}}, Valid, true},
		{"binary", Options{Manifest: f.manifest, PGPSig: binary, Keys: []string{key}}, Valid, true},
		{"two key files", Options{Manifest: f.manifest, PGPSig: binary, Keys: []string{otherKey, key}}, Valid, true},
		{"over the image", Options{PGPSig: overImage, Keys: []string{key}}, Valid, true},
		{"manifest changed", Options{Manifest: tamperedManifest, PGPSig: armored, Keys: []string{key}}, Invalid, false},
		{"signature changed", Options{Manifest: f.manifest, PGPSig: corrupt, Keys: []string{key}}, Invalid, false},
		{"wrong key", Options{Manifest: f.manifest, PGPSig: armored, Keys: []string{otherKey}}, UnknownKey, false},
		{"no key", Options{Manifest: f.manifest, PGPSig: armored}, UnknownKey, false},
		{"image signature over the manifest", Options{Manifest: f.manifest, PGPSig: overImage, Keys: []string{key}}, Invalid, false},
		{"--signed image", Options{Manifest: f.manifest, PGPSig: overImage, Keys: []string{key}, Signed: SourceImage}, Valid, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Image = f.image
			r := run(t, tc.o)
			if len(r.Signatures) != 1 || r.Signatures[0].Verdict != tc.verdict {
				t.Fatalf("signatures %+v", r.Signatures)
			}
			if r.Verified != tc.ok {
				t.Errorf("verified %v, want %v (%s)", r.Verified, tc.ok, r.Verdict)
			}
			if tc.verdict == Valid && !strings.Contains(r.Signatures[0].Signer, "Vendor Release") {
				t.Errorf("signer %q", r.Signatures[0].Signer)
			}
			if tc.verdict == UnknownKey && r.Signatures[0].KeyID == "" {
				t.Error("unknown key not named")
			}
		})
	}

	// Expired: the key expires; verifying at a later time says so.
	r := run(t, Options{Image: f.image, Manifest: f.manifest, PGPSig: armored, Keys: []string{key}, At: time.Now().Add(-48 * time.Hour)})
	if r.Signatures[0].Verdict == Valid {
		t.Errorf("signature made now verified two days ago: %+v", r.Signatures[0])
	}
}

func TestOpenPGPCleartext(t *testing.T) {
	f := newFixture(t)
	lab := pgpEntity(t, "Vendor Release")
	key := writeFile(t, f.dir, "vendor.asc", pgpPublicArmored(t, lab))
	signed := pgpClearsign(t, lab, f.mdata)
	good := writeFile(t, f.dir, "SHA256SUMS.txt", signed)
	r := run(t, Options{Image: f.image, Manifest: good, Keys: []string{key}})
	if verdicts(r) != "openpgp-cleartext=valid" || !r.Verified || statuses(r) != "fw.bin=match other-model.bin=other" {
		t.Fatalf("good: %s %s %s", verdicts(r), statuses(r), r.Verdict)
	}

	// Lines added after the signature are not signed: ignored and noted.
	evil := append(bytes.Clone(signed), []byte("\n"+h256+"  fw.bin\n")...)
	p := writeFile(t, f.dir, "SHA256SUMS.evil", evil)
	r = run(t, Options{Image: f.image, Manifest: p, Keys: []string{key}})
	if verdicts(r) != "openpgp-cleartext=valid" || statuses(r) != "fw.bin=match other-model.bin=other" || !strings.Contains(strings.Join(r.Notes, " "), "not signed") {
		t.Errorf("appended: %s %s %q", verdicts(r), statuses(r), r.Notes)
	}

	// A digest changed inside the signed text: invalid.
	changed := bytes.Replace(signed, []byte(h256), []byte(strings.Repeat("00", 32)), 1)
	p = writeFile(t, f.dir, "SHA256SUMS.changed", changed)
	r = run(t, Options{Image: f.image, Manifest: p, Keys: []string{key}})
	if verdicts(r) != "openpgp-cleartext=invalid" || r.Verified {
		t.Errorf("changed: %s %s", verdicts(r), r.Verdict)
	}
}

func TestCMS(t *testing.T) {
	f := newFixture(t)
	ca := newCA(t, "Vendor Root CA")
	otherCA := newCA(t, "Other CA")
	now := time.Now()
	leaf, key := ca.leaf(t, "Vendor Release Signing", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	// A certificate that expires two seconds from now signs now; by the
	// time it is checked, it has expired.
	shortUntil := now.Truncate(time.Second).Add(2 * time.Second)
	oldLeaf, oldKey := ca.leaf(t, "Vendor Release Signing 2019", now.Add(-time.Hour), shortUntil)
	caFile := writeFile(t, f.dir, "ca.pem", ca.pem)
	otherCAFile := writeFile(t, f.dir, "other-ca.pem", otherCA.pem)
	detached := writeFile(t, f.dir, "SHA256SUMS.p7s", cmsSign(t, leaf, key, f.mdata, true))
	attached := writeFile(t, f.dir, "SHA256SUMS.p7m", cmsSign(t, leaf, key, f.mdata, false))
	pemSig := writeFile(t, f.dir, "SHA256SUMS.pem", pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: cmsSign(t, leaf, key, f.mdata, true)}))
	overImage := writeFile(t, f.dir, "fw.bin.p7s", cmsSign(t, leaf, key, f.imageData, true))
	expired := writeFile(t, f.dir, "old.p7s", cmsSign(t, oldLeaf, oldKey, f.mdata, true))
	time.Sleep(time.Until(shortUntil.Add(1100 * time.Millisecond)))
	tampered := writeFile(t, f.dir, "SHA256SUMS.tampered", append(bytes.Clone(f.mdata), '\n'))
	corruptDER := cmsSign(t, leaf, key, f.mdata, true)
	corruptDER[len(corruptDER)-3] ^= 0x01
	corrupt := writeFile(t, f.dir, "corrupt.p7s", corruptDER)

	cases := []struct {
		name    string
		o       Options
		verdict string
		ok      bool
	}{
		{"detached", Options{Manifest: f.manifest, CMSSig: detached, CAs: []string{caFile}}, Valid, true},
		{"pem", Options{Manifest: f.manifest, CMSSig: pemSig, CAs: []string{caFile}}, Valid, true},
		{"content inside, no manifest", Options{CMSSig: attached, CAs: []string{caFile}}, Valid, true},
		{"content inside, same manifest", Options{Manifest: f.manifest, CMSSig: attached, CAs: []string{caFile}}, Valid, true},
		{"over the image", Options{CMSSig: overImage, CAs: []string{caFile}}, Valid, true},
		{"manifest changed", Options{Manifest: tampered, CMSSig: detached, CAs: []string{caFile}}, Invalid, false},
		{"content inside differs", Options{Manifest: tampered, CMSSig: attached, CAs: []string{caFile}}, Invalid, false},
		{"signature changed", Options{Manifest: f.manifest, CMSSig: corrupt, CAs: []string{caFile}}, Invalid, false},
		{"other CA", Options{Manifest: f.manifest, CMSSig: detached, CAs: []string{otherCAFile}}, UntrustedChain, false},
		{"no CA", Options{Manifest: f.manifest, CMSSig: detached}, UntrustedChain, false},
		{"expired", Options{Manifest: f.manifest, CMSSig: expired, CAs: []string{caFile}}, Expired, false},
		{"expired, at signing time", Options{Manifest: f.manifest, CMSSig: expired, CAs: []string{caFile}, AtSigningTime: true}, Valid, true},
		{"expired, at a date", Options{Manifest: f.manifest, CMSSig: expired, CAs: []string{caFile}, At: now.Add(-time.Minute)}, Valid, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Image = f.image
			r := run(t, tc.o)
			if len(r.Signatures) != 1 || r.Signatures[0].Verdict != tc.verdict {
				t.Fatalf("signatures %+v", r.Signatures)
			}
			if r.Verified != tc.ok {
				t.Errorf("verified %v, want %v (%s; %s)", r.Verified, tc.ok, r.Verdict, statuses(r))
			}
			if !strings.Contains(r.Signatures[0].Signer, "Vendor Release Signing") {
				t.Errorf("signer %q", r.Signatures[0].Signer)
			}
		})
	}
}

func TestDSSE(t *testing.T) {
	f := newFixture(t)
	k, pub := ecKey(t)
	_, otherPub := ecKey(t)
	keyFile := writeFile(t, f.dir, "lab.pub", pub)
	otherFile := writeFile(t, f.dir, "other.pub", otherPub)
	st := slsaStatement(map[string]string{"fw.bin": sha256hex(f.imageData)})
	good := writeFile(t, f.dir, "fw.intoto.json", dsseEnvelope(t, k, st))
	badSt := slsaStatement(map[string]string{"fw.bin": h256})
	bad := writeFile(t, f.dir, "bad.intoto.json", dsseEnvelope(t, k, badSt))
	// Payload swapped after signing.
	swapped := bytes.Replace(dsseEnvelope(t, k, st), []byte(`"payload":"`), []byte(`"payload":"`+""), 1)
	swapped = []byte(strings.Replace(string(swapped), encodeB64(st), encodeB64(badSt), 1))
	swappedFile := writeFile(t, f.dir, "swapped.intoto.json", swapped)
	plain := writeFile(t, f.dir, "plain.json", st)

	cases := []struct {
		name, prov, key string
		verdicts        string
		status          string
		ok              bool
	}{
		{"good", good, keyFile, "dsse=valid", "fw.bin=match", true},
		{"wrong key", good, otherFile, "dsse=invalid", "fw.bin=match", false},
		{"no key", good, "", "dsse=unknown-key", "fw.bin=match", false},
		{"signed, wrong digest", bad, keyFile, "dsse=valid", "fw.bin=mismatch", false},
		{"payload swapped", swappedFile, keyFile, "dsse=invalid", "fw.bin=mismatch", false},
		{"unsigned statement", plain, "", "", "fw.bin=match", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Image: f.image, Provenance: tc.prov}
			if tc.key != "" {
				o.Keys = []string{tc.key}
			}
			r := run(t, o)
			if verdicts(r) != tc.verdicts || statuses(r) != tc.status || r.Verified != tc.ok {
				t.Errorf("%s | %s | %v", verdicts(r), statuses(r), r.Verified)
			}
			if len(r.Provenance) != 1 || r.Provenance[0].BuilderID != "https://ci.example.net/builder/v1" {
				t.Errorf("provenance %+v", r.Provenance)
			}
		})
	}
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestSigstoreKeyBundle(t *testing.T) {
	f := newFixture(t)
	k, pub := ecKey(t)
	_, otherPub := ecKey(t)
	keyFile := writeFile(t, f.dir, "cosign.pub", pub)
	otherFile := writeFile(t, f.dir, "other.pub", otherPub)
	overManifest := writeFile(t, f.dir, "SHA256SUMS.sigstore.json", keyBundle(t, k, f.mdata))
	overImage := writeFile(t, f.dir, "fw.bin.sigstore.json", keyBundle(t, k, f.imageData))
	other := writeFile(t, f.dir, "other.sigstore.json", keyBundle(t, k, []byte("something else")))
	tamperedManifest := writeFile(t, f.dir, "SHA256SUMS.t", append(bytes.Clone(f.mdata), '\n'))
	raw := keyBundle(t, k, f.mdata)
	raw = bytes.Replace(raw, []byte(`"signature":"M`), []byte(`"signature":"N`), 1)
	corrupt := writeFile(t, f.dir, "corrupt.sigstore.json", raw)

	cases := []struct {
		name    string
		o       Options
		verdict string
		signed  string
		ok      bool
	}{
		{"over the manifest", Options{Manifest: f.manifest, Bundle: overManifest, Keys: []string{keyFile}}, Valid, f.manifest, true},
		{"over the image", Options{Bundle: overImage, Keys: []string{keyFile}}, Valid, "", true},
		{"wrong key", Options{Manifest: f.manifest, Bundle: overManifest, Keys: []string{otherFile}}, Invalid, f.manifest, false},
		{"no key", Options{Manifest: f.manifest, Bundle: overManifest}, UnknownKey, "", false},
		{"manifest changed", Options{Manifest: tamperedManifest, Bundle: overManifest, Keys: []string{keyFile}}, Invalid, "", false},
		{"signs another file", Options{Manifest: f.manifest, Bundle: other, Keys: []string{keyFile}}, Invalid, "", false},
		{"signature changed", Options{Manifest: f.manifest, Bundle: corrupt, Keys: []string{keyFile}}, Invalid, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Image = f.image
			r := run(t, tc.o)
			if len(r.Signatures) != 1 || r.Signatures[0].Verdict != tc.verdict {
				t.Fatalf("signatures %+v", r.Signatures)
			}
			if tc.signed != "" && r.Signatures[0].SignedFile != filepath.Base(tc.signed) && r.Signatures[0].SignedFile != tc.signed {
				t.Errorf("signed file %q", r.Signatures[0].SignedFile)
			}
			if r.Verified != tc.ok {
				t.Errorf("verified %v (%s)", r.Verified, r.Verdict)
			}
		})
	}
}

func TestSigstoreCertificateBundle(t *testing.T) {
	f := newFixture(t)
	ss := newFakeSigstore(t)
	trFile := writeFile(t, f.dir, "trusted_root.json", ss.trustedRoot(t))
	otherTR := writeFile(t, f.dir, "other_root.json", newFakeSigstore(t).trustedRoot(t))
	const who, iss = "release@vendor.example", "https://accounts.vendor.example"
	bundle := writeFile(t, f.dir, "SHA256SUMS.sigstore.json", ss.sign(t, f.mdata, who, iss))
	raw := ss.sign(t, f.mdata, who, iss)
	raw = bytes.Replace(raw, []byte(`"signature":"M`), []byte(`"signature":"N`), 1)
	corrupt := writeFile(t, f.dir, "corrupt.sigstore.json", raw)
	trData, _ := os.ReadFile(trFile)
	otherData, _ := os.ReadFile(otherTR)

	cases := []struct {
		name    string
		bundle  string
		tr      []byte
		o       SigstoreOptions
		verdict string
	}{
		{"identity and issuer", bundle, trData, SigstoreOptions{Identity: who, Issuer: iss}, Valid},
		{"identity regexp", bundle, trData, SigstoreOptions{IdentityRegexp: `@vendor\.example$`, IssuerRegexp: `^https://accounts\.vendor\.example$`}, Valid},
		{"wrong identity", bundle, trData, SigstoreOptions{Identity: "mallory@evil.example", Issuer: iss}, UntrustedChain},
		{"wrong issuer", bundle, trData, SigstoreOptions{Identity: who, Issuer: "https://evil.example"}, UntrustedChain},
		{"no identity", bundle, trData, SigstoreOptions{}, UntrustedChain},
		{"other trusted root", bundle, otherData, SigstoreOptions{Identity: who, Issuer: iss}, UntrustedChain},
		{"no trusted root", bundle, nil, SigstoreOptions{Identity: who, Issuer: iss}, UntrustedChain},
		{"signature changed", corrupt, trData, SigstoreOptions{Identity: who, Issuer: iss}, Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.TrustedRoot = tc.tr
			r := run(t, Options{Image: f.image, Manifest: f.manifest, Bundle: tc.bundle, Sigstore: tc.o})
			if len(r.Signatures) != 1 || r.Signatures[0].Verdict != tc.verdict {
				t.Fatalf("signatures %+v", r.Signatures)
			}
			s := r.Signatures[0]
			if tc.verdict == Valid {
				if s.Signer != who || s.Issuer != iss || len(s.Timestamps) == 0 || s.SignedAt == "" || !r.Verified {
					t.Errorf("valid signature facts: %+v", s)
				}
			} else if r.Verified {
				t.Error("verified with a failed signature")
			}
		})
	}

	// A tampered manifest: the bundle signs none of the files.
	p := writeFile(t, f.dir, "SHA256SUMS.t", append(bytes.Clone(f.mdata), '\n'))
	r := run(t, Options{Image: f.image, Manifest: p, Bundle: bundle, Sigstore: SigstoreOptions{TrustedRoot: trData, Identity: who, Issuer: iss}})
	if verdicts(r) != "sigstore=invalid" {
		t.Errorf("tampered manifest: %s", verdicts(r))
	}
}

func TestDeterministicJSON(t *testing.T) {
	f := newFixture(t)
	lab := pgpEntity(t, "Vendor Release")
	key := writeFile(t, f.dir, "vendor.asc", pgpPublicArmored(t, lab))
	sig := writeFile(t, f.dir, "SHA256SUMS.asc", pgpDetach(t, lab, f.mdata, true))
	var out [2]bytes.Buffer
	for i := range out {
		r := run(t, Options{Image: f.image, Manifest: f.manifest, PGPSig: sig, Keys: []string{key}})
		if err := WriteJSON(&out[i], r); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
		t.Error("two runs differ")
	}
	for _, want := range []string{`"verdict": "verified"`, `"status": "match"`, `"kind": "openpgp"`, `"signed_file":`} {
		if !bytes.Contains(out[0].Bytes(), []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	var txt bytes.Buffer
	r := run(t, Options{Image: f.image, Manifest: f.manifest, PGPSig: sig, Keys: []string{key}})
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verdict: VERIFIED", "valid", "openpgp", "fw.bin", "summary: 1 match"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
}

func TestTextIsTerminalSafe(t *testing.T) {
	f := newFixture(t)
	m := writeFile(t, f.dir, "evil.sums", []byte(h256+"  \x1b[2Jevil\u202e.bin\n"))
	r := run(t, Options{Image: f.image, Manifest: m, Scope: ScopeImage})
	var b bytes.Buffer
	WriteText(&b, r)
	if strings.ContainsAny(b.String(), "\x1b\u202e") {
		t.Errorf("control characters reach the terminal: %q", b.String())
	}
}
