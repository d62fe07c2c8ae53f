package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	sigsig "github.com/sigstore/sigstore/pkg/signature"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// SigstoreOptions say what a Sigstore bundle is checked against.
type SigstoreOptions struct {
	// TrustedRoot is the trusted_root.json content (nil: none given).
	TrustedRoot []byte
	// Identity and IdentityRegexp match the certificate's subject
	// alternative name; Issuer and IssuerRegexp its OIDC issuer.
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
}

func (o SigstoreOptions) identityGiven() bool {
	return o.Identity != "" || o.IdentityRegexp != "" || o.Issuer != "" || o.IssuerRegexp != ""
}

// sigstoreDigestAlg maps a bundle's message digest algorithm to netvet's.
var sigstoreDigestAlg = map[string]string{"SHA2_256": SHA256, "SHA2_384": SHA384, "SHA2_512": SHA512}

// checkSigstore verifies a Sigstore bundle offline. A message signature
// is checked over whichever of targets it signs (found by digest); a DSSE
// envelope's statement is returned for its subjects to be compared.
func checkSigstore(data []byte, targets []*target, keys []PublicKey, o SigstoreOptions) (Signature, *Provenance) {
	s := Signature{Kind: KindSigstore}
	b := &bundle.Bundle{}
	if err := safeDo(func() error { return b.UnmarshalJSON(data) }); err != nil {
		s.Verdict, s.Detail = Invalid, "not a usable Sigstore bundle: "+err.Error()
		return s, nil
	}
	ver, _ := b.Version()
	vc, err := b.VerificationContent()
	if err != nil {
		s.Verdict, s.Detail = Invalid, "bundle "+ver+": "+err.Error()
		return s, nil
	}
	sc, err := b.SignatureContent()
	if err != nil {
		s.Verdict, s.Detail = Invalid, "bundle "+ver+": "+err.Error()
		return s, nil
	}

	// The statement of a DSSE bundle: read it whatever the verdict, so its
	// subjects are shown; they count only when the signature is valid.
	var prov *Provenance
	if env := sc.EnvelopeContent(); env != nil {
		raw := env.RawEnvelope()
		e := &Envelope{PayloadType: raw.PayloadType, Payload: raw.Payload}
		for _, sg := range raw.Signatures {
			e.Signatures = append(e.Signatures, EnvelopeSig{KeyID: sg.KeyID, Sig: sg.Sig})
		}
		p, perr := ParseEnvelope(e)
		if perr != nil {
			s.Verdict, s.Detail = Invalid, "the bundle's DSSE envelope: "+perr.Error()
			return s, nil
		}
		prov = p
	}

	cert := vc.Certificate()
	var tr *root.TrustedRoot
	if o.TrustedRoot != nil {
		if err := safeDo(func() error {
			var err error
			tr, err = root.NewTrustedRootFromJSON(o.TrustedRoot)
			return err
		}); err != nil {
			s.Verdict, s.Detail = UntrustedChain, "--trusted-root: "+err.Error()
			return s, prov
		}
	}
	var material root.TrustedMaterialCollection
	if tr != nil {
		material = append(material, tr)
	}
	if cert != nil {
		sum := sha256.Sum256(cert.Raw)
		s.KeyID = hex.EncodeToString(sum[:])
		if tr == nil {
			s.Verdict, s.Detail = UntrustedChain, "the bundle is signed with a certificate: give the trusted_root.json of its Sigstore instance (--trusted-root)"
			return s, prov
		}
	} else {
		if pk := vc.PublicKey(); pk != nil {
			s.KeyID = pk.Hint()
		}
		if len(keys) == 0 {
			s.Verdict, s.Detail = UnknownKey, "the bundle is signed with a key: give the public key (--key)"
			return s, prov
		}
		km, err := keyMaterial(keys)
		if err != nil {
			s.Verdict, s.Detail = UnknownKey, err.Error()
			return s, prov
		}
		material = append(material, km)
	}

	entries, _ := b.TlogEntries()
	stamps, _ := b.Timestamps()
	var vopts []sgverify.VerifierOption
	var notes []string
	hasLogs := tr != nil && len(tr.RekorLogs()) > 0
	hasTSAs := tr != nil && len(tr.TimestampingAuthorities()) > 0
	if cert != nil {
		if len(entries) > 0 {
			if !hasLogs {
				s.Verdict, s.Detail = UntrustedChain, "the bundle has transparency-log entries but the trusted root lists no transparency log"
				return s, prov
			}
			vopts = append(vopts, sgverify.WithTransparencyLog(1))
		}
		if len(entries) > 0 || len(stamps) > 0 {
			vopts = append(vopts, sgverify.WithObserverTimestamps(1))
		} else {
			vopts = append(vopts, sgverify.WithCurrentTime())
			notes = append(notes, "no timestamp in the bundle: the certificate was checked at the current time")
		}
		if len(tr.CTLogs()) > 0 {
			vopts = append(vopts, sgverify.WithSignedCertificateTimestamps(1))
		}
	} else {
		switch {
		case len(entries) > 0 && hasLogs:
			vopts = append(vopts, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
		case len(stamps) > 0 && hasTSAs:
			vopts = append(vopts, sgverify.WithSignedTimestamps(1))
		default:
			vopts = append(vopts, sgverify.WithNoObserverTimestamps())
			if len(entries) > 0 || len(stamps) > 0 {
				notes = append(notes, "transparency-log entries and timestamps were not checked (no --trusted-root)")
			}
		}
	}

	var artifact sgverify.ArtifactPolicyOption
	var closeArtifact func() error
	if ms := sc.MessageSignatureContent(); ms != nil {
		alg := sigstoreDigestAlg[ms.DigestAlgorithm()]
		want := hex.EncodeToString(ms.Digest())
		var tg *target
		for _, t := range targets {
			if t != nil && alg != "" && t.digests[alg] == want {
				tg = t
				break
			}
		}
		if tg == nil {
			var names []string
			for _, t := range targets {
				if t != nil {
					names = append(names, t.name)
				}
			}
			s.Verdict = Invalid
			s.Detail = fmt.Sprintf("the bundle signs a file with %s digest %s, which is none of: %s", ms.DigestAlgorithm(), want, strings.Join(names, ", "))
			return s, prov
		}
		s.SignedFile = tg.name
		r, err := tg.open()
		if err != nil {
			s.Verdict, s.Detail = Invalid, "read "+tg.name+": "+err.Error()
			return s, prov
		}
		closeArtifact = r.Close
		artifact = sgverify.WithArtifact(r)
	} else {
		s.SignedFile = "(in-toto statement inside the bundle)"
		artifact = sgverify.WithoutArtifactUnsafe()
	}
	if closeArtifact != nil {
		defer closeArtifact()
	}

	var popts []sgverify.PolicyOption
	switch {
	case cert == nil:
		popts = append(popts, sgverify.WithKey())
	case o.identityGiven():
		id, err := sgverify.NewShortCertificateIdentity(o.Issuer, o.IssuerRegexp, o.Identity, o.IdentityRegexp)
		if err != nil {
			s.Verdict, s.Detail = UntrustedChain, "--identity/--issuer: "+err.Error()
			return s, prov
		}
		popts = append(popts, sgverify.WithCertificateIdentity(id))
	default:
		popts = append(popts, sgverify.WithoutIdentitiesUnsafe())
	}

	var res *sgverify.VerificationResult
	err = safeDo(func() error {
		v, err := sgverify.NewVerifier(material, vopts...)
		if err != nil {
			return err
		}
		res, err = v.Verify(b, sgverify.NewPolicy(artifact, popts...))
		return err
	})
	if err != nil {
		classifySigstore(&s, err)
		return s, prov
	}
	var ts []string
	for _, t := range res.VerifiedTimestamps {
		ts = append(ts, t.Type+" "+rfc3339(t.Timestamp))
	}
	sort.Strings(ts)
	s.Timestamps = ts
	if len(res.VerifiedTimestamps) > 0 {
		first := res.VerifiedTimestamps[0].Timestamp
		for _, t := range res.VerifiedTimestamps[1:] {
			if t.Timestamp.Before(first) {
				first = t.Timestamp
			}
		}
		s.SignedAt = rfc3339(first)
	}
	if res.Signature != nil && res.Signature.Certificate != nil {
		s.Signer = res.Signature.Certificate.SubjectAlternativeName
		s.Issuer = res.Signature.Certificate.Issuer
	}
	s.Verdict = Valid
	switch {
	case cert == nil:
		s.Detail = "bundle " + ver + " verified with the supplied public key"
	case o.identityGiven():
		s.Detail = "bundle " + ver + " verified against the trusted root; the certificate identity matches"
	default:
		// A certificate from a public instance can be had by anyone with
		// an account at its identity provider: without an identity the
		// signature proves nothing about who made it.
		s.Verdict = UntrustedChain
		s.Detail = "signature and chain verify against the trusted root, but no --identity/--issuer was given: anyone with an account at the issuer can obtain such a certificate (--identity-regexp '.*' --issuer-regexp '.*' accepts any signer)"
	}
	if len(notes) > 0 {
		s.Detail += "; " + strings.Join(notes, "; ")
	}
	return s, prov
}

// keyMaterial offers the supplied public keys to sigstore-go: the key
// whose hint matches, or the only key.
func keyMaterial(keys []PublicKey) (*root.TrustedPublicKeyMaterial, error) {
	type entry struct {
		k    PublicKey
		tcv  root.TimeConstrainedVerifier
		hint string
	}
	var list []entry
	for _, k := range keys {
		v, err := sigsig.LoadDefaultVerifier(k.Key)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w", k.File, err)
		}
		raw, _ := hex.DecodeString(k.ID)
		list = append(list, entry{k: k, tcv: root.NewExpiringKey(v, time.Time{}, time.Time{}), hint: base64.StdEncoding.EncodeToString(raw)})
	}
	return root.NewTrustedPublicKeyMaterial(func(hint string) (root.TimeConstrainedVerifier, error) {
		for _, e := range list {
			if hint != "" && (hint == e.hint || strings.EqualFold(hint, e.k.ID)) {
				return e.tcv, nil
			}
		}
		if len(list) == 1 {
			return list[0].tcv, nil
		}
		return nil, fmt.Errorf("public key not found: no supplied key has the hint %q", hint)
	}), nil
}

