package secrets

import (
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

var fuzzSeeds = []string{
	"config wifi-iface 'x'\n\toption key 'Sup3rS3cret!'\n\toption ssid \"a b\"\n",
	"config interface wan\n\toption proto pppoe\n\toption password 'a'\"b\"c\\ d # tail\n",
	"config a\n\toption x 'unterminated\n",
	"rocommunity public\ncom2sec -Cn ctx sec default s3cr3t\ncreateUser u MD5 \"p w\" DES x\n",
	"<ManagementServer><Password>x1</Password></ManagementServer>\n<a Password=\"y2\"/>\n",
	"network={\n psk=\"abcdefgh\"\n}\nwpa_passphrase=zzz\n",
	"#!/bin/sh\nPASS='abc'\nexport ROOT_PASSWORD=xyz # c\n",
	"\"u\" * \"s\" *\n",
	"a=b=c=password=d\n" + strings.Repeat("x", 300) + " password=" + strings.Repeat("y", 50) + " " + strings.Repeat("z", 300) + "\n",
}

func FuzzUCI(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sections, _, err := parseUCI([]byte(s))
		if err != nil {
			return
		}
		for _, sec := range sections {
			for _, o := range sec.Options {
				if o.ValOff < o.Off || o.ValEnd <= o.ValOff || o.ValEnd > int64(len(s)) {
					t.Fatalf("option %+v out of range", o)
				}
				if !strings.Contains(s[o.Off:], o.Text) {
					t.Fatalf("option text %q not at %d", o.Text, o.Off)
				}
			}
		}
	})
}

// FuzzRules runs the firmware rules as different kinds of file and checks
// that evidence is in range and holds the secret in its redacted form.
func FuzzRules(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, uint8(0))
		f.Add(s, uint8(3))
	}
	paths := []string{"/etc/config/wireless", "/etc/ppp/chap-secrets", "/etc/init.d/x.sh", "/etc/app.conf", "/etc/cwmp.xml", "/etc/ppp/peers/isp"}
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		p := paths[int(which)%len(paths)]
		file := &firmware.File{Path: "img" + p, FSPath: p}
		ms := firmwareRules(file, []byte(s))
		render(ms)
		for _, m := range ms {
			if m.evOff < 0 || m.evOff > int64(len(s)) || m.vs < 0 || m.ve > len(m.l.Text) || m.vs > m.ve {
				t.Fatalf("match out of range: %+v", m)
			}
			if r := redactWritten(m.l.Text[m.vs:m.ve]); !strings.Contains(m.evidence, r) {
				t.Fatalf("evidence %q lacks the redacted secret %q", m.evidence, r)
			}
		}
	})
}

func FuzzEvidenceLine(f *testing.F) {
	f.Add("option key 'abc'", 11, 16, 0, 3)
	f.Add(strings.Repeat("a", 500), 250, 260, 100, 400)
	f.Fuzz(func(t *testing.T, text string, vs, ve, os, oe int) {
		ev, at := evidenceLine(text, vs, ve, [][2]int{{os, oe}})
		if at < 0 || at > len(text) || len(ev) > len(text)+6 {
			t.Fatalf("evidence %q at %d for a %d-byte line", ev, at, len(text))
		}
	})
}
