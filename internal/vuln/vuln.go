// Package vuln matches firmware components against known vulnerabilities,
// offline, with grype's v6 SQLite database used as a library.
//
// The database is imported once from an archive carried over from a
// connected machine (Import), then opened read-only for every scan (Open).
// Nothing here touches the network and the database's age is never
// checked: an air-gapped lab decides itself how fresh its data must be,
// and the report records when the database was built.
//
// Matching follows the component's ecosystem: binaries identified by
// version strings and opkg packages are matched by CPE against NVD version
// ranges (opkg release suffixes removed first); deb, apk and rpm packages
// whose distribution is known are matched against that distribution's
// security feed; language packages go to grype's ecosystem matchers.
package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/vulnerability"

	"github.com/netvet/netvet/internal/firmware"
)

// ErrNoDatabase reports that the database folder holds no vulnerability
// database. Callers skip matching and tell the user how to import one.
var ErrNoDatabase = errors.New("no vulnerability database")

// ErrPartial is wrapped by Match's error when some components could not be
// matched; the vulnerabilities of the others are still returned.
var ErrPartial = errors.New("vulnerability matching incomplete")

const (
	// DBFileName is the SQLite file inside a database folder.
	DBFileName = v6.VulnerabilityDBFileName
	// ImportMetadataFileName records the database's digest and origin.
	ImportMetadataFileName = v6.ImportMetadataFileName
	// SupportedModel is the grype database model netvet reads.
	SupportedModel = v6.ModelVersion
)

var sqliteMagic = []byte("SQLite format 3\x00")

// DB is an open, read-only vulnerability database. It is safe for
// concurrent use; matches are made one call at a time.
type DB struct {
	dir      string
	reader   v6.Reader
	provider vulnerability.Provider
	info     firmware.Database
	imported importMetadata
	mu       sync.Mutex // serialises Match and Close
	closed   bool
}

// importMetadata is grype's import.json: the database digest and origin.
type importMetadata struct {
	Digest        string `json:"digest"`
	Source        string `json:"source,omitempty"`
	ClientVersion string `json:"client_version"`
}

// DefaultDir is where the database lives unless the user says otherwise:
// $NETVET_DB_DIR, else $XDG_CACHE_HOME/netvet/db (the user cache folder of
// the platform), else .netvet/db in the working folder.
func DefaultDir() string {
	if d := os.Getenv("NETVET_DB_DIR"); d != "" {
		return d
	}
	if c, err := os.UserCacheDir(); err == nil && c != "" {
		return filepath.Join(c, "netvet", "db")
	}
	return filepath.Join(".netvet", "db")
}

// checkDirName refuses folder names that SQLite's URI syntax would
// misread: grype opens the file as "file:PATH?immutable=1...".
func checkDirName(dir string) error {
	if dir == "" {
		return errors.New("vuln: empty database folder name")
	}
	if strings.ContainsAny(dir, "?#%") {
		return fmt.Errorf("vuln: database folder %q: names with '?', '#' or '%%' are not supported (SQLite would misread them)", dir)
	}
	return nil
}

// Open opens the database in dbDir read-only. A folder without a database
// gives an error wrapping ErrNoDatabase; a file that is not a grype v6
// database gives an error that says so.
func Open(dbDir string) (*DB, error) {
	if err := checkDirName(dbDir); err != nil {
		return nil, err
	}
	dir := filepath.Clean(dbDir)
	file := filepath.Join(dir, DBFileName)
	if err := checkSQLiteFile(file); err != nil {
		return nil, err
	}
	rdr, err := v6.NewReader(v6.Config{DBDirPath: dir})
	if err != nil {
		return nil, fmt.Errorf("vuln: %s: not a grype v%d vulnerability database (%v); import a current archive with `netvet db import FILE`", file, SupportedModel, err)
	}
	meta, err := rdr.GetDBMetadata()
	if err != nil || meta == nil {
		rdr.Close()
		if err == nil {
			err = errors.New("no metadata")
		}
		return nil, fmt.Errorf("vuln: %s: read database metadata: %w", file, err)
	}
	if meta.Model != SupportedModel {
		rdr.Close()
		return nil, fmt.Errorf("vuln: %s: database schema v%d.%d.%d, netvet reads v%d; import a v%d archive with `netvet db import FILE`",
			file, meta.Model, meta.Revision, meta.Addition, SupportedModel, SupportedModel)
	}
	db := &DB{dir: dir, reader: rdr, provider: v6.NewVulnerabilityProvider(rdr)}
	db.info = firmware.Database{
		Path:          dir,
		SchemaVersion: fmt.Sprintf("v%d.%d.%d", meta.Model, meta.Revision, meta.Addition),
	}
	if meta.BuildTimestamp != nil {
		db.info.Built = meta.BuildTimestamp.UTC().Format(time.RFC3339)
	}
	if im, err := readImportMetadata(dir); err == nil {
		db.imported = im
		db.info.Checksum = im.Digest
	}
	return db, nil
}

// checkSQLiteFile tells a missing database from a file that is not one,
// before SQLite gets to see it.
func checkSQLiteFile(file string) error {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("vuln: %w at %s", ErrNoDatabase, filepath.Dir(file))
		}
		return fmt.Errorf("vuln: open database: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("vuln: %s: %w", file, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("vuln: %s: not a regular file", file)
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteMagic) {
		return fmt.Errorf("vuln: %s: not an SQLite database (a grype v%d database is a file named %s)", file, SupportedModel, DBFileName)
	}
	return nil
}

// maxImportMetadata caps import.json: it holds three short strings.
const maxImportMetadata = 64 << 10

func readImportMetadata(dir string) (importMetadata, error) {
	var im importMetadata
	f, err := os.Open(filepath.Join(dir, ImportMetadataFileName))
	if err != nil {
		return im, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImportMetadata+1))
	if err != nil {
		return im, err
	}
	if len(b) > maxImportMetadata {
		return im, fmt.Errorf("%s larger than %d bytes", ImportMetadataFileName, maxImportMetadata)
	}
	return parseImportMetadata(b)
}

func parseImportMetadata(b []byte) (importMetadata, error) {
	var im importMetadata
	if err := json.Unmarshal(b, &im); err != nil {
		return im, fmt.Errorf("%s: %w", ImportMetadataFileName, err)
	}
	if !strings.HasPrefix(im.Digest, "xxh64:") || len(im.Digest) != len("xxh64:")+16 {
		return im, fmt.Errorf("%s: digest %q is not xxh64:<16 hex digits>", ImportMetadataFileName, im.Digest)
	}
	return im, nil
}

// Info describes the open database for the scan report.
func (db *DB) Info() firmware.Database { return db.info }

// Close releases the database.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	return db.reader.Close()
}
