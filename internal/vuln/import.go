package vuln

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/OneOfOne/xxhash"
	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/klauspost/compress/zstd"
	"github.com/spf13/afero"
	"github.com/ulikunitz/xz"

	"github.com/netvet/netvet/internal/firmware"
)

// ImportLimits bound what an archive may make Import write. Archives are
// treated as hostile: a wrong file carried over on a USB stick must not
// fill the disk.
type ImportLimits struct {
	MaxDBSize    int64 // vulnerability.db, uncompressed
	MaxTotal     int64 // all entries of the archive, uncompressed
	MaxEntries   int   // entries of the archive
	MaxZstdWin   uint64
	MaxMetaBytes int64 // import.json
}

// DefaultImportLimits fit the published database (about 1 GiB unpacked in
// 2025, growing) with room to spare.
func DefaultImportLimits() ImportLimits {
	return ImportLimits{
		MaxDBSize:    16 << 30,
		MaxTotal:     20 << 30,
		MaxEntries:   64,
		MaxZstdWin:   1 << 30,
		MaxMetaBytes: maxImportMetadata,
	}
}

// ImportOptions tune Import.
type ImportOptions struct {
	Limits ImportLimits
	// SHA256, when set, is the expected hex SHA-256 of the archive file
	// (the "checksum" of grype's latest.json, with or without "sha256:").
	SHA256 string
}

// Import installs the grype v6 database in archive into dbDir, replacing
// any database there. archive is a database archive as published by
// Anchore (tar.zst, tar.gz or tar.xz holding vulnerability.db and
// import.json) or a plain vulnerability.db. Entries are extracted only by
// name, never by path; traversal, links, devices and oversized entries are
// refused. When import.json carries a digest, the database must match it.
// The new database is checked, indexed, and then swapped in at once: a
// failed import leaves the old one untouched.
func Import(ctx context.Context, archive, dbDir string) (firmware.Database, error) {
	return ImportWith(ctx, archive, dbDir, ImportOptions{Limits: DefaultImportLimits()})
}

