// Package keys finds key material baked into an unpacked image: private
// keys (PEM in PKCS#1, SEC 1, PKCS#8 and encrypted forms, OpenSSH,
// PuTTY, and dropbear's binary host keys), SSH host keys that every unit
// of a product shares, authorized_keys entries that let someone log in to
// every unit, and certificates that are expired, self-signed, weak, or
// signed with MD5 or SHA-1. Every regular file is searched in bounded
// chunks, so keys embedded in binaries are found with their byte offset.
// Evidence names the key type, size and the SHA-256 fingerprints of the
// public part, never the private key.
package keys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// Rules reported by the analyser.
var (
	RulePrivateKey = firmware.Rule{
		ID: "NV-KEY-001", Title: "Private key in the image", Severity: firmware.SeverityHigh,
		Rationale:  "a key shipped in firmware is the same on every unit and public to anyone who downloads the image: its TLS or SSH identity can be impersonated and its traffic decrypted",
		References: []string{"https://cwe.mitre.org/data/definitions/321.html", "https://cwe.mitre.org/data/definitions/798.html"},
	}
	RuleEncryptedKey = firmware.Rule{
		ID: "NV-KEY-002", Title: "Encrypted private key in the image", Severity: firmware.SeverityMedium,
		Rationale:  "the passphrase that unlocks it is usually in the same image (a start script or a binary), which makes it a shared key like an unencrypted one",
		References: []string{"https://cwe.mitre.org/data/definitions/321.html"},
	}
	RuleHostKey = firmware.Rule{
		ID: "NV-KEY-003", Title: "SSH host key baked into the image", Severity: firmware.SeverityHigh,
		Rationale:  "every unit shares the host key, so anyone with the image can impersonate any unit and intercept SSH sessions to it",
		References: []string{"https://cwe.mitre.org/data/definitions/321.html", "https://www.kb.cert.org/vuls/id/566724"},
	}
	RuleAuthorizedKey = firmware.Rule{
		ID: "NV-KEY-004", Title: "Authorized SSH key in the image", Severity: firmware.SeverityHigh,
		Rationale:  "the holder of the matching private key can log in to every unit built from this image",
		References: []string{"https://cwe.mitre.org/data/definitions/798.html"},
	}
	RuleCertExpired = firmware.Rule{
		ID: "NV-KEY-005", Title: "Expired certificate", Severity: firmware.SeverityLow,
		Rationale: "clients either reject the certificate or have been told to ignore validation errors, which removes protection against interception",
	}
	RuleCertSelfSigned = firmware.Rule{
		ID: "NV-KEY-006", Title: "Self-signed certificate", Severity: firmware.SeverityLow,
		Rationale:  "no client can validate it, so users learn to accept certificate warnings for the device",
		References: []string{"https://cwe.mitre.org/data/definitions/295.html"},
	}
	RuleWeakKey = firmware.Rule{
		ID: "NV-KEY-007", Title: "Weak key", Severity: firmware.SeverityMedium,
		Rationale:  "RSA keys under 2048 bits and DSA keys are below the current minimum (NIST SP 800-131A, FIPS 186-5) and within reach of well-funded attackers",
		References: []string{"https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"},
	}
	RuleCertMD5 = firmware.Rule{
		ID: "NV-KEY-008", Title: "Certificate signed with MD5 or MD2", Severity: firmware.SeverityHigh,
		Rationale:  "MD5 collisions allow forging a certificate with the same signature (demonstrated against a public CA in 2008)",
		References: []string{"https://www.win.tue.nl/hashclash/rogue-ca/"},
	}
	RuleCertSHA1 = firmware.Rule{
		ID: "NV-KEY-009", Title: "Certificate signed with SHA-1", Severity: firmware.SeverityMedium,
		Rationale:  "SHA-1 chosen-prefix collisions are practical (2020), so SHA-1 certificate signatures can be forged",
		References: []string{"https://sha-mbles.github.io/"},
	}
	RulePublishedTestKey = firmware.Rule{
		ID: "NV-KEY-010", Title: "Published self-test key inside the library that publishes it", Severity: firmware.SeverityInfo,
		Rationale: "crypto libraries carry fixed keys for their power-on self-tests; the key is public in the library's source and identifies nothing, so only its use elsewhere in the image would matter (and is reported as NV-KEY-001)",
	}
)

var allRules = []firmware.Rule{
	RulePrivateKey, RuleEncryptedKey, RuleHostKey, RuleAuthorizedKey, RuleCertExpired,
	RuleCertSelfSigned, RuleWeakKey, RuleCertMD5, RuleCertSHA1, RulePublishedTestKey,
}

