package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// pae is DSSE's pre-authentication encoding: what a DSSE signature signs.
func pae(payloadType string, payload []byte) []byte {
	var b strings.Builder
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return []byte(b.String())
}

// checkDSSE verifies the signatures of a DSSE envelope with the supplied
// public keys: valid when at least one signature verifies with one key.
func checkDSSE(env *Envelope, payload []byte, keys []PublicKey) Signature {
	s := Signature{Kind: KindDSSE}
	if len(env.Signatures) == 0 {
		s.Verdict, s.Detail = Invalid, "the DSSE envelope has no signature"
		return s
	}
	var ids []string
	for _, sg := range env.Signatures {
		if sg.KeyID != "" {
			ids = append(ids, sg.KeyID)
		}
	}
	s.KeyID = strings.Join(ids, ",")
	if len(keys) == 0 {
		s.Verdict, s.Detail = UnknownKey, "no PEM public key was given (--key) to check the DSSE envelope"
		return s
	}
	msg := pae(env.PayloadType, payload)
	bad := 0
	for i, sg := range env.Signatures {
		raw, err := decodeBase64(sg.Sig)
		if err != nil {
			bad++
			continue
		}
		for _, k := range keys {
			if verifyRaw(k.Key, msg, raw) {
				s.Verdict = Valid
				s.KeyID = k.ID
				s.Signer = k.File
				s.Detail = fmt.Sprintf("signature %d of %d verified with the key in %s", i+1, len(env.Signatures), k.File)
				return s
			}
		}
	}
	s.Verdict = Invalid
	s.Detail = fmt.Sprintf("none of the %d signatures verifies with the %d supplied key(s): the statement was changed or was signed with another key", len(env.Signatures), len(keys))
	if bad > 0 {
		s.Detail += fmt.Sprintf(" (%d signatures are not base64)", bad)
	}
	return s
}

// verifyRaw checks sig over msg: ECDSA (ASN.1 or r||s, hash by curve),
// RSA (PKCS #1 v1.5 or PSS, SHA-256) or Ed25519.
func verifyRaw(pub crypto.PublicKey, msg, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		h := ecdsaHash(k.Curve)
		d := h.New()
		d.Write(msg)
		sum := d.Sum(nil)
		if ecdsa.VerifyASN1(k, sum, sig) {
			return true
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) == 2*n {
			r := new(big.Int).SetBytes(sig[:n])
			s := new(big.Int).SetBytes(sig[n:])
			return ecdsa.Verify(k, sum, r, s)
		}
		return false
	case *rsa.PublicKey:
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			d := h.New()
			d.Write(msg)
			sum := d.Sum(nil)
			if rsa.VerifyPKCS1v15(k, h, sum, sig) == nil || rsa.VerifyPSS(k, h, sum, sig, nil) == nil {
				return true
			}
		}
	}
	return false
}

func ecdsaHash(c elliptic.Curve) crypto.Hash {
	switch c.Params().BitSize {
	case 384:
		return crypto.SHA384
	case 521:
		return crypto.SHA512
	}
	return crypto.SHA256
}
