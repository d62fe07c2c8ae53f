package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/verify"
	"github.com/netvet/netvet/internal/version"
)

type verifyFlags struct {
	manifest, provenance, sig, cms, bundle string
	keys, cas                              []string
	trustedRoot                            string
	identity, identityRE, issuer, issuerRE string
	signed, at, scope, unpacked            string
	format, output                         string
}

func newFirmwareVerifyCmd(e *env) *cobra.Command {
	var fl verifyFlags
	cmd := &cobra.Command{
		Use:   "verify IMAGE [--manifest FILE] [--provenance FILE] [--sig|--cms|--bundle FILE] [--key FILE]",
		Short: "Check an image against a published checksum manifest, provenance statement and signatures",
		Long: `Check IMAGE against what its vendor or an evaluation lab published, offline:

  --manifest     a checksum file: sha256sum/sha512sum output ("<hex>  <name>",
                 "<hex> *<name>") or the BSD form ("SHA256 (<name>) = <hex>");
                 a cleartext-signed one (gpg --clearsign) is verified with --key
  --provenance   an in-toto statement (v0.1 or v1), a DSSE envelope holding
                 one, or JSON Lines of them; SLSA provenance v0.1, v0.2 and v1
                 predicates are shown (builder, build type, materials); DSSE
                 signatures are verified with PEM public keys given with --key
  --sig          a detached OpenPGP signature (armored or binary), verified
                 with the OpenPGP public keys given with --key
  --cms          a CMS/PKCS #7 signature (DER or PEM, detached or carrying
                 the manifest), verified and chained to the --ca trust anchors
  --bundle       a Sigstore bundle (v0.1 to v0.3): a key-signed bundle is
                 verified with a PEM --key; a certificate-signed one against
                 --trusted-root (the trusted_root.json of its Sigstore
                 instance, its transparency-log entries and timestamps
                 included) and the signer named by --identity/--issuer

--sig and --cms cover the manifest when one is given, else the image
(--signed picks: manifest, provenance or image). A Sigstore bundle's
message signature is matched to the file it signs by digest.

Entries are compared with the image itself when one of them names it (by
name or digest; the others are "other" and not checked), or else with the
files inside the unpacked image (--scope files forces that): each entry is
"match", "mismatch", "missing-in-image" or "unverified", and the files of
the same filesystems no entry names are listed as "not-in-manifest".

Signature verdicts: valid, invalid, unknown-key, untrusted-chain, expired,
revoked. Exit status: 0 when everything checked verifies, 3 when an entry
does not match, a signature is not valid, or nothing could be verified,
1 on errors.`,
		Example: `  # A vendor's SHA256SUMS and its detached OpenPGP signature
  netvet firmware verify fw.bin --manifest SHA256SUMS --sig SHA256SUMS.asc --key vendor.asc

  # A cleartext-signed manifest of the files inside the image
  netvet firmware verify fw.bin --manifest files.sha256.asc --key vendor.asc --scope files

  # A CMS signature over the manifest, chained to the vendor's root CA
  netvet firmware verify fw.bin --manifest SHA256SUMS --cms SHA256SUMS.p7s --ca vendor-root.pem

  # A lab's signed SLSA provenance (DSSE envelope) and its ECDSA key
  netvet firmware verify fw.bin --provenance fw.intoto.jsonl --key lab.pub -f json

  # A Sigstore bundle, offline, against a trusted root and a signer identity
  netvet firmware verify fw.bin --bundle fw.bin.sigstore.json --trusted-root trusted_root.json \
      --identity release@vendor.example --issuer https://accounts.vendor.example`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := fl.options(args[0])
			if err != nil {
				return err
			}
			o.Logger = e.log
			r, err := verify.Run(cmd.Context(), o)
			if err != nil {
				var ue *UsageError
				if errors.As(err, &ue) {
					return err
				}
				return fmt.Errorf("verify %s: %w", args[0], err)
			}
			if err := writeOutput(e, fl.output, func(w io.Writer) error {
				if fl.format == "json" {
					return verify.WriteJSON(w, r)
				}
				return verify.WriteText(w, r)
			}); err != nil {
				return err
			}
			if !r.Verified {
				s := r.Summary
				fmt.Fprintf(e.stderr, "netvet: %s: %s (%d mismatch, %d missing, %d unverified, %d signatures not valid)\n",
					args[0], r.Verdict, s.Mismatch, s.MissingInImage, s.Unverified, s.SignaturesFailed)
				return errReported{ErrFindings}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.manifest, "manifest", "", "checksum manifest (sha256sum, sha512sum or BSD form; may be cleartext-signed)")
	f.StringVar(&fl.provenance, "provenance", "", "in-toto statement, DSSE envelope, or JSON Lines of them")
	f.StringVar(&fl.sig, "sig", "", "detached OpenPGP signature (armored or binary)")
	f.StringVar(&fl.cms, "cms", "", "CMS/PKCS #7 signature (DER or PEM)")
	f.StringVar(&fl.bundle, "bundle", "", "Sigstore bundle (JSON, v0.1 to v0.3)")
	f.StringArrayVar(&fl.keys, "key", nil, "public key file: OpenPGP key ring, or PEM/DER public key or certificate (repeatable)")
	f.StringArrayVar(&fl.cas, "ca", nil, "trust anchor certificates for --cms, PEM or DER (repeatable)")
	f.StringVar(&fl.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json for certificate-signed bundles")
	f.StringVar(&fl.identity, "identity", "", "Sigstore: the signer certificate's subject alternative name (email, URI)")
	f.StringVar(&fl.identityRE, "identity-regexp", "", "Sigstore: a regular expression the subject alternative name must match")
	f.StringVar(&fl.issuer, "issuer", "", "Sigstore: the OIDC issuer in the signer certificate")
	f.StringVar(&fl.issuerRE, "issuer-regexp", "", "Sigstore: a regular expression the OIDC issuer must match")
	f.StringVar(&fl.signed, "signed", "", "what --sig and --cms cover: manifest, provenance or image (default: the manifest if given, else the image)")
	f.StringVar(&fl.at, "at", "", "judge certificate and key validity at this time (RFC 3339 or YYYY-MM-DD), or at the CMS signing time (signing-time); default now")
	f.StringVar(&fl.scope, "scope", verify.ScopeAuto, "compare entries with: auto, image (the image file only) or files (the files inside the unpacked image)")
	f.StringVar(&fl.unpacked, "unpacked", "", "an unpack folder of IMAGE (from netvet firmware unpack) to use instead of unpacking again")
	f.StringVarP(&fl.format, "format", "f", "text", "output: text or json")
	f.StringVarP(&fl.output, "output", "o", "", "write the report to this file instead of stdout")
	return cmd
}

// options checks the flags and turns them into verify options.
func (fl *verifyFlags) options(image string) (verify.Options, error) {
	o := verify.Options{
		Image: image, Manifest: fl.manifest, Provenance: fl.provenance, PGPSig: fl.sig, CMSSig: fl.cms, Bundle: fl.bundle,
		Keys: fl.keys, CAs: fl.cas, Signed: fl.signed, Scope: fl.scope, Unpacked: fl.unpacked,
		Registry: all.Registry(), Version: version.Get().Version,
		Sigstore: verify.SigstoreOptions{Identity: fl.identity, IdentityRegexp: fl.identityRE, Issuer: fl.issuer, IssuerRegexp: fl.issuerRE},
	}
	if fl.format != "text" && fl.format != "json" {
		return o, &UsageError{fmt.Errorf("-f %q: use text or json", fl.format)}
	}
	if fl.manifest == "" && fl.provenance == "" && fl.sig == "" && fl.cms == "" && fl.bundle == "" {
		return o, &UsageError{errors.New("verify: give at least one of --manifest, --provenance, --sig, --cms, --bundle")}
	}
	switch fl.scope {
	case verify.ScopeAuto, verify.ScopeImage, verify.ScopeFiles:
	default:
		return o, &UsageError{fmt.Errorf("--scope %q: use auto, image or files", fl.scope)}
	}
	switch fl.signed {
	case "", verify.SourceManifest, verify.SourceProvenance, verify.SourceImage:
	default:
		return o, &UsageError{fmt.Errorf("--signed %q: use manifest, provenance or image", fl.signed)}
	}
	if fl.signed != "" && fl.sig == "" && fl.cms == "" {
		return o, &UsageError{errors.New("--signed says what --sig or --cms covers: give one of them")}
	}
	if fl.signed == verify.SourceManifest && fl.manifest == "" {
		return o, &UsageError{errors.New("--signed manifest: give the --manifest")}
	}
	if fl.signed == verify.SourceProvenance && fl.provenance == "" {
		return o, &UsageError{errors.New("--signed provenance: give the --provenance")}
	}
	if len(fl.cas) > 0 && fl.cms == "" {
		return o, &UsageError{errors.New("--ca is for --cms signatures")}
	}
	if fl.trustedRoot != "" && fl.bundle == "" {
		return o, &UsageError{errors.New("--trusted-root is for --bundle")}
	}
	idGiven := fl.identity != "" || fl.identityRE != ""
	issGiven := fl.issuer != "" || fl.issuerRE != ""
	if idGiven != issGiven {
		return o, &UsageError{errors.New("give the signer's identity (--identity or --identity-regexp) and its issuer (--issuer or --issuer-regexp) together")}
	}
	if (idGiven || issGiven) && fl.bundle == "" {
		return o, &UsageError{errors.New("--identity and --issuer are for --bundle")}
	}
	o.TrustedRootFile = fl.trustedRoot
	switch at := strings.TrimSpace(fl.at); {
	case at == "":
	case at == "signing-time":
		if fl.cms == "" {
			return o, &UsageError{errors.New("--at signing-time is for --cms signatures")}
		}
		o.AtSigningTime = true
	default:
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t, err = time.Parse(time.DateOnly, at)
		}
		if err != nil {
			return o, &UsageError{fmt.Errorf("--at %q: want RFC 3339 (2025-01-02T15:04:05Z), YYYY-MM-DD or signing-time", fl.at)}
		}
		o.At = t.UTC()
	}
	return o, nil
}
