package verify

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smallstep/pkcs7"
)

// maxCMSInMemory is the largest signed file a CMS signature without
// signed attributes is checked over (its signature covers the raw bytes,
// which the library wants in memory).
const maxCMSInMemory = 256 << 20

// cmsResult is a CMS check: the verdict, and the content the signature
// carried when it was not detached.
type cmsResult struct {
	sig     Signature
	content []byte
}

// parseCMS decodes a DER or PEM CMS/PKCS#7 SignedData.
func parseCMS(data []byte) (p7 *pkcs7.PKCS7, err error) {
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		b, _ := pem.Decode(data)
		if b == nil {
			return nil, errors.New("PEM without a block")
		}
		switch b.Type {
		case "CMS", "PKCS7", "PKCS #7 SIGNED DATA", "SIGNED MESSAGE":
		default:
			return nil, fmt.Errorf("PEM block %q is not a CMS signature", b.Type)
		}
		data = b.Bytes
	}
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("malformed CMS structure (%v)", r)
		}
	}()
	p7, err = pkcs7.Parse(data)
	if err != nil {
		return nil, err
	}
	if len(p7.Signers) == 0 {
		return nil, errors.New("CMS structure without a signer (not SignedData?)")
	}
	return p7, nil
}

// cmsHasContent reports whether a CMS signature carries the signed
// content (false when it cannot be parsed).
func cmsHasContent(data []byte) bool {
	p7, err := parseCMS(data)
	return err == nil && len(p7.Content) > 0
}

// fileHasher hashes the signed file from its reader, so a large image is
// never held in memory.
type fileHasher struct{ open func() (io.ReadCloser, error) }

func (h fileHasher) Hash(hf crypto.Hash, _ io.Reader) ([]byte, error) {
	if !hf.Available() {
		return nil, fmt.Errorf("hash function %v not available", hf)
	}
	r, err := h.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d := hf.New()
	if _, err := io.Copy(d, r); err != nil {
		return nil, err
	}
	return d.Sum(nil), nil
}

