package egress

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/inventory"
)

func TestParseElementsYAML(t *testing.T) {
	inv := &inventory.Inventory{Elements: []inventory.Element{{ID: "gnb-1", Vendor: "acme", Function: "gnb", Domain: "ran", Site: "S1"}}}
	tests := []struct {
		name, in string
		inv      *inventory.Inventory
		wantErr  string
		lookup   map[string]string // address -> element id ("" = unmapped)
	}{
		{name: "elements and sites", in: `
elements:
  - id: e1
    addresses: [10.0.0.1, "2001:db8::1"]
    site: A
  - id: e2
    addresses: 10.0.1.7/24   # interface form: the host
sites:
  - site: MAN-07
    cidrs: [10.0.0.0/24]
`, lookup: map[string]string{"10.0.0.1": "e1", "2001:db8::1": "e1", "10.0.1.7": "e2", "10.0.1.8": "", "10.0.0.99": "site:MAN-07"}},
		{name: "inventory wins", in: "elements:\n  - id: gnb-1\n    addresses: 10.0.0.1\n    site: Z\n", inv: inv, lookup: map[string]string{"10.0.0.1": "gnb-1"}},
		{name: "not in inventory", in: "elements:\n  - id: x\n    addresses: 10.0.0.1\n", inv: inv, wantErr: `el.yaml:2:9: element "x" is not in the inventory`},
		{name: "bad address", in: "elements:\n  - id: x\n    addresses: [10.0.0.1, nope]\n", wantErr: `el.yaml:3:27: addresses "nope": not an IP address`},
		{name: "unknown key", in: "elements:\n  - id: x\n    adresses: 10.0.0.1\n", wantErr: `el.yaml:3:5: unknown key "adresses"`},
		{name: "missing id", in: "elements:\n  - addresses: 10.0.0.1\n", wantErr: "el.yaml:2:5: missing id"},
		{name: "reserved id", in: "elements:\n  - id: site:x\n    addresses: 10.0.0.1\n", wantErr: "reserved for sites"},
		{name: "mapped twice", in: "elements:\n  - id: a\n    addresses: 10.0.0.1\n  - id: b\n    addresses: 10.0.0.1\n", wantErr: "el.yaml:5:16: 10.0.0.1/32 is mapped twice"},
		{name: "no addresses", in: "elements:\n  - id: a\n", wantErr: "el.yaml:2:5: element a: no addresses"},
		{name: "not a mapping", in: "- 10.0.0.1\n", wantErr: "want a mapping"},
		{name: "empty", in: "elements: []\n", wantErr: "no elements or sites"},
		{name: "site without name", in: "sites:\n  - cidrs: 10.0.0.0/8\n", wantErr: "el.yaml:2:5: missing site"},
		{name: "syntax", in: "elements: [\n", wantErr: "el.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseElementsYAML("el.yaml", []byte(tt.in), tt.inv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for addr, want := range tt.lookup {
				el, ok := m.Lookup(netip.MustParseAddr(addr))
				got := ""
				if ok {
					got = el.ID
				}
				if got != want {
					t.Errorf("lookup %s = %q, want %q", addr, got, want)
				}
			}
			if el, ok := m.Lookup(netip.MustParseAddr("10.0.0.1")); ok && tt.inv != nil && el.Site != "S1" {
				t.Errorf("inventory site not used: %+v", el)
			}
		})
	}
}

func TestElementsFromInventory(t *testing.T) {
	inv := &inventory.Inventory{Elements: []inventory.Element{
		{ID: "gnb-1", Vendor: "acme", Function: "gnb", Domain: "ran", Site: "S1", ManagementAddresses: []string{"10.1.0.1", "2001:db8::1"}},
		{ID: "olt-1", Vendor: "bolt", Function: "olt", ManagementAddresses: []string{"10.2.16.0/24"}},
		{ID: "dup", ManagementAddresses: []string{"10.1.0.1"}, Origin: "inv.csv:4"},
		{ID: "none"},
	}}
	m, n, err := ElementsFromInventory(nil, inv)
	if err == nil || !strings.Contains(err.Error(), "inv.csv:4: element dup: management address 10.1.0.1/32 is also element gnb-1's") {
		t.Errorf("err = %v, want the conflict between dup and gnb-1", err)
	}
	if n != 3 {
		t.Errorf("added %d entries, want 3", n)
	}
	for addr, want := range map[string]string{"10.1.0.1": "gnb-1", "2001:db8::1": "gnb-1", "10.2.16.77": "olt-1"} {
		if el, ok := m.Lookup(netip.MustParseAddr(addr)); !ok || el.ID != want {
			t.Errorf("lookup %s = %+v, want %s", addr, el, want)
		}
	}
	if el, _ := m.Lookup(netip.MustParseAddr("10.1.0.1")); el.Vendor != "acme" || el.Site != "S1" {
		t.Errorf("inventory attributes lost: %+v", el)
	}
	// A map read from --elements wins over the inventory.
	base, err := ParseElements("el.csv", strings.NewReader("address,element\n10.2.16.5,olt-1-card\n10.1.0.1,gnb-1\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, n, err = ElementsFromInventory(base, inv)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("added %d entries to the file's map, want 2 (10.1.0.1 already mapped)", n)
	}
	if el, _ := m.Lookup(netip.MustParseAddr("10.2.16.5")); el.ID != "olt-1-card" {
		t.Errorf("file entry lost: %+v", el)
	}
}

func TestLoadElementMapByExtension(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "el.yml")
	c := filepath.Join(dir, "el.csv")
	os.WriteFile(y, []byte("elements:\n  - id: e\n    addresses: 10.0.0.1\n"), 0o644)
	os.WriteFile(c, []byte("address,element\n10.0.0.1,e\n"), 0o644)
	for _, p := range []string{y, c} {
		m, err := LoadElementMap(p, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if el, ok := m.Lookup(netip.MustParseAddr("10.0.0.1")); !ok || el.ID != "e" {
			t.Errorf("%s: lookup = %+v", p, el)
		}
	}
}

func FuzzParseElementsYAML(f *testing.F) {
	f.Add([]byte("elements:\n  - id: e1\n    addresses: [10.0.0.1, \"2001:db8::1\"]\nsites:\n  - site: A\n    cidrs: 10.0.0.0/24\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseElementsYAML("f.yaml", data, nil)
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
	})
}
