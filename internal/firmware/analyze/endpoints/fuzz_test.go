package endpoints

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzScan checks what must hold for any input: every match points at
// its own text, offsets do not go backwards, and the result does not
// depend on how the reader splits the data.
func FuzzScan(f *testing.F) {
	for _, c := range extractCases {
		f.Add([]byte(c.in), c.binary)
	}
	f.Add(bytes.Repeat([]byte("http://a.b.com/ 8.8.8.8 "), 3000), true)
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		var ms []Match
		ScanBytes(b, Options{Binary: binary}, func(m Match) bool {
			ms = append(ms, m)
			return true
		})
		var last int64
		for _, m := range ms {
			if m.Offset < last || m.Offset < 0 || m.Len <= 0 || m.Offset+int64(m.Len) > int64(len(b)) {
				t.Fatalf("match %+v out of order or range (len %d, last %d)", m, len(b), last)
			}
			last = m.Offset
			raw := string(b[m.Offset : m.Offset+int64(m.Len)])
			switch m.Kind {
			case KindIPv4, KindIPv6:
				a, err := netip.ParseAddr(raw)
				if err != nil || a.String() != m.Value {
					t.Fatalf("%s at %d: %q parses as %v (%v), value %q", m.Kind, m.Offset, raw, a, err, m.Value)
				}
			case KindDomain:
				if strings.ToLower(raw) != m.Value {
					t.Fatalf("domain at %d: %q, value %q", m.Offset, raw, m.Value)
				}
			case KindURL:
				if !strings.HasPrefix(strings.ToLower(raw), m.Scheme+"://") || !strings.HasPrefix(m.Value, m.Scheme+"://") {
					t.Fatalf("URL at %d: %q, value %q", m.Offset, raw, m.Value)
				}
			default:
				t.Fatalf("kind %d", m.Kind)
			}
			if m.Class == 0 {
				t.Fatalf("unclassified %+v", m)
			}
		}
		var split []Match
		Scan(iotest.HalfReader(bytes.NewReader(b)), Options{Binary: binary}, 0, func(m Match) bool {
			split = append(split, m)
			return true
		})
		if !reflect.DeepEqual(ms, split) {
			t.Fatalf("whole read: %d matches, split reads: %d", len(ms), len(split))
		}
	})
}
