// Package verify checks a firmware image against what a vendor or a lab
// published about it: a checksum manifest (sha256sum, sha512sum or BSD
// form), an in-toto/SLSA provenance statement, and the signatures over
// them (detached or cleartext OpenPGP, CMS/PKCS #7, DSSE envelopes,
// Sigstore bundles), all verified offline against keys and trust anchors
// the user supplies. Entries that name files inside the image are compared
// with the unpacked image's per-file hashes.
package verify

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/unpack"
)

// Signature kinds.
const (
	KindOpenPGP          = "openpgp"
	KindOpenPGPCleartext = "openpgp-cleartext"
	KindCMS              = "cms"
	KindDSSE             = "dsse"
	KindSigstore         = "sigstore"
)

// Signature verdicts.
const (
	Valid          = "valid"
	Invalid        = "invalid"
	UnknownKey     = "unknown-key"
	UntrustedChain = "untrusted-chain"
	Expired        = "expired"
	Revoked        = "revoked"
)

// Entry statuses.
const (
	Match          = "match"
	Mismatch       = "mismatch"
	MissingInImage = "missing-in-image"
	NotInManifest  = "not-in-manifest"
	// Unverified: the file is in the image but its content could not be
	// hashed (not extracted, or unreadable).
	Unverified = "unverified"
	// Other: an entry about another file than this image (a manifest
	// that lists every model's image); informational.
	Other = "other"
)

// Where an entry comes from.
const (
	SourceManifest   = "manifest"
	SourceProvenance = "provenance"
	SourceImage      = "image"
)

// Scopes: what the entries are compared with.
const (
	ScopeAuto  = "auto"  // the image when an entry names it, else the files inside it
	ScopeImage = "image" // only the image file
	ScopeFiles = "files" // the files of the unpacked image (and the image itself)
)

// Signature is the verdict on one signature.
type Signature struct {
	Kind string `json:"kind"`
	// File is the signature file; SignedFile what it was checked over.
	File       string `json:"file"`
	SignedFile string `json:"signed_file,omitempty"`
	Verdict    string `json:"verdict"`
	// Signer: OpenPGP user ID, certificate subject, Sigstore identity, or
	// the key file that verified a DSSE envelope.
	Signer string `json:"signer,omitempty"`
	Issuer string `json:"issuer,omitempty"`
	// KeyID: OpenPGP fingerprint or key ID, SHA-256 of the certificate or
	// of the public key, or the bundle's key hint.
	KeyID string `json:"key_id,omitempty"`
	// SignedAt is the time the signature states (OpenPGP, CMS) or the
	// earliest verified timestamp (Sigstore).
	SignedAt   string   `json:"signed_at,omitempty"`
	Timestamps []string `json:"timestamps,omitempty"`
	Detail     string   `json:"detail"`
}

