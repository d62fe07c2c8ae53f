package inventory

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCanonicalAddress(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"10.0.0.1", "10.0.0.1", ""},
		{" 10.0.0.1 ", "10.0.0.1", ""},
		{"10.2.16.0/24", "10.2.16.0/24", ""},
		{"10.2.16.7/24", "10.2.16.7", ""}, // interface address form
		{"10.0.0.1/32", "10.0.0.1", ""},
		{"::ffff:10.0.0.1", "10.0.0.1", ""},
		{"::ffff:10.2.0.0/112", "10.2.0.0/16", ""},
		{"2001:DB8::1", "2001:db8::1", ""},
		{"2001:db8:10::/64", "2001:db8:10::/64", ""},
		{"fe80::1%eth0", "", "zoned"},
		{"::ffff:0:0/90", "", "shorter than /96"},
		{"router-1", "", "not an IP"},
		{"10.0.0.0/33", "", "not an IP"},
		{"", "", "not an IP"},
	} {
		got, err := CanonicalAddress(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want ~%q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestManagementAddressesCSVJSONTMF(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.csv": "id,vendor,domain,function,mgmt_ip\n" +
			"gnb-1,Ericsson,ran,gnb,10.1.0.1;2001:db8::1\n" +
			"olt-1,Nokia,access-fixed,olt,10.2.16.0/24\n" +
			"bad-1,Nokia,access-fixed,olt,not-an-address\n",
		"a.json": `[{"id":"gnb-1","vendor":"Ericsson","domain":"ran","function":"gnb","management_addresses":["10.1.0.1","2001:db8::1"]},
{"id":"olt-1","vendor":"Nokia","domain":"access-fixed","function":"olt","management_address":"10.2.16.0/24"}]`,
		"a.tmf.json": `[{"id":"gnb-1","@type":"PhysicalResource","resourceSpecification":{"name":"Baseband 6648"},
"relatedParty":[{"role":"manufacturer","partyOrPartyRole":{"name":"Ericsson"}}],
"resourceCharacteristic":[{"name":"domain","value":"ran"},{"name":"function","value":"gnb"},
{"name":"managementIpAddress","value":["10.1.0.1","2001:db8::1"]}]}]`,
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		inv, err := Load(context.Background(), path, LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		byID := map[string]Element{}
		for _, e := range inv.Elements {
			byID[e.ID] = e
		}
		if got := byID["gnb-1"].ManagementAddresses; !slices.Equal(got, []string{"10.1.0.1", "2001:db8::1"}) {
			t.Errorf("%s: gnb-1 management addresses %q", name, got)
		}
		if name == "a.tmf.json" {
			continue
		}
		if got := byID["olt-1"].ManagementAddresses; !slices.Equal(got, []string{"10.2.16.0/24"}) {
			t.Errorf("%s: olt-1 management addresses %q", name, got)
		}
		if name == "a.csv" {
			if _, ok := byID["bad-1"]; ok || len(inv.Problems) != 1 || !strings.Contains(inv.Problems[0].Reason, `management address "not-an-address"`) || inv.Problems[0].Line != 4 {
				t.Errorf("bad address: kept %v, problems %+v", ok, inv.Problems)
			}
		}
	}
}