// selfTestKeys are private keys compiled into crypto libraries for their
// self-tests, by ssh-keygen fingerprint, with the library file-name
// prefix they belong to. Seen in Debian 12's libgnutls30 3.7.9
// (lib/crypto-selftests-pk.c in the GnuTLS source).
var selfTestKeys = map[string]struct{ lib, what string }{
	"SHA256:/s7hC1qbiBH8ldTc08GJSkZlmCiNIbFLFmlDUIrRkck": {"libgnutls", "GnuTLS ECDSA P-256 self-test key"},
	"SHA256:aTOClQtdjWd6ramaZSkxPI9c4L5sDR/3RimBlUMfraM": {"libgnutls", "GnuTLS DSA self-test key"},
	"SHA256:EYb3seR7zeXfX5vRAHvcZ4f/25rWfBmDoC5t2UVlUYs": {"libgnutls", "GnuTLS RSA self-test key"},
}

// Options tune the analyser. The zero value gives the defaults.
type Options struct {
	// Now is the time certificates are judged at. The scan passes its
	// own clock so that a report can be reproduced; zero means the time
	// Analyze starts.
	Now time.Time
	// MaxFileSize is the largest file searched (default 64 MiB).
	MaxFileSize int64
	// MaxBlocks bounds the keys and certificates read from one file
	// (default 2048).
	MaxBlocks int
	// Logger receives notes about skipped files (default: discarded).
	Logger *slog.Logger

	chunk int // search chunk, 1 MiB; tests make it small
}

type analyzer struct{ opts Options }

// New returns the analyser with default options.
func New() firmware.Analyzer { return NewWithOptions(Options{}) }

// NewWithOptions returns the analyser with the given options.
func NewWithOptions(o Options) firmware.Analyzer {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 64 << 20
	}
	if o.MaxBlocks <= 0 {
		o.MaxBlocks = 2048
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.chunk <= 0 {
		o.chunk = 1 << 20
	}
	return &analyzer{opts: o}
}

var _ firmware.Analyzer = (*analyzer)(nil)

const analyzerName = "keys"

func (a *analyzer) Info() firmware.AnalyzerInfo {
	return firmware.AnalyzerInfo{
		Name:        analyzerName,
		Description: "private keys, SSH host keys, authorized_keys entries and weak or expired certificates",
		Rules:       append([]firmware.Rule(nil), allRules...),
	}
}

// finding is a finding with what identifies its key or certificate, for
// removing the copy seen in a container when its extracted file has it.
type finding struct {
	firmware.Finding
	ident string
	spki  string // of a private key, to match certificates
}

type run struct {
	a     *analyzer
	t     *firmware.Tree
	ctx   context.Context
	now   time.Time
	found []finding
	// certSPKI maps a certificate's SPKI hash to where it is.
	certSPKI map[string]string
}

func (a *analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	r := &run{a: a, t: t, ctx: ctx, now: a.opts.Now, certSPKI: map[string]string{}}
	if r.now.IsZero() {
		r.now = time.Now()
	}
	for _, f := range t.Regular() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.file(f); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.opts.Logger.Debug("file skipped", "path", f.Path, "err", err)
		}
	}
	fs := r.finish()
	firmware.SortFindings(fs)
	for _, f := range fs {
		out.Report(f)
	}
	return nil
}

func (r *run) add(rule firmware.Rule, f *firmware.File, off int64, line int, ev, ident, spki string) {
	fd := rule.Finding(f, off, ev)
	fd.Line, fd.Analyzer = line, analyzerName
	r.found = append(r.found, finding{Finding: fd, ident: ident, spki: spki})
}

// finish links private keys to certificates with the same public key and
// drops a finding in a container file when a file extracted from it has
// the same finding (an uncompressed tar or cpio holds its members'
// bytes).
func (r *run) finish() []firmware.Finding {
	type key struct{ rule, ident string }
	paths := map[key][]string{}
	for _, f := range r.found {
		paths[key{f.Rule, f.ident}] = append(paths[key{f.Rule, f.ident}], f.Path)
	}
	var out []firmware.Finding
	for _, f := range r.found {
		inner := false
		for _, p := range paths[key{f.Rule, f.ident}] {
			if strings.HasPrefix(p, f.Path+"/") {
				inner = true
				break
			}
		}
		if inner {
			continue
		}
		if f.spki != "" && r.certSPKI[f.spki] != "" {
			f.Evidence += "; the certificate " + r.certSPKI[f.spki] + " has this public key"
		}
		out = append(out, f.Finding)
	}
	return out
}

