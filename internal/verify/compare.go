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
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/unpack"
)

// compare checks every claim against the image or the files inside it.
func (r *Report) compare(ctx context.Context, o Options, image *target, claims []claim) error {
	namesImage := func(c claim) bool {
		if c.bad != "" {
			return false
		}
		return c.digest == image.digests[c.alg] || baseName(c.name) == image.name
	}
	imageMode := map[string]bool{}
	for _, c := range claims {
		if namesImage(c) {
			imageMode[c.source] = true
		}
	}
	var fileClaims []claim
	for _, c := range claims {
		res := Result{Source: c.source, Name: c.name, Line: c.line, Algorithm: c.alg, Expected: c.digest}
		switch {
		case c.bad != "":
			res.Status, res.Detail = Unverified, c.bad
		case namesImage(c):
			res.Actual = image.digests[c.alg]
			res.Path = image.name
			if res.Actual == c.digest {
				res.Status = Match
				if baseName(c.name) != image.name {
					res.Detail = "the image, listed under another name"
				}
			} else {
				res.Status, res.Detail = Mismatch, "the image's digest differs"
			}
		case o.Scope == ScopeImage || (o.Scope == ScopeAuto && imageMode[c.source]):
			res.Status, res.Detail = Other, "another file than this image: not checked"
		default:
			fileClaims = append(fileClaims, c)
			continue
		}
		r.Entries = append(r.Entries, res)
	}
	if len(fileClaims) == 0 {
		return nil
	}
	tree, cleanup, err := openTree(ctx, o, image, r)
	if err != nil {
		return err
	}
	defer cleanup()
	return r.compareFiles(ctx, tree, image, fileClaims)
}

// compareFiles checks claims about files inside the image, then lists the
// files of the same filesystems that no claim names.
func (r *Report) compareFiles(ctx context.Context, tree *firmware.Tree, image *target, claims []claim) error {
	claimed := map[*firmware.File]bool{}
	touched := map[*firmware.Root]bool{}
	for i, c := range claims {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		res := Result{Source: c.source, Name: c.name, Line: c.line, Algorithm: c.alg, Expected: c.digest}
		cands := resolve(tree, image.name, c.name)
		if len(cands) == 0 {
			res.Status, res.Detail = MissingInImage, "no such file in the unpacked image"
			r.Entries = append(r.Entries, res)
			continue
		}
		var chosen *firmware.File
		var actual, why string
		for _, f := range cands {
			d, reason := fileDigest(tree, f, c.alg)
			if chosen == nil {
				chosen, actual, why = f, d, reason
			}
			if d != "" && d == c.digest {
				chosen, actual, why = f, d, ""
				break
			}
		}
		res.Path, res.FSPath, res.Actual = chosen.Path, chosen.FSPath, actual
		claimed[chosen] = true
		if chosen.Root != nil {
			touched[chosen.Root] = true
		}
		switch {
		case why != "":
			res.Status, res.Detail = Unverified, why
		case actual == c.digest:
			res.Status = Match
		default:
			res.Status, res.Detail = Mismatch, "the file's content differs"
		}
		r.Entries = append(r.Entries, res)
	}
	for _, root := range tree.Roots {
		if !touched[root] {
			continue
		}
		for _, f := range root.Files() {
			if f.Type != firmware.TypeFile || claimed[f] {
				continue
			}
			r.Entries = append(r.Entries, Result{
				Source: SourceImage, Name: f.FSPath, Algorithm: SHA256, Actual: f.SHA256,
				Status: NotInManifest, Path: f.Path, FSPath: f.FSPath,
			})
		}
	}
	return nil
}

