package verify

import (
	"bytes"
	"testing"
	"time"
)

// FuzzKeys feeds hostile key files to the key loader: OpenPGP key rings,
// PEM and DER keys and certificates.
func FuzzKeys(f *testing.F) {
	e := pgpEntity(f, "Fuzz")
	_, pub := ecKey(f)
	ca := newCA(f, "Fuzz CA")
	f.Add(pgpPublicArmored(f, e))
	f.Add(pub)
	f.Add(ca.pem)
	f.Add(ca.cert.Raw)
	var bin bytes.Buffer
	e.Serialize(&bin)
	f.Add(bin.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		k := &Keys{}
		if err := k.add("fuzz", b); err != nil {
			return
		}
		for _, p := range k.Public {
			if p.Key == nil || len(p.ID) != 64 {
				t.Fatalf("bad key %+v", p)
			}
		}
	})
}

// FuzzSignatures feeds hostile signature files to every checker: none may
// panic, and none may call a signature over other content valid.
func FuzzSignatures(f *testing.F) {
	content := []byte(h256 + "  fw.bin\n")
	e := pgpEntity(f, "Fuzz")
	k, _ := ecKey(f)
	ca := newCA(f, "Fuzz CA")
	leaf, lk := ca.leaf(f, "Fuzz signer", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	stmt := slsaStatement(map[string]string{"fw.bin": h256})
	ss := newFakeSigstore(f)
	f.Add(uint8(0), pgpDetach(f, e, content, true))
	f.Add(uint8(0), pgpDetach(f, e, content, false))
	f.Add(uint8(1), pgpClearsign(f, e, content))
	f.Add(uint8(2), cmsSign(f, leaf, lk, content, true))
	f.Add(uint8(2), cmsSign(f, leaf, lk, content, false))
	f.Add(uint8(3), dsseEnvelope(f, k, stmt))
	f.Add(uint8(4), keyBundle(f, k, content))
	f.Add(uint8(4), ss.sign(f, content, "a@example.net", "https://issuer.example"))

	keys := &Keys{}
	keys.add("pgp", pgpPublicArmored(f, e))
	_, pub := ecKey(f)
	keys.add("pem", pub) // not the signing key: nothing may verify
	pool, _, _ := LoadCAs(nil)
	tr := ss.trustedRoot(f)
	other := []byte("other content\n")
	f.Fuzz(func(t *testing.T, which uint8, sig []byte) {
		tg := memTarget("SUMS", SourceManifest, other)
		var s Signature
		switch which % 5 {
		case 0:
			s = checkPGPDetached(nil, bytes.NewReader(other), sig, time.Time{})
		case 1:
			var err error
			s, _, _, err = checkPGPCleartext(keys.PGP, sig, time.Time{})
			if err != nil {
				return
			}
		case 2:
			s = checkCMS(sig, tg, pool, false, time.Time{}, false).sig
		case 3:
			ps, err := ParseProvenance(sig)
			if err != nil || ps[0].Envelope == nil {
				return
			}
			s = checkDSSE(ps[0].Envelope, ps[0].Payload, keys.Public)
		case 4:
			s, _ = checkSigstore(sig, []*target{tg}, keys.Public, SigstoreOptions{TrustedRoot: tr, Identity: "a@example.net", Issuer: "https://issuer.example"})
		}
		if s.Verdict == "" {
			t.Fatal("no verdict")
		}
		if s.Verdict == Valid && which%5 != 1 {
			t.Fatalf("kind %d: a signature over other content or with another key is valid: %+v", which%5, s)
		}
	})
}