// isHostKeyPath reports the places SSH servers read host keys from.
func isHostKeyPath(f *firmware.File) bool {
	n := f.Name()
	switch {
	case strings.HasPrefix(n, "ssh_host_") && strings.HasSuffix(n, "_key"),
		strings.HasPrefix(n, "dropbear_") && strings.HasSuffix(n, "_host_key"):
		return true
	}
	return f.FSPath != "" && path.Dir(f.FSPath) == "/etc/dropbear" && !strings.HasPrefix(n, "authorized_keys")
}

// derNames are file name endings that may hold a DER certificate or key.
var derNames = []string{".der", ".cer", ".crt", ".cert", ".key", ".pk8", ".p8"}

func (r *run) file(f *firmware.File) error {
	if f.Size > r.a.opts.MaxFileSize {
		return fmt.Errorf("%d bytes, above the %d-byte limit", f.Size, r.a.opts.MaxFileSize)
	}
	fh, err := r.t.Open(f)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size > r.a.opts.MaxFileSize {
		return fmt.Errorf("%d bytes, above the %d-byte limit", size, r.a.opts.MaxFileSize)
	}
	prefix := make([]byte, min(size, 8192))
	n, err := readAt(fh, prefix, 0)
	if err != nil {
		return err
	}
	prefix = prefix[:n]
	text := bytes.IndexByte(prefix, 0) < 0
	host := isHostKeyPath(f)

	if size <= maxDropbearKey && looksDropbear(prefix) {
		b := make([]byte, size)
		if n, err = readAt(fh, b, 0); err != nil {
			return err
		}
		pub, blob, err := parseDropbear(b[:n])
		if err == nil {
			k := privKey{Pub: pub, Format: "dropbear"}
			r.key(f, 0, 0, k, host, "dropbear:"+sshFingerprint(blob))
			return nil
		}
		r.a.opts.Logger.Debug("not a dropbear key", "path", f.Path, "err", err)
	}
	if text && strings.HasPrefix(f.Name(), "authorized_keys") {
		if err := r.authorizedKeys(f, fh, size); err != nil {
			return err
		}
	}
	if len(prefix) > 0 && prefix[0] == 0x30 && size <= maxBlock {
		for _, s := range derNames {
			if strings.HasSuffix(strings.ToLower(f.Name()), s) {
				r.der(f, fh, size, host)
				break
			}
		}
	}
	return r.scan(f, fh, size, text, host)
}

// der reads a whole file as a DER certificate or private key.
func (r *run) der(f *firmware.File, fh io.ReaderAt, size int64, host bool) {
	b := make([]byte, size)
	n, err := readAt(fh, b, 0)
	if err != nil {
		return
	}
	b = b[:n]
	if c, err := x509.ParseCertificate(b); err == nil {
		r.certs(f, []certItem{{off: 0, c: c}})
		return
	}
	if len(b) > maxKeyDER {
		return
	}
	var pub any
	format := ""
	if k, err := parsePKCS8(b); err == nil {
		pub, format = k, "PKCS#8 DER"
	} else if k, err := parseRSAPrivate(b); err == nil {
		pub, format = k, "PKCS#1 DER"
	} else if k, err := x509.ParseECPrivateKey(b); err == nil {
		pub, format = &k.PublicKey, "SEC 1 DER"
	}
	if pub != nil {
		k := fromPublic(pub, format)
		r.key(f, 0, 0, k, host, identOf(k, b))
	}
}

type certItem struct {
	off  int64
	line int
	c    *x509.Certificate
}

// scan searches a file for PEM blocks and PuTTY keys.
func (r *run) scan(f *firmware.File, fh io.ReaderAt, size int64, text, host bool) error {
	var certs []certItem
	blocks := 0
	lineOf := func(h hit) int {
		if text {
			return h.Line
		}
		return 0
	}
	err := scanMarkers(r.ctx, fh, size, r.a.opts.chunk, func(h hit) bool {
		if h.PuTTY {
			b := make([]byte, min(int64(maxBlock), size-h.Off))
			n, err := readAt(fh, b, h.Off)
			if err != nil {
				return false
			}
			if k, err := parsePuTTY(b[:n]); err == nil {
				blocks++
				r.key(f, h.Off, lineOf(h), k, host, identOf(k, nil))
			}
			return blocks < r.a.opts.MaxBlocks
		}
		if !interesting[h.Label] {
			return true
		}
		blocks++
		seg, err := readBlock(fh, size, h.Off, h.Label)
		if err != nil {
			r.a.opts.Logger.Debug("PEM block skipped", "path", f.Path, "offset", h.Off, "err", err)
			return blocks < r.a.opts.MaxBlocks
		}
		b, err := decodePEM(seg)
		if err != nil {
			r.a.opts.Logger.Debug("PEM block skipped", "path", f.Path, "offset", h.Off, "err", err)
			return blocks < r.a.opts.MaxBlocks
		}
		if strings.HasSuffix(h.Label, "CERTIFICATE") {
			if c, err := parseCertBlock(b); err == nil {
				certs = append(certs, certItem{off: h.Off, line: lineOf(h), c: c})
			} else {
				r.a.opts.Logger.Debug("certificate skipped", "path", f.Path, "offset", h.Off, "err", err)
			}
			return blocks < r.a.opts.MaxBlocks
		}
		k, err := parseKeyBlock(b)
		if err != nil {
			r.a.opts.Logger.Debug("private key skipped", "path", f.Path, "offset", h.Off, "err", err)
			return blocks < r.a.opts.MaxBlocks
		}
		r.key(f, h.Off, lineOf(h), k, host, identOf(k, seg))
		return blocks < r.a.opts.MaxBlocks
	})
	if len(certs) > 0 {
		r.certs(f, certs)
	}
	return err
}

