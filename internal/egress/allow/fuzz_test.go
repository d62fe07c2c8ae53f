package allow

import (
	"net/netip"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(policyText))
	f.Add([]byte("version: 1\nrules:\n  - {id: a, cidrs: [10.0.0.0/8], ports: [1-2/udp, any, icmp]}\n"))
	f.Add([]byte("version: 1\nservers: {a: &x [10.0.0.1]}\nrules:\n  - {id: a, servers: [a], cidrs: *x, template: dns}\n"))
	hosts, err := ParseHosts("h", strings.NewReader(hostsText))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data, hosts)
		if err != nil {
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		d := p.Evaluate(Element{ID: "x", Vendor: "acme"}, netip.MustParseAddr("10.10.0.5"), 443, ProtoTCP)
		if !d.Allowed && d.Reason() == "" {
			t.Fatal("denied without reason")
		}
	})
}

func FuzzParseHosts(f *testing.F) {
	f.Add(hostsText)
	f.Add("::1 localhost ip6-localhost\n# c\n10.0.0.1\tA.example. b\n")
	f.Fuzz(func(t *testing.T, data string) {
		h, _ := ParseHosts("fuzz", strings.NewReader(data))
		for n, addrs := range h {
			if _, ok := normName(n); !ok || len(addrs) == 0 {
				t.Fatalf("bad entry %q %v", n, addrs)
			}
		}
	})
}
