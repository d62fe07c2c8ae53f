package detect

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestParseControl(t *testing.T) {
	data, err := os.ReadFile("testdata/opkg/status")
	if err != nil {
		t.Fatal(err)
	}
	st, bad, err := ParseControl(data)
	if err != nil || bad != 0 {
		t.Fatalf("bad=%d err=%v", bad, err)
	}
	if len(st) != 8 {
		t.Fatalf("%d stanzas", len(st))
	}
	first := st[0]
	if first.Get("package") != "busybox" || first.Get("version") != "1.36.1-1" || first.Offset != 0 || first.Line != 1 ||
		!strings.HasPrefix(first.Get("conffiles"), "\n/etc/syslog.conf ") {
		t.Errorf("first stanza %+v", first)
	}
	second := st[1]
	if second.Get("package") != "dropbear" || second.Line != 10 || string(data[second.Offset:second.Offset+17]) != "Package: dropbear" {
		t.Errorf("second stanza %+v", second)
	}
	if st[7].Installed() || !st[0].Installed() {
		t.Error("installed() wrong")
	}

	cases := []struct {
		name    string
		in      string
		stanzas int
		bad     int
	}{
		{"empty", "", 0, 0},
		{"no trailing newline", "Package: a\nVersion: 1", 1, 0},
		{"crlf", "Package: a\r\nVersion: 1\r\n\r\nPackage: b\r\n", 2, 0},
		{"continuation first", " orphan\nPackage: a\n", 1, 1},
		{"no colon", "Package a\nVersion: 1\n", 1, 1},
		{"blank lines only", "\n\n \n\t\n", 0, 0},
		{"duplicate field keeps first", "Package: a\nPackage: b\n", 1, 0},
	}
	for _, c := range cases {
		st, bad, err := ParseControl([]byte(c.in))
		if err != nil || len(st) != c.stanzas || bad != c.bad {
			t.Errorf("%s: %d stanzas, %d bad, %v", c.name, len(st), bad, err)
		}
	}
	st, _, _ = ParseControl([]byte("Package: a\nPackage: b\n"))
	if st[0].Get("package") != "a" {
		t.Error("a duplicate field replaced the first")
	}

	// Too many entries: an error and the entries read so far.
	many := strings.Repeat("Package: x\nVersion: 1\n\n", maxStanzas+5)
	st, _, err = ParseControl([]byte(many))
	if err == nil || len(st) != maxStanzas {
		t.Errorf("%d stanzas, err %v", len(st), err)
	}
	// A huge field value is cut.
	st, _, _ = ParseControl([]byte("Description: " + strings.Repeat("x", 3*maxFieldValue) + "\n" + strings.Repeat(" more\n", 10000)))
	if len(st) != 1 || len(st[0].Get("description")) > maxFieldValue {
		t.Errorf("field of %d bytes", len(st[0].Get("description")))
	}
}

func TestParseOSRelease(t *testing.T) {
	in := "# comment\nNAME=\"OpenWrt\"\nID=openwrt\nVERSION_ID='23.05.2'\nPRETTY_NAME=\"Open\\\"Wrt\"\nBAD LINE\nlower=x\nX=unquoted value\nID=again\n"
	f, off := ParseOSRelease([]byte(in))
	want := map[string]string{"NAME": "OpenWrt", "ID": "openwrt", "VERSION_ID": "23.05.2", "PRETTY_NAME": "Open\"Wrt"}
	if len(f) != len(want) {
		t.Errorf("fields %v", f)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	if off["ID"] != int64(strings.Index(in, "ID=openwrt")) {
		t.Errorf("ID offset %d", off["ID"])
	}
	o := &OSRelease{Fields: f}
	if o.Distro() != "openwrt-23.05.2" || o.ID() != "openwrt" {
		t.Errorf("distro %q id %q", o.Distro(), o.ID())
	}
	bad := &OSRelease{Fields: map[string]string{"ID": "evil/../x", "VERSION_ID": "1"}}
	if bad.ID() != "" || bad.Distro() != "" {
		t.Errorf("unsafe ID used: %q", bad.ID())
	}
	var none *OSRelease
	if none.ID() != "" || none.Distro() != "" {
		t.Error("nil os-release")
	}
}

func TestParseModinfo(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		ok       bool
		modname  string
		version  string
		vermagic string
		license  string
	}{
		{"kbuild order", "\x00\x00license=GPL\x00author=x\x00depends=nf_conntrack\x00retpoline=Y\x00name=xt_foo\x00vermagic=5.15.137 SMP mod_unload MIPS32_R2 32BIT \x00\x00",
			true, "xt_foo", "", "5.15.137 SMP mod_unload MIPS32_R2 32BIT ", "GPL"},
		{"first string glued to other bytes", "\x7fELF\x01junk_bytes#version=1.2\x00license=Proprietary\x00vermagic=4.9.0 mod_unload\x00",
			true, "", "1.2", "4.9.0 mod_unload", "Proprietary"},
		{"padding between strings", "version=3\x00\x00\x00\x00name=m\x00\x00vermagic=4.4.0\x00",
			true, "m", "3", "4.4.0", ""},
		{"vermagic inside another string", "\x00xvermagic=1\x00", false, "", "", "", ""},
		{"empty vermagic", "\x00vermagic=\x00", false, "", "", "", ""},
		{"no terminator", "\x00vermagic=4.4", false, "", "", "", ""},
		{"binary value", "\x00vermagic=4.4\x01\x02\x00", false, "", "", "", ""},
		{"none", "hello world", false, "", "", "", ""},
		{"second candidate good", "\x00vermagic=\x00name=a\x00vermagic=5.4.0\x00", true, "a", "", "5.4.0", ""},
	}
	for _, c := range cases {
		mi, ok := ParseModinfo([]byte(c.in))
		if ok != c.ok {
			t.Errorf("%s: ok = %v", c.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if mi.Name != c.modname || mi.Version != c.version || mi.Vermagic != c.vermagic || mi.License != c.license {
			t.Errorf("%s: %+v", c.name, mi)
		}
		if !strings.HasPrefix(c.in[mi.VermagicOffset:], "vermagic="+c.vermagic) {
			t.Errorf("%s: vermagic offset %d", c.name, mi.VermagicOffset)
		}
		if c.version != "" && !strings.HasPrefix(c.in[mi.VersionOffset:], "version="+c.version) {
			t.Errorf("%s: version offset %d", c.name, mi.VersionOffset)
		}
	}
	if KernelRelease("4.14.180 SMP mod_unload") != "4.14.180" || KernelRelease("5.10.0-21-amd64 SMP") != "5.10.0" || KernelRelease("") != "" {
		t.Error("KernelRelease")
	}
}

func TestStandaloneStrings(t *testing.T) {
	data := "2.9\x00abc\x002.10\x00x2.11\x002.12-devel\x00" + strings.Repeat("y", 2*window) + "\x002.13\x00"
	buf := make([]byte, window+span)
	got, err := standaloneStrings(context.Background(), strings.NewReader(data), int64(len(data)), markers[0].version, 16, buf)
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, h := range got {
		vs = append(vs, h.version)
		if data[h.offset:h.offset+int64(len(h.version))] != h.version {
			t.Errorf("%s at wrong offset %d", h.version, h.offset)
		}
	}
	if strings.Join(vs, ",") != "2.9,2.10,2.12-devel,2.13" {
		t.Errorf("got %v", vs)
	}
}