// resolve finds the files a manifest name may mean: the path inside any
// filesystem of the image, with leading folders dropped one at a time
// ("rootfs/bin/sh", "squashfs-root/bin/sh" mean /bin/sh), following
// symbolic links inside the filesystem; or a path of the unpack manifest.
func resolve(tree *firmware.Tree, imageName, name string) []*firmware.File {
	clean := strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(name, `\`, "/")), "/")
	if clean == "" || clean == "." {
		return nil
	}
	parts := strings.Split(clean, "/")
	for k := 0; k < len(parts) && k < 8; k++ {
		p := "/" + strings.Join(parts[k:], "/")
		var out []*firmware.File
		for _, root := range tree.Roots {
			if f := root.Lookup(p); f != nil {
				out = append(out, f)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	for _, p := range []string{clean, imageName + "/" + clean} {
		if f := tree.File(p); f != nil {
			return []*firmware.File{f}
		}
	}
	return nil
}

// fileDigest returns a file's digest in alg, or why it has none.
func fileDigest(tree *firmware.Tree, f *firmware.File, alg string) (string, string) {
	if f.Type != firmware.TypeFile {
		return "", "not a regular file (" + f.Type.String() + ")"
	}
	if alg == SHA256 && f.SHA256 != "" {
		return f.SHA256, ""
	}
	fh, err := tree.Open(f)
	if err != nil {
		if errors.Is(err, firmware.ErrNoContent) {
			return "", "the file's content was not extracted"
		}
		return "", "cannot read the file: " + err.Error()
	}
	defer fh.Close()
	var h hash.Hash
	switch alg {
	case SHA256:
		h = sha256.New()
	case SHA384:
		h = sha512.New384()
	default:
		h = sha512.New()
	}
	if _, err := io.Copy(h, fh); err != nil {
		return "", "cannot read the file: " + err.Error()
	}
	return hex.EncodeToString(h.Sum(nil)), ""
}

func baseName(name string) string {
	return path.Base(strings.ReplaceAll(name, `\`, "/"))
}

// openTree gives the unpacked image: the folder the user named, or a new
// unpack in a temporary folder removed by cleanup.
func openTree(ctx context.Context, o Options, image *target, r *Report) (*firmware.Tree, func(), error) {
	if o.Registry == nil {
		return nil, nil, errors.New("verify: no format registry to unpack the image with")
	}
	if o.Unpacked != "" {
		f, err := os.Open(filepath.Join(o.Unpacked, unpack.ManifestName))
		if err != nil {
			return nil, nil, fmt.Errorf("--unpacked %s: %w", o.Unpacked, err)
		}
		m, err := unpack.ReadManifest(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("--unpacked %s: %w", o.Unpacked, err)
		}
		if m.Image.SHA256 != image.digests[SHA256] {
			return nil, nil, fmt.Errorf("--unpacked %s was made from another image (sha256 %s, not %s)", o.Unpacked, m.Image.SHA256, image.digests[SHA256])
		}
		if !m.Complete {
			r.Problems = append(r.Problems, "the unpack in "+o.Unpacked+" is incomplete: files it missed show as missing-in-image")
		}
		t, err := m.Tree(o.Unpacked, o.Image, o.Registry)
		if err != nil {
			return nil, nil, err
		}
		return t, func() { t.Close() }, nil
	}
	tmp, err := os.MkdirTemp(o.TempDir, "netvet-verify-")
	if err != nil {
		return nil, nil, fmt.Errorf("temporary folder: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	out := filepath.Join(tmp, "unpacked")
	lim := o.Limits
	if lim == (unpack.Limits{}) {
		lim = unpack.DefaultLimits()
	}
	m, err := unpack.Unpack(ctx, o.Image, out, unpack.Options{
		Registry: o.Registry, Limits: lim, Workers: o.Workers, Logger: o.Logger, Version: o.Version,
	})
	if m == nil {
		cleanup()
		return nil, nil, fmt.Errorf("unpack %s: %w", o.Image, err)
	}
	if err != nil {
		if ctx.Err() != nil {
			cleanup()
			return nil, nil, ctx.Err()
		}
		r.Problems = append(r.Problems, "unpack incomplete, files it missed show as missing-in-image: "+firstLine(err.Error()))
	}
	t, err := m.Tree(out, o.Image, o.Registry)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return t, func() { t.Close(); cleanup() }, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
