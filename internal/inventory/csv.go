package inventory

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// boundedReader fails a read when the bytes read past the start of the
// record (or JSON value) being parsed exceed max: a single huge record
// cannot make the parser buffer without bound.
type boundedReader struct {
	r     io.Reader
	n     int64
	start func() int64
	max   int64
	what  string
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n-b.start() > b.max {
		return 0, fmt.Errorf("%w: %s longer than %d bytes", ErrTooLarge, b.what, b.max)
	}
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// LoadCSV reads an inventory in the documented CSV format (see
// docs/inventory.md): a header row naming the columns, in any order, then
// one element per row. It streams: memory grows with the elements kept,
// not with the file.
func LoadCSV(r io.Reader, name string, opts LoadOptions) (*Inventory, error) {
	return loadCSV(context.Background(), r, name, opts)
}

func loadCSV(ctx context.Context, r io.Reader, name string, opts LoadOptions) (*Inventory, error) {
	c := newCollector(name, opts)
	var recStart int64
	br := &boundedReader{r: r, start: func() int64 { return recStart }, max: MaxLineBytes + 4096, what: "CSV record"}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	// Header.
	hdr, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return c.inv, c.fatal(Problem{Input: name, Reason: "empty file: want a header row (id,vendor,domain,...)"})
	}
	if err != nil {
		return c.inv, c.fatal(csvProblem(name, err))
	}
	recStart = cr.InputOffset()
	if len(hdr) > MaxFields {
		return c.inv, c.fatal(Problem{Input: name, Line: 1, Reason: fmt.Sprintf("header has %d columns, more than %d", len(hdr), MaxFields)})
	}
	cols := make([]string, len(hdr))   // canonical field per column, "" = ignored
	labels := make([]string, len(hdr)) // header text per column
	where := map[string]int{}          // canonical field -> column index
	for i, h := range hdr {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		labels[i] = strings.Clone(h)
		line, col := cr.FieldPos(i)
		f := canonicalField(h)
		switch {
		case f == "" || f == fEvidence || f == fVendorRaw || f == fOrigin:
			if err := c.problem(Problem{Input: name, Line: line, Column: col, Field: truncate(h, 80), Warning: true,
				Reason: "unknown column, ignored (see docs/inventory.md for the column names)"}); err != nil {
				return c.inv, err
			}
			continue
		}
		if j, dup := where[f]; dup {
			return c.inv, c.fatal(Problem{Input: name, Line: line, Column: col, Field: truncate(h, 80),
				Reason: fmt.Sprintf("column %s given twice (also column %d, %q)", f, j+1, labels[j])})
		}
		where[f] = i
		cols[i] = f
	}
	var missing []string
	for _, f := range []string{fID, fVendor, fDomain} {
		if _, ok := where[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return c.inv, c.fatal(Problem{Input: name, Line: 1, Reason: fmt.Sprintf("header lacks the required column(s) %s", strings.Join(missing, ", "))})
	}

	b := newBuilder(name, opts.Aliases)
	vals := make([]value, 0, len(hdr)) // the used columns; text and position set per row
	idx := make([]int, 0, len(hdr))    // their column indices
	for i, f := range cols {
		if f != "" {
			vals = append(vals, value{field: f, label: labels[i]})
			idx = append(idx, i)
		}
	}
	idCol := where[fID]
	dataStart := recStart
	sized, _ := r.(interface{ Len() int })
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return c.inv, err
			}
		}
		if n == reserveAfter && sized != nil {
			c.reserve(estimateRows(n, recStart-dataStart, sized.Len()))
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return c.inv, c.fatal(Problem{Input: name, Line: lineOf(err, cr), Reason: err.Error()})
			}
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return c.inv, c.fatal(Problem{Input: name, Reason: fmt.Sprintf("read: %v", err)})
			}
			// A malformed record: report it and go on with the next.
			recStart = cr.InputOffset()
			c.inv.Skipped++
			if err := c.problem(csvProblem(name, err)); err != nil {
				return c.inv, err
			}
			continue
		}
		recStart = cr.InputOffset()
		line, _ := cr.FieldPos(0)
		if len(rec) != len(hdr) {
			l, col := cr.FieldPos(min(len(rec), len(hdr)+1) - 1) // the first extra field, or the last one there is
			c.inv.Skipped++
			if err := c.problem(Problem{Input: name, Line: l, Column: col,
				Reason: fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(hdr))}); err != nil {
				return c.inv, err
			}
			continue
		}
		for j, i := range idx {
			v := &vals[j]
			v.text = rec[i]
			v.line, v.col = cr.FieldPos(i)
		}
		b.reset()
		var e Element
		b.keepOrigin(name, line)
		keep := b.build(&e, vals, value{line: line, col: 1})
		il, ic := cr.FieldPos(idCol)
		if err := c.record(b, &e, keep, value{label: labels[idCol], line: il, col: ic}); err != nil {
			return c.inv, err
		}
	}
	return c.inv, nil
}

// reserveAfter is the number of rows read before the rest are estimated.
const reserveAfter = 1024

// estimateRows guesses how many rows the unread bytes hold, from the n
// rows in the first read bytes. It never guesses fewer than 32 bytes a
// row, so crafted short first rows cannot make it reserve much.
func estimateRows(n int, read int64, unread int) int {
	if n == 0 || read <= 0 || unread <= 0 {
		return 0
	}
	per := max(read/int64(n), 32)
	return int(int64(unread)/per) + int(int64(unread)/per/20) // 5% slack
}

func csvProblem(name string, err error) Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Problem{Input: name, Line: pe.Line, Column: pe.Column, Reason: pe.Err.Error()}
	}
	return Problem{Input: name, Reason: err.Error()}
}

func lineOf(err error, cr *csv.Reader) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.StartLine
	}
	return 0
}
