// Package store is the only package that talks to SQLite. It opens a
// database file, brings its schema up to date, and holds the queries of
// the evaluated-versions ledger: evaluated images, their per-file content,
// and the evaluations recorded for them.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	// The pure-Go SQLite driver, registered as "sqlite". It is the one
	// grype's vulnerability database already links: modernc.org/sqlite
	// registers the same driver name, and two registrations of one name
	// panic at start-up, so netvet links a single driver.
	_ "github.com/glebarez/go-sqlite"
)

// DB is an open ledger database.
type DB struct {
	db   *sql.DB
	path string
}

// ErrNoDatabase is returned when a read-only open finds no file.
var ErrNoDatabase = errors.New("no ledger database")

// migrations bring the schema from version i to i+1; PRAGMA user_version
// records how many were applied.
var migrations = []string{
	`CREATE TABLE images (
		id             INTEGER PRIMARY KEY,
		sha256         TEXT NOT NULL UNIQUE,
		size           INTEGER NOT NULL,
		name           TEXT NOT NULL,
		content_digest TEXT NOT NULL,
		file_count     INTEGER NOT NULL,
		complete       INTEGER NOT NULL,
		added_at       TEXT NOT NULL
	);
	CREATE INDEX images_content ON images(content_digest);
	CREATE TABLE image_files (
		image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		key         TEXT NOT NULL,
		root        TEXT NOT NULL,
		fs_path     TEXT NOT NULL,
		kind        TEXT NOT NULL,
		sha256      TEXT NOT NULL,
		link        TEXT NOT NULL,
		mode        TEXT NOT NULL,
		path        TEXT NOT NULL,
		fingerprint TEXT NOT NULL,
		PRIMARY KEY (image_id, key)
	) WITHOUT ROWID;
	CREATE INDEX image_files_key ON image_files(key, fingerprint);
	CREATE TABLE evaluations (
		id       INTEGER PRIMARY KEY,
		image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		lab      TEXT NOT NULL,
		report   TEXT NOT NULL,
		date     TEXT NOT NULL,
		scheme   TEXT NOT NULL,
		vendor   TEXT NOT NULL,
		product  TEXT NOT NULL,
		version  TEXT NOT NULL,
		added_at TEXT NOT NULL,
		UNIQUE (image_id, lab, report)
	);
	CREATE INDEX evaluations_product ON evaluations(vendor, product, version);`,
}

func dsn(path string, readOnly bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(5000)")
	if readOnly {
		q.Set("mode", "ro")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String(), nil
}

// Open opens or creates the database at path (its folder is created with
// mode 0700) and migrates its schema.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return open(ctx, path, false)
}

// OpenReadOnly opens an existing database without changing it. A missing
// file gives ErrNoDatabase.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s (record one with netvet ledger add)", ErrNoDatabase, path)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("ledger %s: not a regular file", path)
	}
	return open(ctx, path, true)
}