// ImportWith is Import with options.
func ImportWith(ctx context.Context, archive, dbDir string, opts ImportOptions) (firmware.Database, error) {
	if opts.Limits == (ImportLimits{}) {
		opts.Limits = DefaultImportLimits()
	}
	if err := checkDirName(dbDir); err != nil {
		return firmware.Database{}, err
	}
	dir := filepath.Clean(dbDir)
	if err := checkReplaceable(dir); err != nil {
		return firmware.Database{}, err
	}
	if opts.SHA256 != "" {
		if err := checkSHA256(ctx, archive, opts.SHA256); err != nil {
			return firmware.Database{}, err
		}
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return firmware.Database{}, fmt.Errorf("vuln: create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, ".netvet-db-import-")
	if err != nil {
		return firmware.Database{}, fmt.Errorf("vuln: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()

	if _, err := extract(ctx, archive, tmp, opts.Limits); err != nil {
		return firmware.Database{}, err
	}
	// Check it is a v6 database before indexing it.
	if err := checkSQLiteFile(filepath.Join(tmp, DBFileName)); err != nil {
		return firmware.Database{}, fmt.Errorf("vuln: %s: %w", archive, err)
	}
	if err := probe(tmp); err != nil {
		return firmware.Database{}, fmt.Errorf("vuln: %s: %w", archive, err)
	}
	// Hydrate: build the indexes the published file leaves out.
	if err := v6.Hydrater()(tmp); err != nil {
		return firmware.Database{}, fmt.Errorf("vuln: %s: index the database: %w", archive, err)
	}
	if err := ctx.Err(); err != nil {
		return firmware.Database{}, err
	}
	if _, err := v6.WriteImportMetadata(afero.NewOsFs(), tmp, "netvet db import "+filepath.Base(archive)); err != nil {
		return firmware.Database{}, fmt.Errorf("vuln: record the database digest: %w", err)
	}
	if err := swapIn(tmp, dir); err != nil {
		return firmware.Database{}, err
	}
	keep = true // tmp is now dir (or removed by swapIn)
	db, err := Open(dir)
	if err != nil {
		return firmware.Database{}, err
	}
	defer db.Close()
	return db.Info(), nil
}

// probe opens the extracted file as a v6 database and closes it.
func probe(dir string) error {
	rdr, err := v6.NewReader(v6.Config{DBDirPath: dir})
	if err != nil {
		return fmt.Errorf("not a grype v%d vulnerability database: %w", SupportedModel, err)
	}
	defer rdr.Close()
	meta, err := rdr.GetDBMetadata()
	if err != nil || meta == nil {
		return fmt.Errorf("not a grype v%d vulnerability database: no metadata", SupportedModel)
	}
	if meta.Model != SupportedModel {
		return fmt.Errorf("database schema v%d.%d.%d, netvet reads v%d", meta.Model, meta.Revision, meta.Addition, SupportedModel)
	}
	return nil
}

// knownFiles are the files a database folder may hold. Import replaces a
// folder only if it holds nothing else, so that --db pointed at the wrong
// folder cannot delete anyone's files.
var knownFiles = map[string]bool{
	DBFileName:              true,
	ImportMetadataFileName:  true,
	"last_update_check":     true, // grype's
	DBFileName + "-journal": true,
	DBFileName + "-wal":     true,
	DBFileName + "-shm":     true,
}

func checkReplaceable(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vuln: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("vuln: %s exists and is not a folder", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("vuln: %w", err)
	}
	for _, e := range ents {
		if !knownFiles[e.Name()] {
			return fmt.Errorf("vuln: %s holds %q, which is not part of a vulnerability database; choose an empty or new folder for --db", dir, e.Name())
		}
	}
	return nil
}

func checkSHA256(ctx context.Context, file, want string) error {
	want = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(want), "sha256:"))
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("vuln: expected SHA-256 %q is not 64 hex digits", want)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("vuln: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := copyCtx(ctx, h, f); err != nil {
		return fmt.Errorf("vuln: hash %s: %w", file, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("vuln: %s: SHA-256 %s, expected %s: the file is not the archive the listing names (or it is damaged)", file, got, want)
	}
	return nil
}

var (
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicGzip = []byte{0x1f, 0x8b}
	magicXz   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// extract writes vulnerability.db (and checks import.json's digest against
// it) into dst. It returns the verified digest, or "" when the archive
// carried none.
func extract(ctx context.Context, archive, dst string, lim ImportLimits) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", fmt.Errorf("vuln: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("vuln: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("vuln: %s is not a regular file", archive)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(512)
	var r io.Reader
	switch {
	case bytes.HasPrefix(head, sqliteMagic):
		h := xxhash.New64()
		if err := writeEntry(ctx, br, filepath.Join(dst, DBFileName), lim.MaxDBSize, h); err != nil {
			return "", fmt.Errorf("vuln: %s: %w", archive, err)
		}
		// A database copied out of a grype installation has its
		// import.json beside it: check against it when it is there.
		b, err := os.ReadFile(filepath.Join(filepath.Dir(archive), ImportMetadataFileName))
		if err != nil {
			return "", nil
		}
		if int64(len(b)) > lim.MaxMetaBytes {
			return "", fmt.Errorf("vuln: %s beside %s is larger than %d bytes", ImportMetadataFileName, archive, lim.MaxMetaBytes)
		}
		im, err := parseImportMetadata(b)
		if err != nil {
			return "", fmt.Errorf("vuln: beside %s: %w", archive, err)
		}
		if got := digestString(h); got != im.Digest {
			return "", fmt.Errorf("vuln: %s: digest %s does not match the %s recorded in the %s beside it: the file changed since it was recorded",
				archive, got, im.Digest, ImportMetadataFileName)
		}
		return im.Digest, nil
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(lim.MaxZstdWin), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(lim.MaxZstdWin), zstd.WithDecoderLowmem(true))
		if err != nil {
			return "", fmt.Errorf("vuln: %s: zstd: %w", archive, err)
		}
		defer zr.Close()
		r = zr
	case bytes.HasPrefix(head, magicGzip):
		gr, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("vuln: %s: gzip: %w", archive, err)
		}
		defer gr.Close()
		r = gr
	case bytes.HasPrefix(head, magicXz):
		xr, err := xz.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("vuln: %s: xz: %w", archive, err)
		}
		r = xr
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		r = br
	default:
		return "", fmt.Errorf("vuln: %s: not a database archive (tar.zst, tar.gz, tar.xz, tar) nor a %s file", archive, DBFileName)
	}
	return extractTar(ctx, archive, r, dst, lim)
}

func extractTar(ctx context.Context, archive string, r io.Reader, dst string, lim ImportLimits) (string, error) {
	// Count every byte coming out of the decompressor, skipped entries too.
	cr := &limitedReader{r: r, left: lim.MaxTotal}
	tr := tar.NewReader(cr)
	var meta []byte
	var dbDigest string
	haveDB := false
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if n >= lim.MaxEntries {
			return "", fmt.Errorf("vuln: %s: more than %d entries: not a database archive", archive, lim.MaxEntries)
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errTooMuch) {
				return "", fmt.Errorf("vuln: %s: archive expands beyond %d bytes", archive, lim.MaxTotal)
			}
			return "", fmt.Errorf("vuln: %s: entry %d: %w", archive, n+1, err)
		}
		name, err := entryName(h.Name)
		if err != nil {
			return "", fmt.Errorf("vuln: %s: entry %q: %w", archive, h.Name, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			if name == DBFileName || name == ImportMetadataFileName {
				return "", fmt.Errorf("vuln: %s: entry %q is a link or special file, not a regular file", archive, h.Name)
			}
			continue // anything else is ignored
		}
		if h.Size < 0 {
			return "", fmt.Errorf("vuln: %s: entry %q has a negative size", archive, h.Name)
		}
		if h.Size > lim.MaxTotal {
			return "", fmt.Errorf("vuln: %s: entry %q claims %d bytes, beyond the %d-byte limit", archive, h.Name, h.Size, lim.MaxTotal)
		}
		switch name {
		case DBFileName:
			if haveDB {
				return "", fmt.Errorf("vuln: %s: two %s entries", archive, DBFileName)
			}
			if h.Size > lim.MaxDBSize {
				return "", fmt.Errorf("vuln: %s: %s is %d bytes, beyond the %d-byte limit", archive, DBFileName, h.Size, lim.MaxDBSize)
			}
			hx := xxhash.New64()
			if err := writeEntry(ctx, tr, filepath.Join(dst, DBFileName), lim.MaxDBSize, hx); err != nil {
				if errors.Is(err, errTooMuch) {
					return "", fmt.Errorf("vuln: %s: archive expands beyond %d bytes", archive, lim.MaxTotal)
				}
				return "", fmt.Errorf("vuln: %s: %s: %w", archive, DBFileName, err)
			}
			dbDigest = digestString(hx)
			haveDB = true
		case ImportMetadataFileName:
			if h.Size > lim.MaxMetaBytes {
				return "", fmt.Errorf("vuln: %s: %s is %d bytes, beyond the %d-byte limit", archive, ImportMetadataFileName, h.Size, lim.MaxMetaBytes)
			}
			b, err := io.ReadAll(io.LimitReader(tr, lim.MaxMetaBytes+1))
			if err != nil {
				return "", fmt.Errorf("vuln: %s: %s: %w", archive, ImportMetadataFileName, err)
			}
			meta = b
		default:
			// Other files (a listing, checksums) are read past, within MaxTotal.
		}
	}
	if !haveDB {
		return "", fmt.Errorf("vuln: %s: no %s in the archive", archive, DBFileName)
	}
	if meta == nil {
		return "", nil
	}
	im, err := parseImportMetadata(meta)
	if err != nil {
		return "", fmt.Errorf("vuln: %s: %w", archive, err)
	}
	if im.Digest != dbDigest {
		return "", fmt.Errorf("vuln: %s: %s digest %s does not match the %s recorded in %s: the archive is damaged or was altered",
			archive, DBFileName, dbDigest, im.Digest, ImportMetadataFileName)
	}
	return dbDigest, nil
}

