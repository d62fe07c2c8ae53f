// Package egress turns normalised flow records into egress alerts: it maps
// flow sources to inventory elements, classifies destinations, applies the
// allowlist, feeds the beacon and volume detectors, and emits deduplicated
// Alert values that say which exporter the evidence came from and whether
// it was sampled or reported by the element about itself.
package egress

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/netvet/netvet/internal/inventory"
)

// Element map limits.
const (
	MaxElementFileBytes = 16 << 20
	MaxElementLine      = 4096
	MaxElementEntries   = 1_000_000
	maxElementErrors    = 50
)

// Element is what alerts say about a network element.
type Element struct {
	ID       string `json:"id"`
	Vendor   string `json:"vendor,omitempty"`
	Function string `json:"function,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Site     string `json:"site,omitempty"`
}

// ElementMap maps source addresses to elements by longest-prefix match.
type ElementMap struct {
	table   bart.Table[int32]
	elems   []Element
	byID    map[string]int32
	entries int
}

// NewElementMap returns an empty map.
func NewElementMap() *ElementMap { return &ElementMap{byID: map[string]int32{}} }

// Add maps prefix to the element el. A second entry for an element ID
// must describe the same element; a prefix mapped twice is an error.
func (m *ElementMap) Add(pfx netip.Prefix, el Element) error {
	if !pfx.IsValid() {
		return errors.New("invalid prefix")
	}
	if pfx != pfx.Masked() {
		return fmt.Errorf("%s has host bits set (use %s)", pfx, pfx.Masked())
	}
	if pfx.Addr().Is4In6() {
		return fmt.Errorf("%s: write IPv4-mapped prefixes as IPv4", pfx)
	}
	if el.ID == "" {
		return errors.New("empty element id")
	}
	if m.entries >= MaxElementEntries {
		return fmt.Errorf("more than %d entries", MaxElementEntries)
	}
	if _, dup := m.table.Get(pfx); dup {
		return fmt.Errorf("%s is mapped twice", pfx)
	}
	idx, ok := m.byID[el.ID]
	if ok {
		old := m.elems[idx]
		if merged, conflict := mergeElement(old, el); conflict != "" {
			return fmt.Errorf("element %s: %s differs from an earlier line", el.ID, conflict)
		} else {
			m.elems[idx] = merged
		}
	} else {
		idx = int32(len(m.elems))
		m.elems = append(m.elems, el)
		m.byID[el.ID] = idx
	}
	m.table.Insert(pfx, idx)
	m.entries++
	return nil
}

func mergeElement(a, b Element) (Element, string) {
	pairs := []struct {
		name string
		x, y *string
	}{{"vendor", &a.Vendor, &b.Vendor}, {"function", &a.Function, &b.Function}, {"domain", &a.Domain, &b.Domain}, {"site", &a.Site, &b.Site}}
	for _, p := range pairs {
		switch {
		case *p.y == "":
		case *p.x == "":
			*p.x = *p.y
		case !strings.EqualFold(*p.x, *p.y):
			return a, p.name
		}
	}
	return a, ""
}

// Lookup returns the element a source address belongs to.
func (m *ElementMap) Lookup(addr netip.Addr) (*Element, bool) {
	if m == nil {
		return nil, false
	}
	idx, ok := m.table.Lookup(addr.Unmap())
	if !ok {
		return nil, false
	}
	return &m.elems[idx], true
}

// Len returns the number of elements and of prefix entries.
func (m *ElementMap) Len() (elements, entries int) { return len(m.elems), m.entries }

// Elements returns the elements sorted by ID.
func (m *ElementMap) Elements() []Element {
	out := append([]Element(nil), m.elems...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LoadElements reads an element map file (see ParseElements). inv, when not
// nil, supplies vendor, function, domain and site for each element ID.
func LoadElements(path string, inv *inventory.Inventory) (*ElementMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("elements: %w", err)
	}
	defer f.Close()
	return ParseElements(path, io.LimitReader(f, MaxElementFileBytes+1), inv)
}

// ParseElements reads CSV with a header line naming the columns: "address"
// (or "prefix", "cidr": an address or a prefix) and "element" (or "id")
// are required; "vendor", "function", "domain" and "site" are optional and
// fill in what the inventory does not say. Lines starting with '#' are
// comments. With an inventory, every element ID must be in it, and the
// inventory's values win over the file's. Every bad line is reported as
// "name: line N: what" (at most 50).
func ParseElements(name string, r io.Reader, inv *inventory.Inventory) (*ElementMap, error) {
	byID := inventoryIndex(inv)
	m := NewElementMap()
	br := bufio.NewReaderSize(r, 64<<10)
	var errs []error
	fail := func(line int, format string, a ...any) bool {
		errs = append(errs, fmt.Errorf("%s: line %d: %s", name, line, fmt.Sprintf(format, a...)))
		return len(errs) >= maxElementErrors
	}
	cols := map[string]int{}
	line, total := 0, 0
	for {
		raw, err := readLine(br)
		if err == io.EOF {
			break
		}
		line++
		if errors.Is(err, errLongLine) {
			if fail(line, "%v", err) {
				break
			}
			continue
		}
		if err != nil {
			fail(line, "%v", err)
			break
		}
		total += len(raw) + 1
		if total > MaxElementFileBytes {
			fail(line, "file exceeds %d bytes", MaxElementFileBytes)
			break
		}
		t := bytes.TrimSpace(raw)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		cr := csv.NewReader(bytes.NewReader(t))
		cr.FieldsPerRecord = -1
		cr.TrimLeadingSpace = true
		rec, cerr := cr.Read()
		if cerr != nil {
			if fail(line, "%v", cerr) {
				break
			}
			continue
		}
		if len(cols) == 0 {
			for i, c := range rec {
				key := strings.ToLower(strings.TrimSpace(c))
				switch key {
				case "prefix", "cidr":
					key = "address"
				case "id":
					key = "element"
				}
				switch key {
				case "address", "element", "vendor", "function", "domain", "site":
				default:
					fail(line, "unknown column %q (known: address, element, vendor, function, domain, site)", c)
					return nil, errors.Join(errs...)
				}
				if _, dup := cols[key]; dup {
					fail(line, "column %q given twice", key)
					return nil, errors.Join(errs...)
				}
				cols[key] = i
			}
			if _, ok := cols["address"]; !ok {
				fail(line, "header has no address column")
				return nil, errors.Join(errs...)
			}
			if _, ok := cols["element"]; !ok {
				fail(line, "header has no element column")
				return nil, errors.Join(errs...)
			}
			continue
		}
		get := func(k string) string {
			i, ok := cols[k]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		pfx, perr := parsePrefix(get("address"))
		if perr != nil {
			if fail(line, "%v", perr) {
				break
			}
			continue
		}
		el := Element{ID: get("element"), Vendor: get("vendor"), Function: get("function"), Domain: get("domain"), Site: get("site")}
		if el.ID == "" {
			if fail(line, "empty element id") {
				break
			}
			continue
		}
		if byID != nil {
			ie, ok := byID[el.ID]
			if !ok {
				if fail(line, "element %q is not in the inventory", el.ID) {
					break
				}
				continue
			}
			el = fromInventory(ie, el)
		}
		if aerr := m.Add(pfx, el); aerr != nil {
			if fail(line, "%v", aerr) {
				break
			}
		}
	}
	if len(cols) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no header line (address,element[,vendor,function,domain,site])", name))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// fromInventory fills el from the inventory element; the inventory wins.
func fromInventory(ie *inventory.Element, el Element) Element {
	pick := func(inv, file string) string {
		if inv != "" {
			return inv
		}
		return file
	}
	return Element{ID: ie.ID, Vendor: pick(ie.Vendor, el.Vendor), Function: pick(ie.Function, el.Function),
		Domain: pick(ie.Domain, el.Domain), Site: pick(ie.Site, el.Site)}
}

func parsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("empty address")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("bad prefix %q", s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var errLongLine = fmt.Errorf("line longer than %d bytes", MaxElementLine)

// readLine returns one line without its end, refusing lines longer than
// MaxElementLine (the rest of such a line is skipped).
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxElementLine+1 {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, errLongLine
		}
		buf = append(buf, chunk...)
		switch err {
		case nil:
			return bytes.TrimRight(buf, "\r\n"), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return bytes.TrimRight(buf, "\r\n"), nil
		default:
			return nil, err
		}
	}
}