func open(ctx context.Context, path string, readOnly bool) (*DB, error) {
	d, err := dsn(path, readOnly)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", d)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	s := &DB{db: db, path: path}
	if err := s.migrate(ctx, readOnly); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Path is the database file.
func (s *DB) Path() string { return s.path }

func (s *DB) migrate(ctx context.Context, readOnly bool) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("not a SQLite database, or unreadable: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this netvet knows (%d): upgrade netvet", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	if readOnly {
		if v == 0 {
			var n int
			if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err == nil && n > 0 {
				return errors.New("not a netvet ledger (unknown tables)")
			}
		}
		return fmt.Errorf("schema version %d is older than %d: run netvet ledger add once to upgrade it", v, len(migrations))
	}
	if v == 0 {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errors.New("not a netvet ledger (a SQLite database with other tables)")
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate to schema %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// Image is an evaluated firmware image.
type Image struct {
	ID     int64  `json:"-"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Name   string `json:"name"`
	// ContentDigest is the SHA-256 of the image's canonical file list:
	// two images with the same digest hold the same files.
	ContentDigest string `json:"content_digest"`
	FileCount     int    `json:"files"`
	// Complete is false when the unpack hit a limit or missed content.
	Complete bool   `json:"complete"`
	AddedAt  string `json:"added_at"`
}

// File is one object of an image's unpacked content.
type File struct {
	// Key names the object for comparison: "<root>:<fs path>" inside a
	// filesystem, "blob:<sha256>#<n>" or "region:<sha256>#<n>" outside.
	Key    string `json:"key"`
	Root   string `json:"root,omitempty"`
	FSPath string `json:"fs_path,omitempty"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256,omitempty"`
	Link   string `json:"link,omitempty"`
	Mode   string `json:"mode,omitempty"`
	// Path is the manifest path of the object, for people; not compared.
	Path string `json:"path"`
	// Fingerprint is what is compared: kind, content or link, mode.
	Fingerprint string `json:"-"`
}

// Evaluation is one lab's evaluation of an image.
type Evaluation struct {
	ID      int64  `json:"-"`
	ImageID int64  `json:"-"`
	Lab     string `json:"lab"`
	Report  string `json:"report"`
	Date    string `json:"date"`
	Scheme  string `json:"scheme"`
	Vendor  string `json:"vendor,omitempty"`
	Product string `json:"product,omitempty"`
	Version string `json:"version,omitempty"`
	AddedAt string `json:"added_at"`
}

// ErrConflict is returned when an evaluation with the same image, lab and
// report is recorded with other details.
var ErrConflict = errors.New("already recorded with other details")

func now() string { return time.Now().UTC().Format(time.RFC3339) }

// AddImage records an image and its files, unless an image with the same
// SHA-256 is already recorded; it returns the image's ID either way.
func (s *DB) AddImage(ctx context.Context, img Image, files []File) (int64, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, "SELECT id FROM images WHERE sha256 = ?", img.SHA256).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO images (sha256, size, name, content_digest, file_count, complete, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, img.SHA256, img.Size, img.Name, img.ContentDigest, len(files), img.Complete, now())
	if err != nil {
		return 0, false, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, false, err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO image_files (image_id, key, root, fs_path, kind, sha256, link, mode, path, fingerprint)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, false, err
	}
	defer st.Close()
	for i, f := range files {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, false, err
			}
		}
		if _, err := st.ExecContext(ctx, id, f.Key, f.Root, f.FSPath, f.Kind, f.SHA256, f.Link, f.Mode, f.Path, f.Fingerprint); err != nil {
			return 0, false, fmt.Errorf("file %s: %w", f.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// AddEvaluation records an evaluation of an image. Recording the same
// evaluation twice is a no-op (created is false); the same image, lab and
// report with other details gives ErrConflict.
func (s *DB) AddEvaluation(ctx context.Context, ev Evaluation) (created bool, err error) {
	var old Evaluation
	err = s.db.QueryRowContext(ctx, `SELECT date, scheme, vendor, product, version FROM evaluations
		WHERE image_id = ? AND lab = ? AND report = ?`, ev.ImageID, ev.Lab, ev.Report).
		Scan(&old.Date, &old.Scheme, &old.Vendor, &old.Product, &old.Version)
	switch {
	case err == nil:
		if old.Date == ev.Date && old.Scheme == ev.Scheme && old.Vendor == ev.Vendor && old.Product == ev.Product && old.Version == ev.Version {
			return false, nil
		}
		return false, fmt.Errorf("lab %q report %q: %w (date %s, scheme %s, %s %s %s)", ev.Lab, ev.Report, ErrConflict,
			old.Date, old.Scheme, old.Vendor, old.Product, old.Version)
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO evaluations (image_id, lab, report, date, scheme, vendor, product, version, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.ImageID, ev.Lab, ev.Report, ev.Date, ev.Scheme, ev.Vendor, ev.Product, ev.Version, now())
	return err == nil, err
}

const imageCols = "i.id, i.sha256, i.size, i.name, i.content_digest, i.file_count, i.complete, i.added_at"

func scanImage(row interface{ Scan(...any) error }, extra ...any) (Image, error) {
	var img Image
	dest := append([]any{&img.ID, &img.SHA256, &img.Size, &img.Name, &img.ContentDigest, &img.FileCount, &img.Complete, &img.AddedAt}, extra...)
	err := row.Scan(dest...)
	return img, err
}

// ImageBySHA256 returns the image with that digest, or nil. With
// evaluatedOnly, an image without an evaluation counts as absent.
func (s *DB) ImageBySHA256(ctx context.Context, sha string, evaluatedOnly bool) (*Image, error) {
	q := "SELECT " + imageCols + " FROM images i WHERE i.sha256 = ?"
	if evaluatedOnly {
		q += " AND EXISTS (SELECT 1 FROM evaluations e WHERE e.image_id = i.id)"
	}
	img, err := scanImage(s.db.QueryRowContext(ctx, q, sha))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &img, nil
}

// ImagesByContent returns the evaluated images whose unpack was complete
// and whose content digest is digest, sorted by SHA-256.
func (s *DB) ImagesByContent(ctx context.Context, digest string) ([]Image, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+imageCols+` FROM images i
		WHERE i.content_digest = ? AND i.complete AND EXISTS (SELECT 1 FROM evaluations e WHERE e.image_id = i.id)
		ORDER BY i.sha256`, digest)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Image
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, rows.Err()
}

// Evaluations lists an image's evaluations by date, lab and report.
func (s *DB) Evaluations(ctx context.Context, imageID int64) ([]Evaluation, error) {
	return s.evaluations(ctx, "WHERE e.image_id = ?", imageID)
}

func (s *DB) evaluations(ctx context.Context, where string, args ...any) ([]Evaluation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.image_id, e.lab, e.report, e.date, e.scheme, e.vendor, e.product, e.version, e.added_at
		FROM evaluations e `+where+` ORDER BY e.date, e.lab, e.report, e.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Evaluation
	for rows.Next() {
		var e Evaluation
		if err := rows.Scan(&e.ID, &e.ImageID, &e.Lab, &e.Report, &e.Date, &e.Scheme, &e.Vendor, &e.Product, &e.Version, &e.AddedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Files lists an image's files sorted by key.
func (s *DB) Files(ctx context.Context, imageID int64) ([]File, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, root, fs_path, kind, sha256, link, mode, path, fingerprint
		FROM image_files WHERE image_id = ? ORDER BY key`, imageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.Key, &f.Root, &f.FSPath, &f.Kind, &f.SHA256, &f.Link, &f.Mode, &f.Path, &f.Fingerprint); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Candidate is an evaluated image compared with a probe's files.
type Candidate struct {
	Image Image
	// Common counts the keys both have; Shared those with the same
	// fingerprint too.
	Common, Shared int
	// Differing counts the files only one of the two has, plus those both
	// have with different content, link or mode.
	Differing int
}

// Closest returns up to limit evaluated images with the fewest files
// differing from files, fewest first, then by SHA-256.
func (s *DB) Closest(ctx context.Context, files []File, limit int) ([]Candidate, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS probe (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL) WITHOUT ROWID`); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.probe`)
	if _, err := conn.ExecContext(ctx, `DELETE FROM temp.probe`); err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO temp.probe (key, fingerprint) VALUES (?, ?)`)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	for i, f := range files {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				st.Close()
				tx.Rollback()
				return nil, err
			}
		}
		if _, err := st.ExecContext(ctx, f.Key, f.Fingerprint); err != nil {
			st.Close()
			tx.Rollback()
			return nil, err
		}
	}
	st.Close()
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	n := len(files)
	rows, err := conn.QueryContext(ctx, "SELECT "+imageCols+`, COALESCE(s.common, 0), COALESCE(s.shared, 0)
		FROM images i
		LEFT JOIN (SELECT f.image_id, count(*) AS common, sum(p.fingerprint = f.fingerprint) AS shared
			FROM image_files f JOIN temp.probe p ON p.key = f.key GROUP BY f.image_id) s ON s.image_id = i.id
		WHERE EXISTS (SELECT 1 FROM evaluations e WHERE e.image_id = i.id)
		ORDER BY i.file_count + ? - COALESCE(s.common, 0) - COALESCE(s.shared, 0), i.sha256
		LIMIT ?`, n, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		c.Image, err = scanImage(rows, &c.Common, &c.Shared)
		if err != nil {
			return nil, err
		}
		c.Differing = c.Image.FileCount + n - c.Common - c.Shared
		out = append(out, c)
	}
	return out, rows.Err()
}

// Listed is an evaluation with its image.
type Listed struct {
	Evaluation
	Image Image
}

// List returns every evaluation with its image, by vendor, product,
// version, date, lab and report.
func (s *DB) List(ctx context.Context) ([]Listed, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.lab, e.report, e.date, e.scheme, e.vendor, e.product, e.version, e.added_at, `+imageCols+`
		FROM evaluations e JOIN images i ON i.id = e.image_id
		ORDER BY e.vendor, e.product, e.version, e.date, e.lab, e.report, i.sha256`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Listed
	for rows.Next() {
		var l Listed
		if err := rows.Scan(&l.Lab, &l.Report, &l.Date, &l.Scheme, &l.Vendor, &l.Product, &l.Version, &l.AddedAt,
			&l.Image.ID, &l.Image.SHA256, &l.Image.Size, &l.Image.Name, &l.Image.ContentDigest, &l.Image.FileCount, &l.Image.Complete, &l.Image.AddedAt); err != nil {
			return nil, err
		}
		l.ImageID = l.Image.ID
		out = append(out, l)
	}
	return out, rows.Err()
}

// Product is a (vendor, product, version) some lab evaluated.
type Product struct {
	Vendor, Product, Version string
}

// EvaluatedProducts lists the distinct (vendor, product, version) of the
// evaluations that name a vendor and a version.
func (s *DB) EvaluatedProducts(ctx context.Context) ([]Product, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT vendor, product, version FROM evaluations
		WHERE vendor <> '' AND version <> '' ORDER BY vendor, product, version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Product
	for rows.Next() {
		var p Product
		if err := rows.Scan(&p.Vendor, &p.Product, &p.Version); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
