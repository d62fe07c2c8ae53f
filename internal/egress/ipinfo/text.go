package ipinfo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Stats describes one loaded file.
type Stats struct {
	File            string
	Format          string // "iptoasn-tsv", "csv-asn", "csv-country", "mmdb"
	Lines           int    // data lines read (text formats) or networks walked (mmdb)
	ASNPrefixes     int    // prefixes added to the ASN table
	CountryPrefixes int    // prefixes added to the country table
	Skipped         int    // lines or networks with no usable data (ASN 0, "None", special ranges)
	Errors          int    // malformed lines or records
}

var (
	errTooBig       = errors.New("ipinfo: file exceeds the size limit")
	errTooManyPfx   = errors.New("ipinfo: prefix limit reached")
	errLineTooLong  = errors.New("line exceeds the length limit")
	errUnknownShape = errors.New("cannot tell the layout: expected start,end,asn[,org], start,end,country or the iptoasn TSV start<TAB>end<TAB>asn<TAB>country<TAB>name")
)

// LoadFile loads an MMDB or CSV/TSV range file, chosen by content.
func (db *DB) LoadFile(ctx context.Context, path string) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{File: path}, fmt.Errorf("ipinfo: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Stats{File: path}, fmt.Errorf("ipinfo: %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Stats{File: path}, fmt.Errorf("ipinfo: %s: not a regular file", path)
	}
	if fi.Size() > db.limits.MaxFileBytes {
		return Stats{File: path}, fmt.Errorf("%w: %s: %d bytes > %d", errTooBig, path, fi.Size(), db.limits.MaxFileBytes)
	}
	if isMMDB(f, fi.Size()) {
		f.Close()
		return db.LoadMMDB(ctx, path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Stats{File: path}, fmt.Errorf("ipinfo: %s: %w", path, err)
	}
	return db.LoadText(ctx, path, io.LimitReader(f, db.limits.MaxFileBytes))
}

var mmdbMarker = []byte("\xab\xcd\xefMaxMind.com")

// isMMDB looks for the metadata marker in the last 128 KiB, where the
// format puts it.
func isMMDB(f io.ReaderAt, size int64) bool {
	n := int64(128 << 10)
	if size < n {
		n = size
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	return bytes.Contains(buf, mmdbMarker)
}

type shape uint8

const (
	shapeUnknown shape = iota
	shapeTSV           // iptoasn: start end asn country name
	shapeASN           // start,end,asn[,org]
	shapeCountry       // start,end,country
)

// LoadText loads CSV or TSV ranges from r; name is used in messages.
// Lines starting with '#' and an optional header line are skipped. Bad
// lines are reported as "name: line N: ..." and skipped; loading stops after
// Limits.MaxErrors of them. What was loaded before an error stays loaded.
func (db *DB) LoadText(ctx context.Context, name string, r io.Reader) (Stats, error) {
	db.split()
	defer db.merge()
	st := Stats{File: name}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		errs     []error
		sh       shape
		lineNo   int
		seenData bool
		pfx      []netip.Prefix
		fields   []string
	)
	fail := func(format string, a ...any) bool {
		st.Errors++
		errs = append(errs, fmt.Errorf("%s: line %d: "+format, append([]any{name, lineNo}, a...)...))
		return len(errs) >= db.limits.MaxErrors
	}
	for {
		line, err := readLine(br, db.limits.MaxLineBytes)
		if len(line) == 0 && err == io.EOF {
			break
		}
		lineNo++
		if lineNo%4096 == 0 && ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if errors.Is(err, errLineTooLong) {
			if fail("%v (%d bytes)", errLineTooLong, db.limits.MaxLineBytes) {
				break
			}
			continue
		}
		if err != nil && err != io.EOF {
			errs = append(errs, fmt.Errorf("%s: line %d: %w", name, lineNo, err))
			break
		}
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			continue
		}
		if sh == shapeUnknown {
			sh = detectShape(s)
		}
		fields = splitFields(fields[:0], s, sh)
		if len(fields) < 3 {
			if !seenData {
				seenData = true // a header line
				continue
			}
			if fail("expected at least 3 fields, got %d", len(fields)) {
				break
			}
			continue
		}
		start, err1 := parseAddr(fields[0])
		end, err2 := parseAddr(fields[1])
		if err1 != nil || err2 != nil {
			if !seenData {
				seenData = true
				sh = shapeUnknown // the header told us nothing; decide on the next line
				continue
			}
			e := err1
			if e == nil {
				e = err2
			}
			if fail("%v", e) {
				break
			}
			continue
		}
		seenData = true
		st.Lines++
		var (
			asn     uint32
			org     string
			country string
		)
		switch sh {
		case shapeTSV:
			if len(fields) < 4 {
				if fail("iptoasn TSV needs start, end, asn, country, name") {
					goto done
				}
				continue
			}
			a, err := parseASN(fields[2])
			if err != nil {
				if fail("%v", err) {
					goto done
				}
				continue
			}
			asn = a
			country = fields[3]
			if len(fields) > 4 {
				org = fields[4]
			}
		case shapeASN:
			a, err := parseASN(fields[2])
			if err != nil {
				if fail("%v", err) {
					goto done
				}
				continue
			}
			asn = a
			if len(fields) > 3 {
				org = fields[3]
			}
		case shapeCountry:
			country = fields[2]
		default:
			if fail("%v", errUnknownShape) {
				goto done
			}
			continue
		}
		cc, ccOK := parseCountry(country)
		if country != "" && !ccOK && !isNoCountry(country) {
			if fail("bad country code %q", clip(country)) {
				goto done
			}
			continue
		}
		if asn == 0 && !ccOK {
			st.Skipped++
			continue
		}
		pfx, err = rangePrefixes(pfx[:0], start, end)
		if err != nil {
			if fail("%v", err) {
				goto done
			}
			continue
		}
		if err := db.insert(&st, pfx, asn, org, cc, ccOK); err != nil {
			errs = append(errs, fmt.Errorf("%s: line %d: %w", name, lineNo, err))
			goto done
		}
	}
