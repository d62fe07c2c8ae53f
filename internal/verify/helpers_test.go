package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/smallstep/pkcs7"
	"google.golang.org/protobuf/encoding/protojson"
)

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pgpEntity makes an OpenPGP key pair.
func pgpEntity(t testing.TB, name string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test", name+"@example.net", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pgpPublicArmored(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}

func pgpDetach(t testing.TB, e *openpgp.Entity, data []byte, armored bool) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if armored {
		err = openpgp.ArmoredDetachSign(&b, e, bytes.NewReader(data), nil)
	} else {
		err = openpgp.DetachSign(&b, e, bytes.NewReader(data), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pgpClearsign(t testing.TB, e *openpgp.Entity, text []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := clearsign.Encode(&b, e.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(text)
	w.Close()
	return b.Bytes()
}

func ecKey(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// dsseEnvelope signs statement in a DSSE envelope with k.
func dsseEnvelope(t testing.TB, k *ecdsa.PrivateKey, statement []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(pae(InTotoPayloadType, statement))
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	env := Envelope{PayloadType: InTotoPayloadType, Payload: base64.StdEncoding.EncodeToString(statement),
		Signatures: []EnvelopeSig{{KeyID: "lab-key", Sig: base64.StdEncoding.EncodeToString(sig)}}}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slsaStatement is a SLSA v1 provenance statement about subjects.
func slsaStatement(subjects map[string]string) []byte {
	type subj struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	var ss []subj
	for n, d := range subjects {
		ss = append(ss, subj{Name: n, Digest: map[string]string{"sha256": d}})
	}
	st := map[string]any{
		"_type":         StatementV1,
		"subject":       ss,
		"predicateType": SLSAv1,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": "https://example.net/firmware-build/v1",
				"resolvedDependencies": []map[string]any{
					{"uri": "git+https://git.example.net/fw@refs/tags/v1.2", "digest": map[string]string{"gitCommit": "0123456789abcdef0123456789abcdef01234567"}},
				},
			},
			"runDetails": map[string]any{
				"builder":  map[string]any{"id": "https://ci.example.net/builder/v1"},
				"metadata": map[string]any{"startedOn": "2025-01-02T03:04:05Z", "finishedOn": "2025-01-02T03:14:05Z"},
			},
		},
	}
	b, _ := json.Marshal(st)
	return b
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t testing.TB, cn string) *testCA {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"Test Lab"}},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: k, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) leaf(t testing.TB, cn string, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"Vendor"}},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, k.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

// cmsSign makes a CMS SignedData over content, detached or not.
func cmsSign(t testing.TB, cert *x509.Certificate, key crypto.PrivateKey, content []byte, detach bool) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	if detach {
		sd.Detach()
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// keyBundle is a Sigstore bundle v0.3 with a message signature over
// artifact made with k, and no transparency-log entry: what `cosign
// sign-blob --key` writes for a private deployment without Rekor.
func keyBundle(t testing.TB, k *ecdsa.PrivateKey, artifact []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(artifact)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	hint := sha256.Sum256(der)
	b := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: base64.StdEncoding.EncodeToString(hint[:])}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fakeSigstore is a made-up Sigstore instance: a Fulcio-like CA that
// issues short-lived certificates naming an identity and an OIDC issuer,
// and a Rekor-like log that countersigns entries (signed entry
// timestamps). Everything a real public-instance bundle v0.1 carries.
type fakeSigstore struct {
	ca     *testCA
	logKey *ecdsa.PrivateKey
	logID  [32]byte
}

func newFakeSigstore(t testing.TB) *fakeSigstore {
	t.Helper()
	lk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(lk.Public())
	return &fakeSigstore{ca: newCA(t, "sigstore-test-ca"), logKey: lk, logID: sha256.Sum256(der)}
}

var oidcIssuerOID = []int{1, 3, 6, 1, 4, 1, 57264, 1, 1}

// sign makes a bundle v0.1 with a message signature over artifact by a
// fresh certificate for identity, logged at the current time.
func (f *fakeSigstore) sign(t testing.TB, artifact []byte, identity, issuer string) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(10 * time.Minute),
		EmailAddresses: []string{identity}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: oidcIssuerOID, Value: []byte(issuer)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, f.ca.cert, k.Public(), f.ca.key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(artifact)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "0.0.1", "kind": "hashedrekord",
		"spec": map[string]any{
			"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
			"signature": map[string]any{"content": base64.StdEncoding.EncodeToString(sig), "publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(certPEM)}},
		},
	})
	integrated := now.Unix()
	// The signed entry timestamp: the log's signature over the canonical
	// JSON of body, integrated time, log ID and index (keys sorted, no
	// HTML escaping: RFC 8785 for these values).
	var payload bytes.Buffer
	enc := json.NewEncoder(&payload)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": integrated, "logID": hex.EncodeToString(f.logID[:]), "logIndex": 0})
	setSum := sha256.Sum256(bytes.TrimSuffix(payload.Bytes(), []byte("\n")))
	set, err := ecdsa.SignASN1(rand.Reader, f.logKey, setSum[:])
	if err != nil {
		t.Fatal(err)
	}
	b := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
				Certificates: []*protocommon.X509Certificate{{RawBytes: der}},
			}},
			TlogEntries: []*protorekor.TransparencyLogEntry{{
				LogIndex:          0,
				LogId:             &protocommon.LogId{KeyId: f.logID[:]},
				KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"},
				IntegratedTime:    integrated,
				InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
				CanonicalizedBody: body,
			}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// trustedRoot is the trusted_root.json that names the CA and the log.
func (f *fakeSigstore) trustedRoot(t testing.TB) []byte {
	t.Helper()
	now := time.Now()
	fca := &root.FulcioCertificateAuthority{Root: f.ca.cert, URI: "https://fulcio.test", ValidityPeriodStart: now.Add(-time.Hour), ValidityPeriodEnd: now.Add(time.Hour)}
	tl := &root.TransparencyLog{BaseURL: "https://rekor.test", ID: f.logID[:], ValidityPeriodStart: now.Add(-time.Hour),
		HashFunc: crypto.SHA256, PublicKey: f.logKey.Public(), SignatureHashFunc: crypto.SHA256}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fca}, nil, nil,
		map[string]*root.TransparencyLog{hex.EncodeToString(f.logID[:]): tl})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