// entryName returns the base name of an archive entry at the top of the
// archive ("vulnerability.db" or "./vulnerability.db"); entries that climb
// out or are absolute are refused, deeper ones are returned as they are
// and so match no name Import wants.
func entryName(n string) (string, error) {
	if n == "" {
		return "", errors.New("empty name")
	}
	if strings.ContainsRune(n, 0) {
		return "", errors.New("NUL in name")
	}
	s := strings.ReplaceAll(n, `\`, "/")
	if path.IsAbs(s) || (len(s) >= 2 && s[1] == ':') {
		return "", errors.New("absolute path")
	}
	for _, el := range strings.Split(s, "/") {
		if el == ".." {
			return "", errors.New("path climbs out of the archive")
		}
	}
	return path.Clean(s), nil
}

var errTooMuch = errors.New("size limit reached")

// writeEntry copies r into a new file at name, at most max bytes, feeding
// h on the way. The file is created exclusively: nothing existing is
// followed or overwritten.
func writeEntry(ctx context.Context, r io.Reader, name string, max int64, h hash.Hash) error {
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	lr := &limitedReader{r: r, left: max}
	_, err = copyCtx(ctx, io.MultiWriter(out, h), lr)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errTooMuch) {
		return fmt.Errorf("larger than %d bytes: %w", max, errTooMuch)
	}
	return err
}

// limitedReader fails, rather than stops, once more than left bytes pass.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooMuch
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errTooMuch
	}
	return n, err
}