done:
	switch sh {
	case shapeTSV:
		st.Format = "iptoasn-tsv"
	case shapeASN:
		st.Format = "csv-asn"
	case shapeCountry:
		st.Format = "csv-country"
	}
	if st.Lines == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no data lines", name))
	}
	return st, errors.Join(errs...)
}

// insert adds prefixes for one range. Prefixes that fall entirely inside a
// special-purpose block are skipped: the classifier answers for those.
func (db *DB) insert(st *Stats, pfx []netip.Prefix, asn uint32, org string, cc [2]byte, ccOK bool) error {
	rec := asnRec{asn: asn}
	if asn != 0 {
		rec.org = db.intern(org)
	}
	for _, p := range pfx {
		if db.entries >= db.limits.MaxPrefixes {
			return fmt.Errorf("%w (%d)", errTooManyPfx, db.limits.MaxPrefixes)
		}
		if c, ok := specialTable.LookupPrefix(p); ok && !c.Routable() {
			st.Skipped++
			continue
		}
		if asn != 0 {
			db.asn.Insert(p, rec)
			st.ASNPrefixes++
			db.entries++
		}
		if ccOK {
			db.country.Insert(p, cc)
			st.CountryPrefixes++
			db.entries++
		}
	}
	return nil
}

// readLine returns one line without its terminator. A line longer than max
// is consumed and reported as errLineTooLong without being buffered whole.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out)+len(chunk) > max+1 {
			// drain the rest of the line
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return []byte{0}, errLineTooLong
		}
		out = append(out, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		out = bytes.TrimRight(out, "\r\n")
		if err == io.EOF && len(out) > 0 {
			return out, nil
		}
		return out, err
	}
}

func detectShape(s string) shape {
	if strings.Contains(s, "\t") {
		return shapeTSV
	}
	f := splitFields(nil, s, shapeASN)
	if len(f) < 3 {
		return shapeUnknown
	}
	if _, err := parseAddr(f[0]); err != nil {
		return shapeUnknown
	}
	if _, err := parseASN(f[2]); err == nil {
		return shapeASN
	}
	if _, ok := parseCountry(f[2]); ok || isNoCountry(f[2]) {
		return shapeCountry
	}
	return shapeUnknown
}

// splitFields splits a TSV line on tabs, or a CSV line on commas with
// RFC 4180 double quotes ("" inside quotes is one quote).
func splitFields(dst []string, s string, sh shape) []string {
	if sh == shapeTSV {
		for _, f := range strings.Split(s, "\t") {
			dst = append(dst, strings.TrimSpace(f))
		}
		return dst
	}
	var b strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ && c == '"' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			dst = append(dst, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(dst, strings.TrimSpace(b.String()))
}

// parseAddr accepts dotted IPv4, IPv6, and IPv4 as a decimal integer (the
// tor geoip layout).
func parseAddr(s string) (netip.Addr, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, ".:") {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("bad address %q", clip(s))
		}
		return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("bad address %q", clip(s))
	}
	return a.Unmap(), nil
}

func parseASN(s string) (uint32, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "AS"), "as")
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad ASN %q", clip(s))
	}
	return uint32(n), nil
}

func parseCountry(s string) ([2]byte, bool) {
	if len(s) != 2 {
		return [2]byte{}, false
	}
	var cc [2]byte
	for i := 0; i < 2; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		default:
			return [2]byte{}, false
		}
		cc[i] = c
	}
	if cc == [2]byte{'Z', 'Z'} { // "unknown" in several data sets
		return [2]byte{}, false
	}
	return cc, true
}

func isNoCountry(s string) bool {
	switch strings.ToLower(s) {
	case "", "none", "-", "zz", "unknown":
		return true
	}
	return false
}

// clip shortens an untrusted value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