// identOf names a key for de-duplication: its public key when known,
// else the bytes of its block.
func identOf(k privKey, block []byte) string {
	switch {
	case k.Pub.SSHFP != "":
		return k.Pub.SSHFP
	case k.SPKI != "":
		return "spki:" + k.SPKI
	}
	sum := sha256.Sum256(block)
	return "block:" + hex.EncodeToString(sum[:])
}

// keyEvidence describes a private key without its secret.
func keyEvidence(k privKey, host bool) string {
	var b strings.Builder
	b.WriteString(k.Pub.String())
	if host {
		b.WriteString(" SSH host key")
	} else {
		b.WriteString(" private key")
	}
	b.WriteString(", " + k.Format)
	if k.Encrypted {
		b.WriteString(", encrypted (" + k.Cipher + ")")
	} else {
		b.WriteString(", not encrypted")
	}
	if k.Pub.SSHFP != "" {
		b.WriteString("; public key " + k.Pub.SSHFP + " (ssh-keygen -l)")
	}
	if k.SPKI != "" {
		b.WriteString("; SPKI SHA-256 " + k.SPKI)
	}
	if k.Pub.SSHFP == "" && k.SPKI == "" {
		b.WriteString("; public key not stored in clear")
	}
	if k.Comment != "" {
		b.WriteString(fmt.Sprintf("; comment %q", printable(k.Comment)))
	}
	return b.String()
}

func (r *run) key(f *firmware.File, off int64, line int, k privKey, host bool, ident string) {
	if st, ok := selfTestKeys[k.Pub.SSHFP]; ok && k.Pub.SSHFP != "" {
		note := "; the published " + st.what
		if !host && !k.Encrypted && strings.HasPrefix(path.Base(f.Path), st.lib) {
			r.add(RulePublishedTestKey, f, off, line, keyEvidence(k, host)+note+", in its own library", ident, k.SPKI)
			return
		}
		// Used outside its library, the public test key is an identity
		// anyone can impersonate: reported as usual, with the note.
		defer func(n int) {
			for i := n; i < len(r.found); i++ {
				r.found[i].Evidence += note
			}
		}(len(r.found))
	}
	rule := RulePrivateKey
	switch {
	case host:
		rule = RuleHostKey
	case k.Encrypted:
		rule = RuleEncryptedKey
	}
	r.add(rule, f, off, line, keyEvidence(k, host), ident, k.SPKI)
	if w := k.Pub.weak(); w != "" {
		r.add(RuleWeakKey, f, off, line, w+" ("+keyEvidence(k, host)+")", ident, "")
	}
}

// maxAuthFile bounds an authorized_keys file.
const maxAuthFile = 1 << 20

