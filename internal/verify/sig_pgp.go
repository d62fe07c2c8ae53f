package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// pgpSigInfo is what the signature packets say about themselves, read
// before verification so that an unknown key can be named.
type pgpSigInfo struct {
	issuers []string
	created time.Time
}

// dearmorSignature returns the binary packets of an armored or binary
// OpenPGP signature.
func dearmorSignature(sig []byte) ([]byte, error) {
	if !bytes.Contains(sig, []byte("-----BEGIN PGP SIGNATURE-----")) {
		return sig, nil
	}
	blk, err := armor.Decode(bytes.NewReader(sig))
	if err != nil {
		return nil, fmt.Errorf("armored signature: %w", err)
	}
	if blk.Type != openpgp.SignatureType {
		return nil, fmt.Errorf("armored block is a %q, not a PGP SIGNATURE", blk.Type)
	}
	b, err := io.ReadAll(io.LimitReader(blk.Body, maxSigFile+1))
	if err != nil {
		return nil, fmt.Errorf("armored signature: %w", err)
	}
	if len(b) > maxSigFile {
		return nil, fmt.Errorf("armored signature larger than %d bytes", maxSigFile)
	}
	return b, nil
}

// readPGPSigInfo lists the issuers of the signature packets.
func readPGPSigInfo(bin []byte) (info pgpSigInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed OpenPGP signature (%v)", r)
		}
	}()
	pr := packet.NewReader(bytes.NewReader(bin))
	for i := 0; i < 64; i++ {
		p, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return info, fmt.Errorf("OpenPGP signature: %w", err)
		}
		s, ok := p.(*packet.Signature)
		if !ok {
			return info, fmt.Errorf("OpenPGP signature: packet %d is a %T, not a signature", i+1, p)
		}
		switch {
		case len(s.IssuerFingerprint) > 0:
			info.issuers = append(info.issuers, strings.ToUpper(fmt.Sprintf("%x", s.IssuerFingerprint)))
		case s.IssuerKeyId != nil:
			info.issuers = append(info.issuers, fmt.Sprintf("%016X", *s.IssuerKeyId))
		}
		if info.created.IsZero() {
			info.created = s.CreationTime
		}
	}
	if len(info.issuers) == 0 {
		return info, errors.New("OpenPGP signature: no signature packet with an issuer")
	}
	return info, nil
}

// checkPGPDetached verifies a detached OpenPGP signature over signed.
func checkPGPDetached(keys openpgp.EntityList, signed io.Reader, sigData []byte, at time.Time) Signature {
	s := Signature{Kind: KindOpenPGP}
	bin, err := dearmorSignature(sigData)
	if err != nil {
		s.Verdict, s.Detail = Invalid, err.Error()
		return s
	}
	info, err := readPGPSigInfo(bin)
	if err != nil {
		s.Verdict, s.Detail = Invalid, err.Error()
		return s
	}
	s.KeyID = strings.Join(info.issuers, ",")
	s.SignedAt = rfc3339(info.created)
	if len(keys) == 0 {
		s.Verdict, s.Detail = UnknownKey, "no OpenPGP public key was given (--key)"
		return s
	}
	sig, signer, err := safePGPVerify(func() (*packet.Signature, *openpgp.Entity, error) {
		return openpgp.VerifyDetachedSignature(keys, signed, bytes.NewReader(bin), pgpConfig(at))
	})
	pgpVerdict(&s, sig, signer, err)
	return s
}

// checkPGPCleartext verifies a cleartext-signed message (a checksum file
// signed with gpg --clearsign) and returns its signed text. Text outside
// the signed part is never returned.
func checkPGPCleartext(keys openpgp.EntityList, data []byte, at time.Time) (Signature, []byte, []string, error) {
	s := Signature{Kind: KindOpenPGPCleartext}
	var blk *clearsign.Block
	var rest []byte
	func() {
		defer func() {
			if r := recover(); r != nil {
				blk = nil
			}
		}()
		blk, rest = clearsign.Decode(data)
	}()
	if blk == nil {
		return s, nil, nil, errors.New("a PGP SIGNED MESSAGE that cannot be decoded")
	}
	var notes []string
	start := bytes.Index(data, []byte("-----BEGIN PGP SIGNED MESSAGE-----"))
	if start > 0 && len(bytes.TrimSpace(data[:start])) > 0 {
		notes = append(notes, "text before the signed message is ignored")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		notes = append(notes, "text after the signature is ignored (it is not signed)")
	}
	if blk.ArmoredSignature != nil {
		if b, err := io.ReadAll(io.LimitReader(blk.ArmoredSignature.Body, maxSigFile)); err == nil {
			if info, err := readPGPSigInfo(b); err == nil {
				s.KeyID = strings.Join(info.issuers, ",")
				s.SignedAt = rfc3339(info.created)
			}
		}
	}
	if len(keys) == 0 {
		s.Verdict, s.Detail = UnknownKey, "no OpenPGP public key was given (--key)"
		return s, blk.Plaintext, notes, nil
	}
	// Decode again: the signature body above was consumed.
	blk, _ = clearsign.Decode(data)
	_, signer, err := safePGPVerify(func() (*packet.Signature, *openpgp.Entity, error) {
		e, err := blk.VerifySignature(keys, pgpConfig(at))
		return nil, e, err
	})
	pgpVerdict(&s, nil, signer, err)
	return s, blk.Plaintext, notes, nil
}

func pgpConfig(at time.Time) *packet.Config {
	cfg := &packet.Config{}
	if !at.IsZero() {
		cfg.Time = func() time.Time { return at }
	}
	return cfg
}

func safePGPVerify(f func() (*packet.Signature, *openpgp.Entity, error)) (sig *packet.Signature, e *openpgp.Entity, err error) {
	defer func() {
		if r := recover(); r != nil {
			sig, e, err = nil, nil, pgperrors.StructuralError(fmt.Sprintf("malformed signature (%v)", r))
		}
	}()
	return f()
}

// pgpVerdict turns the library's answer into a verdict.
func pgpVerdict(s *Signature, sig *packet.Signature, signer *openpgp.Entity, err error) {
	if signer != nil {
		s.KeyID = strings.ToUpper(fmt.Sprintf("%x", signer.PrimaryKey.Fingerprint))
		if id := signer.PrimaryIdentity(); id != nil {
			s.Signer = id.Name
		}
	}
	if sig != nil {
		s.SignedAt = rfc3339(sig.CreationTime)
	}
	switch {
	case err == nil:
		s.Verdict, s.Detail = Valid, "signature verified with the supplied OpenPGP key"
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		s.Verdict, s.Detail = UnknownKey, "signed by a key that is not among the supplied keys"
	case errors.Is(err, pgperrors.ErrKeyExpired):
		s.Verdict, s.Detail = Expired, "the signing key had expired at the verification time"
	case errors.Is(err, pgperrors.ErrSignatureExpired):
		s.Verdict, s.Detail = Expired, "the signature had expired at the verification time"
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		s.Verdict, s.Detail = Revoked, "the signing key is revoked"
	default:
		s.Verdict, s.Detail = Invalid, "signature does not match the signed file: "+err.Error()
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
