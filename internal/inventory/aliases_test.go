package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	a := DefaultAliases()
	cases := []struct{ in, want string }{
		{"HUAWEI TECHNOLOGIES CO., LTD.", "huawei"},
		{"Huawei", "huawei"},
		{"huawei technologies co ltd", "huawei"},
		{"Huawei Marine Networks", "huawei"},
		{"华为技术有限公司", "华为技术有限公司"}, // no word breaks: a slug of its own
		{"华为", "huawei"},
		{"ZTE Corporation", "zte"},
		{"Zhongxing Telecommunication Equipment Corp.", "zte"},
		{"Ericsson AB", "ericsson"},
		{"Telefonaktiebolaget LM Ericsson (publ)", "ericsson"},
		{"Nokia Solutions and Networks Oy", "nokia"},
		{"Nokia Siemens Networks", "nokia"},
		{"Alcatel-Lucent", "nokia"},
		{"ALCATEL LUCENT S.A.", "nokia"},
		{"Samsung Electronics Co., Ltd.", "samsung"},
		{"Cisco Systems, Inc.", "cisco"},
		{"Juniper Networks, Inc.", "juniper"},
		{"Ciena Corporation", "ciena"},
		{"FiberHome Telecommunication Technologies Co., Ltd.", "fiberhome"},
		{"New H3C Technologies Co., Ltd.", "h3c"},
		{"Hangzhou Hikvision Digital Technology Co., Ltd.", "hikvision"},
		{"Zhejiang Dahua Technology Co., Ltd.", "dahua"},
		{"Mavenir Systems", "mavenir"},
		{"NEC Corporation", "nec"},
		{"Fujitsu Limited", "fujitsu"},
		{"Calix, Inc.", "calix"},
		{"ADTRAN Holdings, Inc.", "adtran"},
		{"Arista Networks", "arista"},
		{"  ", ""},
		{"Acme Radio Ltd.", "acme-radio"},
		{"Acme Networks Inc", "acme-networks"},
		{"ACME", "acme"},
		{"Ltd", "ltd"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := a.Normalise(c.in); got != c.want {
				t.Errorf("Normalise(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
	var nilA *Aliases
	if got := nilA.Normalise("Huawei Technologies"); got != "huawei" {
		t.Errorf("nil Aliases: got %q", got)
	}
	if got := a.Display("huawei"); got != "Huawei" {
		t.Errorf("Display(huawei) = %q", got)
	}
}

func TestLoadAliases(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "a.yaml")
	os.WriteFile(yml, []byte("acme:\n  - ACME Radio Holdings\n  - Radio Acme\nhuawei: Example Subsidiary Ltd\n"), 0o644)
	a, err := LoadAliases(yml)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"Radio Acme": "acme", "ACME Radio Holdings plc": "acme",
		"Example Subsidiary": "huawei", "ZTE": "zte"} {
		if got := a.Normalise(in); got != want {
			t.Errorf("yaml: Normalise(%q) = %q, want %q", in, got, want)
		}
	}
	// The defaults are not changed by a load.
	if got := DefaultAliases().Normalise("Radio Acme"); got != "radio-acme" {
		t.Errorf("defaults changed: %q", got)
	}
	csvPath := filepath.Join(dir, "a.csv")
	os.WriteFile(csvPath, []byte("alias,vendor\n# comment\n\"Shenzhen Example, Ltd\",zte\nOther Co,other\n"), 0o644)
	a, err = LoadAliases(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Normalise("Shenzhen Example"); got != "zte" {
		t.Errorf("csv: got %q", got)
	}
	bad := []struct{ name, body, want string }{
		{"b.yaml", "- a\n- b\n", "b.yaml:1:1"},
		{"c.yaml", "x:\n  k: v\n", "c.yaml:2:3"},
		{"d.csv", "a,b,c\n", "d.csv:1: want 2 fields"},
		{"e.csv", "ok,x\n\"...\",zte\n", "e.csv:2: alias"},
		{"f.txt", "a,b\n", "unknown file type"},
	}
	for _, b := range bad {
		p := filepath.Join(dir, b.name)
		os.WriteFile(p, []byte(b.body), 0o644)
		_, err := LoadAliases(p)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err %v, want it to contain %q", b.name, err, b.want)
		}
	}
}

func TestVocabulary(t *testing.T) {
	if !KnownFunction("core-5g", "amf") || KnownFunction("ran", "amf") {
		t.Error("amf belongs to core-5g only")
	}
	if g, ok := CanonicalGeneration("5g sa"); !ok || g != "5G-SA" {
		t.Errorf("5g sa -> %q %v", g, ok)
	}
	if g, ok := CanonicalGeneration("LTE"); !ok || g != "4G" {
		t.Errorf("LTE -> %q %v", g, ok)
	}
	if _, ok := CanonicalGeneration("6G"); ok {
		t.Error("6G accepted")
	}
	for d, fs := range Domains {
		for i := 1; i < len(fs); i++ {
			if fs[i-1] >= fs[i] {
				t.Errorf("domain %s: functions not sorted or repeated at %q", d, fs[i])
			}
		}
	}
}