func (r *run) authorizedKeys(f *firmware.File, fh io.ReaderAt, size int64) error {
	b := make([]byte, min(size, maxAuthFile))
	n, err := readAt(fh, b, 0)
	if err != nil {
		return err
	}
	b = b[:n]
	lineNo := 0
	for off := 0; off < len(b); {
		lineNo++
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			end = len(b) - off
		}
		text := string(b[off : off+end])
		start := off
		off += end + 1
		k, err := parseAuthorizedLine(text)
		if errors.Is(err, errNoKey) {
			continue
		}
		if err != nil {
			r.a.opts.Logger.Debug("authorized_keys line skipped", "path", f.Path, "line", lineNo, "err", err)
			continue
		}
		var ev strings.Builder
		var pub pubKey
		perr := k.BlobErr
		fp := ""
		if perr == nil {
			fp = sshFingerprint(k.Blob)
			pub, perr = parseSSHPublicKey(k.Blob)
		}
		switch {
		case perr == nil:
			ev.WriteString(pub.String() + " key " + fp)
		case fp != "":
			ev.WriteString(printable(k.Type) + " key " + fp)
		default:
			ev.WriteString(printable(k.Type) + " key")
		}
		if k.Comment != "" {
			ev.WriteString(fmt.Sprintf(", comment %q", printable(k.Comment)))
		}
		if k.Options != "" {
			ev.WriteString(fmt.Sprintf(", options %q", printable(k.Options)))
		}
		switch {
		case perr != nil:
			ev.WriteString(fmt.Sprintf("; the key data does not parse (%v), so sshd skips this line: it shows the key meant to be installed", perr))
		case pub.SSHType != k.Type && !strings.HasSuffix(k.Type, "-cert-v01@openssh.com"):
			ev.WriteString(fmt.Sprintf("; the line says %s, the key data is %s", printable(k.Type), pub.SSHType))
		}
		ident := fp
		if ident == "" {
			ident = "line:" + text
		}
		r.add(RuleAuthorizedKey, f, int64(start), lineNo, ev.String(), ident, "")
		if perr == nil {
			if w := pub.weak(); w != "" {
				r.add(RuleWeakKey, f, int64(start), lineNo, w+" (authorized key "+fp+")", fp, "")
			}
		}
	}
	return nil
}

// trustStorePath reports paths where CA bundles live.
func trustStorePath(p string) bool {
	p = strings.ToLower(p)
	for _, s := range []string{"ca-certificates", "ca-bundle", "cacert", "/etc/ssl/certs/", "/etc/pki/", "trust"} {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// selfSigned reports a certificate issued by itself: same subject and
// issuer, key identifiers that agree, and a signature its own key
// verifies. MD5 and SHA-1 signatures, which crypto/x509 refuses to check,
// are taken on the names and key identifiers.
func selfSigned(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawSubject, c.RawIssuer) {
		return false
	}
	if len(c.AuthorityKeyId) > 0 && len(c.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
		return false
	}
	err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
	var insecure x509.InsecureAlgorithmError
	return err == nil || errors.As(err, &insecure)
}

func certEvidence(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	p := describe(c.PublicKey)
	return fmt.Sprintf("certificate subject %q, issuer %q, serial %s, valid %s to %s, %s key, %s signature; SHA-256 %s",
		printableLong(c.Subject.String()), printableLong(c.Issuer.String()), c.SerialNumber.Text(16),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339),
		p.String(), c.SignatureAlgorithm, hex.EncodeToString(sum[:]))
}

// printableLong is printable with room for a distinguished name.
func printableLong(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '.'
		}
	}
	return string(b)
}

// certs checks the certificates of one file. Self-signed CA certificates
// in a bundle or a trust-store path are trust anchors: what to trust, not
// an identity of the device, so they are not reported.
func (r *run) certs(f *firmware.File, items []certItem) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].off < items[j].off })
	store := len(items) > 1 || trustStorePath(f.FSPath)
	where := f.FSPath
	if where == "" {
		where = f.Path
	}
	for _, it := range items {
		c := it.c
		self := selfSigned(c)
		if self && c.IsCA && store {
			continue
		}
		sum := sha256.Sum256(c.Raw)
		ident := "cert:" + hex.EncodeToString(sum[:])
		spki := spkiHash(c.PublicKey)
		if spki != "" {
			if _, ok := r.certSPKI[spki]; !ok {
				r.certSPKI[spki] = fmt.Sprintf("%q at %s", printableLong(c.Subject.String()), where)
			}
		}
		ev := certEvidence(c)
		if r.now.After(c.NotAfter) {
			r.add(RuleCertExpired, f, it.off, it.line, "expired "+c.NotAfter.UTC().Format(time.RFC3339)+": "+ev, ident, "")
		}
		if self {
			ca := ""
			if c.IsCA {
				ca = " (marked as a CA)"
			}
			r.add(RuleCertSelfSigned, f, it.off, it.line, "self-signed"+ca+": "+ev, ident, "")
		}
		if w := describe(c.PublicKey).weak(); w != "" {
			r.add(RuleWeakKey, f, it.off, it.line, w+": "+ev, ident, "")
		}
		if !self {
			switch c.SignatureAlgorithm {
			case x509.MD2WithRSA, x509.MD5WithRSA:
				r.add(RuleCertMD5, f, it.off, it.line, ev, ident, "")
			case x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
				r.add(RuleCertSHA1, f, it.off, it.line, ev, ident, "")
			}
		}
	}
}