// Result is one checked entry, or one file of the image no entry names.
type Result struct {
	Source    string `json:"source"`
	Name      string `json:"name"`
	Line      int    `json:"line,omitempty"` // manifest line; provenance: statement index + 1
	Algorithm string `json:"algorithm,omitempty"`
	Expected  string `json:"expected,omitempty"`
	Actual    string `json:"actual,omitempty"`
	Status    string `json:"status"`
	// Path is the manifest path of the file in the unpacked image, FSPath
	// its path in its filesystem.
	Path   string `json:"path,omitempty"`
	FSPath string `json:"fs_path,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Input is a file that was read, with its digest.
type Input struct {
	Role   string `json:"role"` // manifest, provenance, signature, bundle, key, ca, trusted-root
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// ImageInfo identifies the checked image.
type ImageInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	SHA384 string `json:"sha384,omitempty"`
	SHA512 string `json:"sha512,omitempty"`
}

// Summary counts the outcome.
type Summary struct {
	Match             int `json:"match"`
	Mismatch          int `json:"mismatch"`
	MissingInImage    int `json:"missing_in_image"`
	Unverified        int `json:"unverified"`
	NotInManifest     int `json:"not_in_manifest"`
	Other             int `json:"other"`
	SignaturesValid   int `json:"signatures_valid"`
	SignaturesFailed  int `json:"signatures_failed"`
	ProvenanceSubject int `json:"provenance_subjects"`
}

// Report is the outcome of a verification: the stable machine contract.
type Report struct {
	Image ImageInfo `json:"image"`
	// Verified is true when something was checked and nothing failed.
	Verified bool `json:"verified"`
	// Verdict: "verified", "failed" or "nothing verified".
	Verdict    string        `json:"verdict"`
	Scope      string        `json:"scope"`
	Inputs     []Input       `json:"inputs"`
	Signatures []Signature   `json:"signatures"`
	Provenance []*Provenance `json:"provenance,omitempty"`
	Entries    []Result      `json:"entries"`
	Summary    Summary       `json:"summary"`
	Notes      []string      `json:"notes,omitempty"`
	Problems   []string      `json:"problems,omitempty"`
}

// Report verdicts.
const (
	VerdictVerified = "verified"
	VerdictFailed   = "failed"
	VerdictNothing  = "nothing verified"
)

// Options say what to verify the image against.
type Options struct {
	Image      string
	Manifest   string // checksum file
	Provenance string // in-toto statement, DSSE envelope or JSON Lines of them
	PGPSig     string // detached OpenPGP signature
	CMSSig     string // CMS/PKCS #7 signature, detached or with its content
	Bundle     string // Sigstore bundle
	Keys       []string
	CAs        []string
	Sigstore   SigstoreOptions
	// TrustedRootFile is read into Sigstore.TrustedRoot when that is nil.
	TrustedRootFile string
	// Signed names what --sig and --cms cover: "manifest", "provenance"
	// or "image"; "" picks the manifest when there is one, else the image.
	Signed string
	// At is the time certificate chains and key expiry are judged at
	// (zero: now); AtSigningTime judges CMS chains at the stated signing
	// time instead.
	At            time.Time
	AtSigningTime bool
	Scope         string
	// Unpacked is an existing unpack folder of the image (with its
	// manifest.json) to use instead of unpacking again.
	Unpacked string
	// TempDir is where the image is unpacked when needed ("": the system's).
	TempDir  string
	Registry *firmware.Registry
	Limits   unpack.Limits
	Workers  int
	Logger   *slog.Logger
	Version  string
}

// target is a file a signature may cover.
type target struct {
	name    string
	role    string
	path    string // on disk; "" when data holds it
	data    []byte
	size    int64
	digests map[string]string
}

func (t *target) open() (io.ReadCloser, error) {
	if t.path == "" {
		return io.NopCloser(strings.NewReader(string(t.data))), nil
	}
	return os.Open(t.path)
}

func (t *target) bytes(max int64) ([]byte, error) {
	if t.path == "" {
		return t.data, nil
	}
	return readFileCapped(t.path, max)
}

func memTarget(name, role string, data []byte) *target {
	return &target{name: name, role: role, data: data, size: int64(len(data)), digests: digestsOf(data)}
}

func digestsOf(data []byte) map[string]string {
	a, b, c := sha256.Sum256(data), sha512.Sum384(data), sha512.Sum512(data)
	return map[string]string{SHA256: hex.EncodeToString(a[:]), SHA384: hex.EncodeToString(b[:]), SHA512: hex.EncodeToString(c[:])}
}

// hashFile computes the SHA-256, SHA-384 and SHA-512 of a file in one pass.
func hashFile(ctx context.Context, path string) (map[string]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	hs := map[string]hash.Hash{SHA256: sha256.New(), SHA384: sha512.New384(), SHA512: sha512.New()}
	w := io.MultiWriter(hs[SHA256], hs[SHA384], hs[SHA512])
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		k, rerr := f.Read(buf)
		if k > 0 {
			w.Write(buf[:k])
			n += int64(k)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, 0, rerr
		}
	}
	out := map[string]string{}
	for a, h := range hs {
		out[a] = hex.EncodeToString(h.Sum(nil))
	}
	return out, n, nil
}

// claim is an expected digest from a manifest line or a provenance subject.
type claim struct {
	source string
	name   string
	line   int
	alg    string
	digest string
	bad    string // why the claim cannot be checked
}

// Run verifies the image. It returns an error only when the inputs cannot
// be read; mismatches and bad signatures are in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Scope == "" {
		o.Scope = ScopeAuto
	}
	switch o.Scope {
	case ScopeAuto, ScopeImage, ScopeFiles:
	default:
		return nil, fmt.Errorf("scope %q: use auto, image or files", o.Scope)
	}
	switch o.Signed {
	case "", SourceManifest, SourceProvenance, SourceImage:
	default:
		return nil, fmt.Errorf("signed %q: use manifest, provenance or image", o.Signed)
	}
	if o.Manifest == "" && o.Provenance == "" && o.PGPSig == "" && o.CMSSig == "" && o.Bundle == "" {
		return nil, errors.New("nothing to verify against: give --manifest, --provenance, --sig, --cms or --bundle")
	}
	rep := &Report{Scope: o.Scope, Signatures: []Signature{}, Entries: []Result{}, Inputs: []Input{}}

	digests, size, err := hashFile(ctx, o.Image)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", o.Image, err)
	}
	rep.Image = ImageInfo{Name: filepath.Base(o.Image), Size: size, SHA256: digests[SHA256]}
	image := &target{name: filepath.Base(o.Image), role: SourceImage, path: o.Image, size: size, digests: digests}

	keys, err := LoadKeys(o.Keys)
	if err != nil {
		return nil, err
	}
	for _, k := range o.Keys {
		rep.addInput(ctx, "key", k)
	}
	if o.TrustedRootFile != "" {
		if o.Sigstore.TrustedRoot == nil {
			b, err := readFileCapped(o.TrustedRootFile, maxSigFile)
			if err != nil {
				return nil, fmt.Errorf("--trusted-root %s: %w", o.TrustedRootFile, err)
			}
			o.Sigstore.TrustedRoot = b
		}
		rep.addInput(ctx, "trusted-root", o.TrustedRootFile)
	}

	// The manifest: plain, cleartext-signed, or carried inside a CMS
	// signature.
	var manifestTg *target
	var manifestText []byte
	if o.Manifest != "" {
		data, err := readFileCapped(o.Manifest, MaxManifestSize)
		if err != nil {
			return nil, fmt.Errorf("--manifest %s: %w", o.Manifest, err)
		}
		rep.addInputData("manifest", o.Manifest, data)
		manifestTg = memTarget(filepath.Base(o.Manifest), SourceManifest, data)
		manifestText = data
		if isCleartextSigned(data) {
			sig, text, notes, err := checkPGPCleartext(keys.PGP, data, o.At)
			if err != nil {
				return nil, fmt.Errorf("--manifest %s: %w", o.Manifest, err)
			}
			sig.File, sig.SignedFile = o.Manifest, o.Manifest
			rep.Signatures = append(rep.Signatures, sig)
			rep.Notes = append(rep.Notes, prefixAll(o.Manifest+": ", notes)...)
			manifestText = text
		}
	}

	var provTg *target
	var provs []*Provenance
	if o.Provenance != "" {
		data, err := readFileCapped(o.Provenance, MaxProvenanceSize)
		if err != nil {
			return nil, fmt.Errorf("--provenance %s: %w", o.Provenance, err)
		}
		rep.addInputData("provenance", o.Provenance, data)
		provTg = memTarget(filepath.Base(o.Provenance), SourceProvenance, data)
		provs, err = ParseProvenance(data)
		if err != nil {
			return nil, fmt.Errorf("--provenance %s: %w", o.Provenance, err)
		}
		for _, p := range provs {
			if p.Envelope == nil {
				continue
			}
			sig := checkDSSE(p.Envelope, p.Payload, keys.Public)
			sig.File = o.Provenance
			sig.SignedFile = fmt.Sprintf("%s (statement %d)", o.Provenance, p.Index+1)
			rep.Signatures = append(rep.Signatures, sig)
		}
	}

	// What --sig and --cms cover.
	signedTg := image
	switch {
	case o.Signed == SourceManifest || (o.Signed == "" && o.Manifest != ""):
		signedTg = manifestTg
	case o.Signed == SourceProvenance:
		signedTg = provTg
	}
	if o.Signed == SourceManifest && manifestTg == nil && o.CMSSig == "" {
		return nil, errors.New("--signed manifest: no --manifest given")
	}
	if o.Signed == SourceProvenance && provTg == nil {
		return nil, errors.New("--signed provenance: no --provenance given")
	}

	if o.PGPSig != "" {
		data, err := readFileCapped(o.PGPSig, maxSigFile)
		if err != nil {
			return nil, fmt.Errorf("--sig %s: %w", o.PGPSig, err)
		}
		rep.addInputData("signature", o.PGPSig, data)
		if signedTg == nil {
			return nil, fmt.Errorf("--sig %s: no file to check it over", o.PGPSig)
		}
		r, err := signedTg.open()
		if err != nil {
			return nil, err
		}
		sig := checkPGPDetached(keys.PGP, r, data, o.At)
		r.Close()
		sig.File, sig.SignedFile = o.PGPSig, signedName(signedTg, o)
		rep.Signatures = append(rep.Signatures, sig)
	}

	if o.CMSSig != "" {
		data, err := readFileCapped(o.CMSSig, maxSigFile+MaxManifestSize)
		if err != nil {
			return nil, fmt.Errorf("--cms %s: %w", o.CMSSig, err)
		}
		rep.addInputData("signature", o.CMSSig, data)
		pool, _, err := LoadCAs(o.CAs)
		if err != nil {
			return nil, err
		}
		for _, c := range o.CAs {
			rep.addInput(ctx, "ca", c)
		}
		// A CMS signature that carries its content is the manifest
		// itself unless the user said what it signs.
		compareTo := signedTg
		if o.Manifest == "" && o.Signed == "" && cmsHasContent(data) {
			compareTo = nil
		}
		res := checkCMS(data, compareTo, pool, len(o.CAs) > 0, o.At, o.AtSigningTime)
		res.sig.File = o.CMSSig
		if compareTo != nil && res.sig.SignedFile == compareTo.name {
			res.sig.SignedFile = signedName(signedTg, o)
		}
		rep.Signatures = append(rep.Signatures, res.sig)
		if res.content != nil && o.Manifest == "" {
			// The signed content is the manifest.
			manifestText = res.content
			manifestTg = memTarget(o.CMSSig+" (content)", SourceManifest, res.content)
			rep.Notes = append(rep.Notes, "the manifest is the content signed inside "+o.CMSSig)
		}
	}

	if o.Bundle != "" {
		data, err := readFileCapped(o.Bundle, maxSigFile)
		if err != nil {
			return nil, fmt.Errorf("--bundle %s: %w", o.Bundle, err)
		}
		rep.addInputData("bundle", o.Bundle, data)
		sig, prov := checkSigstore(data, []*target{manifestTg, provTg, image}, keys.Public, o.Sigstore)
		sig.File = o.Bundle
		if sig.SignedFile == filepath.Base(o.Image) {
			sig.SignedFile = o.Image
		}
		rep.Signatures = append(rep.Signatures, sig)
		if prov != nil {
			prov.Index = len(provs)
			provs = append(provs, prov)
		}
	}

	// The claims to check.
	var claims []claim
	if manifestText != nil {
		m, err := ParseManifest(manifestText)
		if err != nil && (m == nil || len(m.Entries) == 0) {
			return nil, fmt.Errorf("manifest %s: %w", manifestTg.name, err)
		}
		for _, p := range m.Problems {
			rep.Problems = append(rep.Problems, manifestTg.name+": "+p)
		}
		if m.MoreProblems > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %d more problems", manifestTg.name, m.MoreProblems))
		}
		for _, e := range m.Entries {
			claims = append(claims, claim{source: SourceManifest, name: e.Name, line: e.Line, alg: e.Algorithm, digest: e.Digest})
		}
	}
	for _, p := range provs {
		rep.Provenance = append(rep.Provenance, p)
		for _, s := range p.Subjects {
			c := claim{source: SourceProvenance, name: s.Name, line: p.Index + 1}
			c.alg, c.digest = s.SubjectDigest()
			if c.alg == "" {
				c.bad = "no SHA-256, SHA-384 or SHA-512 digest in the subject"
			} else if d, a, err := digestOf(c.digest); err != nil || a != c.alg {
				c.bad = "the subject's " + c.alg + " digest is malformed"
			} else {
				c.digest = d
			}
			claims = append(claims, c)
		}
		rep.Summary.ProvenanceSubject += len(p.Subjects)
	}

	if err := rep.compare(ctx, o, image, claims); err != nil {
		return nil, err
	}
	rep.finish(o)
	return rep, nil
}

func signedName(t *target, o Options) string {
	switch t.role {
	case SourceImage:
		return o.Image
	case SourceManifest:
		if o.Manifest != "" {
			return o.Manifest
		}
	case SourceProvenance:
		return o.Provenance
	}
	return t.name
}

func isCleartextSigned(data []byte) bool {
	return strings.Contains(string(data[:min(len(data), 64<<10)]), "-----BEGIN PGP SIGNED MESSAGE-----")
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

func (r *Report) addInputData(role, file string, data []byte) {
	sum := sha256.Sum256(data)
	r.Inputs = append(r.Inputs, Input{Role: role, File: file, SHA256: hex.EncodeToString(sum[:])})
}

func (r *Report) addInput(ctx context.Context, role, file string) {
	d, _, err := hashFile(ctx, file)
	if err != nil {
		return
	}
	r.Inputs = append(r.Inputs, Input{Role: role, File: file, SHA256: d[SHA256]})
}

// finish counts, sorts and decides the verdict.
func (r *Report) finish(o Options) {
	sort.SliceStable(r.Entries, func(i, j int) bool {
		a, b := r.Entries[i], r.Entries[j]
		if ra, rb := sourceRank(a.Source), sourceRank(b.Source); ra != rb {
			return ra < rb
		}
		if a.Line != b.Line && a.Source == SourceManifest {
			return a.Line < b.Line
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Path < b.Path
	})
	sort.SliceStable(r.Signatures, func(i, j int) bool {
		a, b := r.Signatures[i], r.Signatures[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.SignedFile < b.SignedFile
	})
	sort.SliceStable(r.Inputs, func(i, j int) bool {
		if r.Inputs[i].Role != r.Inputs[j].Role {
			return r.Inputs[i].Role < r.Inputs[j].Role
		}
		return r.Inputs[i].File < r.Inputs[j].File
	})
	s := &r.Summary
	for _, e := range r.Entries {
		switch e.Status {
		case Match:
			s.Match++
		case Mismatch:
			s.Mismatch++
		case MissingInImage:
			s.MissingInImage++
		case Unverified:
			s.Unverified++
		case NotInManifest:
			s.NotInManifest++
		case Other:
			s.Other++
		}
	}
	for _, sg := range r.Signatures {
		if sg.Verdict == Valid {
			s.SignaturesValid++
		} else {
			s.SignaturesFailed++
		}
	}
	failed := s.Mismatch+s.MissingInImage+s.Unverified+s.SignaturesFailed > 0
	checked := s.Match + s.SignaturesValid
	switch {
	case failed:
		r.Verdict = VerdictFailed
	case checked == 0:
		r.Verdict = VerdictNothing
	default:
		r.Verdict, r.Verified = VerdictVerified, true
	}
	if r.Verified && s.SignaturesValid == 0 {
		r.Notes = append(r.Notes, "no signature was verified: the digests match, but whoever could change the image could also have changed the manifest or statement")
	}
	if r.Verified && s.Match == 0 && !imageSigned(r, o) {
		r.Notes = append(r.Notes, "the signatures are valid, but no entry matched the image")
		r.Verified, r.Verdict = false, VerdictNothing
	}
	sort.Strings(r.Notes)
}

// imageSigned reports whether a valid signature covers the image itself.
func imageSigned(r *Report, o Options) bool {
	for _, s := range r.Signatures {
		if s.Verdict == Valid && s.SignedFile == o.Image {
			return true
		}
	}
	return false
}

func sourceRank(s string) int {
	switch s {
	case SourceManifest:
		return 0
	case SourceProvenance:
		return 1
	}
	return 2
}