// checkCMS verifies a CMS signature. tg is the file it is checked over
// when the signature is detached (nil: none given). at is the time the
// certificate chain is judged at (zero: now); atSigning judges it at the
// signing time the signature states instead.
func checkCMS(data []byte, tg *target, pool *x509.CertPool, havePool bool, at time.Time, atSigning bool) (res cmsResult) {
	s := &res.sig
	s.Kind = KindCMS
	p7, err := parseCMS(data)
	if err != nil {
		s.Verdict, s.Detail = Invalid, "not a CMS signature: "+err.Error()
		return res
	}
	signers := cmsSignerCerts(p7)
	var signingTime time.Time
	for i, c := range signers {
		if c == nil {
			s.Verdict, s.Detail = UnknownKey, fmt.Sprintf("the certificate of signer %d is not in the signature", i+1)
			return res
		}
		if t, ok := cmsSigningTime(p7, i); ok && signingTime.IsZero() {
			signingTime = t
		}
	}
	ee := signers[0]
	s.Signer = ee.Subject.String()
	s.Issuer = ee.Issuer.String()
	sum := sha256.Sum256(ee.Raw)
	s.KeyID = hex.EncodeToString(sum[:])
	s.SignedAt = rfc3339(signingTime)

	detached := len(p7.Content) == 0
	if detached {
		if tg == nil {
			s.Verdict, s.Detail = Invalid, "a detached CMS signature and no file to check it over"
			return res
		}
		s.SignedFile = tg.name
		if tg.size <= maxCMSInMemory {
			b, err := tg.bytes(maxCMSInMemory)
			if err != nil {
				s.Verdict, s.Detail = Invalid, "read "+tg.name+": "+err.Error()
				return res
			}
			p7.Content = b
		} else {
			for i := range p7.Signers {
				if len(p7.Signers[i].AuthenticatedAttributes) == 0 {
					s.Verdict, s.Detail = Invalid, fmt.Sprintf("signer %d signs the raw content without signed attributes, which netvet checks only over files up to %d bytes", i+1, maxCMSInMemory)
					return res
				}
			}
			p7.Hasher = fileHasher{open: tg.open}
		}
	} else {
		res.content = p7.Content
		if tg != nil {
			s.SignedFile = tg.name
			b, err := tg.bytes(int64(len(p7.Content)) + 1)
			if err != nil || !bytes.Equal(b, p7.Content) {
				s.Verdict, s.Detail = Invalid, "the content inside the CMS signature differs from "+tg.name
				return res
			}
		} else {
			s.SignedFile = "(content inside the signature)"
		}
	}

	if err := safeCMS(func() error { return p7.VerifyWithChain(nil) }); err != nil {
		var dm *pkcs7.MessageDigestMismatchError
		var st *pkcs7.SigningTimeNotValidError
		switch {
		case errors.As(err, &dm):
			s.Verdict, s.Detail = Invalid, "the signed digest does not match the file: it was changed after signing, or the signature is for another file"
		case errors.As(err, &st):
			s.Verdict, s.Detail = Expired, "the signing time "+rfc3339(st.SigningTime)+" is outside the signer certificate's validity"
		default:
			s.Verdict, s.Detail = Invalid, "signature does not verify: "+err.Error()
		}
		return res
	}
	if !havePool {
		s.Verdict, s.Detail = UntrustedChain, "the signature is intact, but no trust anchor was given (--ca): nothing vouches for the signer certificate"
		return res
	}
	when := at
	switch {
	case atSigning && signingTime.IsZero():
		s.Verdict, s.Detail = UntrustedChain, "--at signing-time: the signature states no signing time"
		return res
	case atSigning:
		when = signingTime
	case when.IsZero():
		when = time.Now()
	}
	intermediates := x509.NewCertPool()
	for _, c := range p7.Certificates {
		intermediates.AddCert(c)
	}
	for i, c := range signers {
		_, err := c.Verify(x509.VerifyOptions{
			Roots: pool, Intermediates: intermediates, CurrentTime: when,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err == nil {
			continue
		}
		var ci x509.CertificateInvalidError
		if errors.As(err, &ci) && ci.Reason == x509.Expired {
			s.Verdict = Expired
			s.Detail = fmt.Sprintf("signer %d: certificate chain not valid at %s: %v (--at picks another time)", i+1, rfc3339(when), err)
			return res
		}
		s.Verdict, s.Detail = UntrustedChain, fmt.Sprintf("signer %d: the certificate does not chain to the supplied trust anchors: %v", i+1, err)
		return res
	}
	s.Verdict = Valid
	s.Detail = "signature verified; the signer certificate chains to the supplied trust anchors"
	if atSigning {
		s.Detail += " at the stated signing time"
	}
	return res
}

func safeCMS(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed CMS signature (%v)", r)
		}
	}()
	return f()
}

// cmsSignerCerts finds each signer's certificate by issuer and serial
// number; nil where the signature does not carry it.
func cmsSignerCerts(p7 *pkcs7.PKCS7) []*x509.Certificate {
	out := make([]*x509.Certificate, len(p7.Signers))
	for i, si := range p7.Signers {
		ias := si.IssuerAndSerialNumber
		for _, c := range p7.Certificates {
			if ias.SerialNumber != nil && c.SerialNumber != nil && c.SerialNumber.Cmp(ias.SerialNumber) == 0 &&
				bytes.Equal(c.RawIssuer, ias.IssuerName.FullBytes) {
				out[i] = c
				break
			}
		}
	}
	return out
}

func cmsSigningTime(p7 *pkcs7.PKCS7, i int) (time.Time, bool) {
	for _, a := range p7.Signers[i].AuthenticatedAttributes {
		if a.Type.Equal(pkcs7.OIDAttributeSigningTime) {
			var t time.Time
			if _, err := asn1.Unmarshal(a.Value.Bytes, &t); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
