package vuln

import (
	"context"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/OneOfOne/xxhash"

	"github.com/netvet/netvet/internal/firmware"
)

// Provider is one data source inside the database (nvd, debian, alpine,
// kev, epss, ...) and when its data was captured.
type Provider struct {
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Captured string `json:"captured,omitempty"` // RFC 3339 UTC
}

// Status is what `netvet db status` reports.
type Status struct {
	firmware.Database
	File      string     `json:"file"`
	Size      int64      `json:"size"`
	Source    string     `json:"source,omitempty"` // where it was imported from
	Providers []Provider `json:"providers"`
	// ChecksumOK is true when the file's xxh64 digest equals the one
	// recorded at import; ChecksumError says why not.
	ChecksumOK    bool   `json:"checksum_ok"`
	ChecksumError string `json:"checksum_error,omitempty"`
}

// Status describes the database and verifies its file against the digest
// recorded at import (reading the whole file once).
func (db *DB) Status(ctx context.Context) (Status, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return Status{}, fmt.Errorf("vuln: database %s is closed", db.dir)
	}
	file := filepath.Join(db.dir, DBFileName)
	st := Status{Database: db.info, File: file, Source: db.imported.Source, Providers: []Provider{}}
	fi, err := os.Stat(file)
	if err != nil {
		return st, fmt.Errorf("vuln: %w", err)
	}
	st.Size = fi.Size()
	ps, err := db.reader.AllProviders()
	if err != nil {
		return st, fmt.Errorf("vuln: %s: list providers: %w", file, err)
	}
	for _, p := range ps {
		pr := Provider{Name: p.ID, Version: p.Version}
		if p.DateCaptured != nil {
			pr.Captured = p.DateCaptured.UTC().Format(time.RFC3339)
		}
		st.Providers = append(st.Providers, pr)
	}
	sort.Slice(st.Providers, func(i, j int) bool { return st.Providers[i].Name < st.Providers[j].Name })
	switch {
	case db.imported.Digest == "":
		st.ChecksumError = fmt.Sprintf("no %s beside the database: nothing to verify against", ImportMetadataFileName)
	default:
		got, err := fileDigest(ctx, file)
		switch {
		case err != nil:
			st.ChecksumError = err.Error()
		case got != db.imported.Digest:
			st.ChecksumError = fmt.Sprintf("file digest %s differs from %s recorded at import: the file changed since", got, db.imported.Digest)
		default:
			st.ChecksumOK = true
		}
	}
	return st, nil
}

// fileDigest is grype's database digest: "xxh64:" and 16 hex digits.
func fileDigest(ctx context.Context, file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := xxhash.New64()
	if _, err := copyCtx(ctx, h, f); err != nil {
		return "", fmt.Errorf("digest %s: %w", file, err)
	}
	return digestString(h), nil
}

func digestString(h hash.Hash64) string {
	return fmt.Sprintf("xxh64:%016x", h.Sum64())
}

// copyCtx copies src to dst, checking ctx between 1 MiB chunks.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		r, rerr := src.Read(buf)
		if r > 0 {
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
			if w != r {
				return n, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