// classifySigstore turns sigstore-go's error into a verdict.
func classifySigstore(s *Signature, err error) {
	msg := err.Error()
	s.Detail = msg
	switch {
	case strings.Contains(msg, "failed to verify signature"):
		s.Verdict = Invalid
	case strings.Contains(msg, "transparency log") && strings.Contains(msg, "does not match"):
		// The bundle disagrees with its own log entry: changed after
		// it was logged.
		s.Verdict = Invalid
		s.Detail = "the bundle differs from its transparency-log entry: " + msg
	case strings.Contains(msg, "public key not found") || strings.Contains(msg, "failed to get signature verifier"):
		s.Verdict = UnknownKey
	case strings.Contains(msg, "certificate identity"):
		s.Verdict = UntrustedChain
		s.Detail = "the certificate identity does not match --identity/--issuer: " + msg
	case strings.Contains(msg, "leaf certificate") && strings.Contains(msg, "expired"):
		s.Verdict = Expired
	case strings.Contains(msg, "leaf certificate"), strings.Contains(msg, "log inclusion"),
		strings.Contains(msg, "timestamps"), strings.Contains(msg, "certificate timestamp"),
		strings.Contains(msg, "validity window"):
		s.Verdict = UntrustedChain
	default:
		s.Verdict = Invalid
	}
}

// safeDo runs f, turning a panic inside a library on hostile input into
// an error.
func safeDo(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed input (%v)", r)
		}
	}()
	return f()
}
