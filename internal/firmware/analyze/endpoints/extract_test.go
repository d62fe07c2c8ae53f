package endpoints

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// found is the short form of a match the table compares.
type found struct {
	Kind  Kind
	Value string
	Class Class
	Off   int64
}

func (f found) String() string { return fmt.Sprintf("%s %q %s @%d", f.Kind, f.Value, f.Class, f.Off) }

func scanAll(b []byte, binary bool) []Match {
	var out []Match
	ScanBytes(b, Options{Binary: binary}, func(m Match) bool {
		out = append(out, m)
		return true
	})
	return out
}

func short(ms []Match) []found {
	out := []found{}
	for _, m := range ms {
		out = append(out, found{m.Kind, m.Value, m.Class, m.Offset})
	}
	return out
}

var extractCases = []struct {
	name   string
	in     string
	binary bool
	want   []found
}{
	{"public ipv4", "server=8.8.8.8\n", false, []found{{KindIPv4, "8.8.8.8", ClassPublic, 7}}},
	{"private", "ntp 192.168.1.1", false, []found{{KindIPv4, "192.168.1.1", ClassPrivate, 4}}},
	{"sentence end", "connect to 10.0.0.1. Then", false, []found{{KindIPv4, "10.0.0.1", ClassPrivate, 11}}},
	{"with port and prefix", "a 172.16.0.1:8080 b 10.1.0.0/16", false, []found{
		{KindIPv4, "172.16.0.1", ClassPrivate, 2}, {KindIPv4, "10.1.0.0", ClassPrivate, 20}}},
	{"range", "pool 192.168.1.100-192.168.1.200", false, []found{
		{KindIPv4, "192.168.1.100", ClassPrivate, 5}, {KindIPv4, "192.168.1.200", ClassPrivate, 19}}},
	{"version word", "version 4.3.2.1", false, nil},
	{"version word colon", "FW: 9.1.2.3 build", false, nil},
	{"v prefix", "v4.3.2.1", false, nil},
	{"five parts", "1.2.3.4.5 and 4.3.2.1.6", false, nil},
	{"leading zero", "01.02.03.04 10.0.0.01", false, nil},
	{"octet over 255", "256.1.1.1 1.1.1.300", false, nil},
	{"letters around", "a1.1.1.1 1.1.1.1b x_8.8.8.8", false, nil},
	{"netmask", "255.255.255.0 255.255.0.0", false, nil},
	{"broadcast", "255.255.255.255", false, []found{{KindIPv4, "255.255.255.255", ClassBroadcast, 0}}},
	{"unspecified", "bind 0.0.0.0", false, []found{{KindIPv4, "0.0.0.0", ClassUnspecified, 5}}},
	{"cgnat", "100.64.1.1", false, []found{{KindIPv4, "100.64.1.1", ClassCGNAT, 0}}},
	{"link-local", "169.254.1.1", false, []found{{KindIPv4, "169.254.1.1", ClassLinkLocal, 0}}},
	{"multicast", "224.0.0.251", false, []found{{KindIPv4, "224.0.0.251", ClassMulticast, 0}}},
	{"documentation", "203.0.113.5 198.51.100.7", false, []found{
		{KindIPv4, "203.0.113.5", ClassDocumentation, 0}, {KindIPv4, "198.51.100.7", ClassDocumentation, 12}}},
	{"reserved", "240.0.0.1 0.1.2.3", false, []found{
		{KindIPv4, "240.0.0.1", ClassReserved, 0}, {KindIPv4, "0.1.2.3", ClassReserved, 10}}},
	{"loopback", "127.0.0.1", false, []found{{KindIPv4, "127.0.0.1", ClassLoopback, 0}}},
	{"oid", "1.3.101.112 2.5.4.3 2.16.840.1", false, nil},
	{"cloudflare dns", "1.1.1.1", false, []found{{KindIPv4, "1.1.1.1", ClassPublic, 0}}},

	{"ipv6 doc bracket", "[2001:db8::1]:443", false, []found{{KindIPv6, "2001:db8::1", ClassDocumentation, 1}}},
	{"ipv6 link-local zone", "fe80::1%eth0", false, []found{{KindIPv6, "fe80::1", ClassLinkLocal, 0}}},
	{"ipv6 loopback", "host ::1 ", false, []found{{KindIPv6, "::1", ClassLoopback, 5}}},
	{"ipv6 unspecified bracket", "listen [::]:80", false, []found{{KindIPv6, "::", ClassUnspecified, 8}}},
	{"ipv6 bare colons", "a :: b", false, nil},
	{"ipv6 public", "dns 2606:4700:4700::1111", false, []found{{KindIPv6, "2606:4700:4700::1111", ClassPublic, 4}}},
	{"ipv6 mapped", "::ffff:192.0.2.1", false, []found{{KindIPv6, "::ffff:192.0.2.1", ClassDocumentation, 0}}},
	{"ipv6 ula", "fd00:1234::5", false, []found{{KindIPv6, "fd00:1234::5", ClassPrivate, 0}}},
	{"cpp scope", "std::vector Foo::bar a::b", false, nil},
	{"mac", "00:11:22:33:44:55", false, nil},
	{"time", "12:34:56", false, nil},
	{"short hex", "::ffb 1677:: ab:cd::ef", false, nil},

	{"url", "url=http://update.vendor.com/fw.bin\n", false, []found{
		{KindURL, "http://update.vendor.com/fw.bin", ClassPublic, 4}}},
	{"url credentials", "https://user:secret@cloud.vendor.com:8443/x", false, []found{
		{KindURL, "https://user:****@cloud.vendor.com:8443/x", ClassPublic, 0}}},
	{"url format verb", "http://%s/cgi-bin/%s", false, nil},
	{"url ip host", "tftp://192.168.0.10/file", false, []found{{KindURL, "tftp://192.168.0.10/file", ClassPrivate, 0}}},
	{"url ipv6 host", "http://[2001:db8::2]:8080/a", false, []found{{KindURL, "http://[2001:db8::2]:8080/a", ClassDocumentation, 0}}},
	{"url trailing punctuation", "(see http://example.com/a).", false, []found{{KindURL, "http://example.com/a", ClassDocumentation, 5}}},
	{"url upper case", "HTTP://Update.Vendor.COM/Path", false, []found{{KindURL, "http://update.vendor.com/Path", ClassPublic, 0}}},
	{"url local name", "mqtt://broker.lan:1883", false, []found{{KindURL, "mqtt://broker.lan:1883", ClassLocalName, 0}}},
	{"url localhost", "ws://localhost:9000/", false, []found{{KindURL, "ws://localhost:9000/", ClassLoopback, 0}}},
	{"unknown scheme", "gopher://x.com", false, []found{{KindDomain, "x.com", ClassPublic, 9}}},
	{"scheme glued to word", "xhttp://a.com", false, []found{{KindDomain, "a.com", ClassPublic, 8}}},

	{"domain", "server pool.ntp.org iburst", false, []found{{KindDomain, "pool.ntp.org", ClassPublic, 7}}},
	{"file names", "libc.so.6 main.c busybox.sh Makefile.am config.in x.py", false, nil},
	{"ambiguous with www", "www.vendor.sh", false, []found{{KindDomain, "www.vendor.sh", ClassPublic, 0}}},
	{"email", "admin@vendor.io", false, []found{{KindDomain, "vendor.io", ClassPublic, 6}}},
	{"email ambiguous tld", "root@vendor.info", false, []found{{KindDomain, "vendor.info", ClassPublic, 5}}},
	{"js properties", "window.top user.email this.id document.location.host", false, nil},
	{"format verb label", "%s.vendor.com", false, []found{{KindDomain, "vendor.com", ClassPublic, 3}}},
	{"local name", "router.lan fritz.box", false, nil},
	{"doc name upper text", "EXAMPLE.COM", false, []found{{KindDomain, "example.com", ClassDocumentation, 0}}},
	{"numeric sld", "163.com smtp.163.com", false, []found{{KindDomain, "smtp.163.com", ClassPublic, 8}}},
	{"identifier underscore", "my_host.com host.com_x", false, nil},
	{"path after name text", "github.com/netvet/netvet", false, []found{{KindDomain, "github.com", ClassPublic, 0}}},
	{"cctld text", "avm.de", false, []found{{KindDomain, "avm.de", ClassPublic, 0}}},
	{"file path", "cat /etc/issue.net /var/www/vendor.com", false, nil},
	{"protocol-relative", `src="//cdn.vendor.com/ui.js"`, false, []found{{KindDomain, "cdn.vendor.com", ClassPublic, 7}}},

	{"binary upper", "EXAMPLE.COM", true, nil},
	{"binary path after name", "github.com/netvet/netvet", true, nil},
	{"binary go identifiers", "sync.mu fmt.ss rand.kn reflect.flag.ro go.mu", true, nil},
	{"binary cctld", "avm.de", true, nil},
	{"binary cctld www", "www.avm.de", true, []found{{KindDomain, "www.avm.de", ClassPublic, 0}}},
	{"binary cctld second level", "cloud.vendor.com.cn", true, []found{{KindDomain, "cloud.vendor.com.cn", ClassPublic, 0}}},
	{"binary section name", ".data.rel.ro .example.com", true, nil},
	{"binary domain", "pool.ntp.org", true, []found{{KindDomain, "pool.ntp.org", ClassPublic, 0}}},
	{"binary run split", "ab\x0010.0.0.1\x00cd", true, []found{{KindIPv4, "10.0.0.1", ClassPrivate, 3}}},
	{"binary short run", "\x001.2\x00", true, nil},
	{"binary url in strings", "\x00\x01http://203.0.113.9:80/x\x00", true, []found{{KindURL, "http://203.0.113.9:80/x", ClassDocumentation, 2}}},
}

func TestExtract(t *testing.T) {
	for _, c := range extractCases {
		t.Run(c.name, func(t *testing.T) {
			got := short(scanAll([]byte(c.in), c.binary))
			want := c.want
			if want == nil {
				want = []found{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("in %q\n got %v\nwant %v", c.in, got, want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	in := "# comment\n\nserver 8.8.8.8\r\n  url http://a.vendor.com/x\n\x00\n10.0.0.1"
	var lines []int
	ScanBytes([]byte(in), Options{}, func(m Match) bool {
		lines = append(lines, m.Line)
		return true
	})
	if want := []int{3, 4, 6}; !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines %v, want %v", lines, want)
	}
	ScanBytes([]byte(in), Options{Binary: true}, func(m Match) bool {
		if m.Line != 0 {
			t.Errorf("binary mode line %d", m.Line)
		}
		return true
	})
}

func TestURLFlags(t *testing.T) {
	ms := scanAll([]byte("https://user:pw@h.vendor.com/ ftp://TOKENTOKENTOKEN99@files.vendor.com/"), false)
	if len(ms) != 2 {
		t.Fatalf("matches %v", short(ms))
	}
	if !ms[0].Credentials || ms[0].Scheme != "https" || ms[0].Host != "h.vendor.com" {
		t.Errorf("first %+v", ms[0])
	}
	if ms[1].Value != "ftp://TOKE****@files.vendor.com/" || strings.Contains(ms[1].Value, "TOKENTOKEN") {
		t.Errorf("token not redacted: %q", ms[1].Value)
	}
}

// TestLongRun checks runs longer than maxRun: endpoints near the cut are
// found once, at the right offset.
func TestLongRun(t *testing.T) {
	var b bytes.Buffer
	var want []found
	for b.Len() < 3*maxRun {
		want = append(want, found{KindIPv4, "8.8.4.4", ClassPublic, int64(b.Len() + 5)})
		b.WriteString("xxxx 8.8.4.4 ")
		b.WriteString(strings.Repeat("y", 997))
		b.WriteByte(' ')
	}
	got := short(scanAll(b.Bytes(), true))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%d matches, want %d (first diff at %v)", len(got), len(want), firstDiff(got, want))
	}
	// A run with no blank at all is cut hard and still scanned.
	hard := bytes.Repeat([]byte("z"), 2*maxRun+10)
	copy(hard[maxRun+100:], "-8.8.8.8-")
	if got := short(scanAll(hard, true)); len(got) != 1 || got[0].Off != maxRun+101 {
		t.Fatalf("no-blank run: %v", got)
	}
}

func firstDiff(a, b []found) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%d: %v vs %v", i, a[i], b[i])
		}
	}
	return "length"
}

// TestReadSizes checks that results do not depend on how the reader
// splits the data.
func TestReadSizes(t *testing.T) {
	var b bytes.Buffer
	for _, c := range extractCases {
		b.WriteString(c.in)
		b.WriteString("\n")
	}
	b.Write(bytes.Repeat([]byte("a"), maxRun+7))
	b.WriteString(" 8.8.8.8\n")
	for _, binary := range []bool{false, true} {
		whole := scanAll(b.Bytes(), binary)
		var bytewise []Match
		Scan(iotest.OneByteReader(bytes.NewReader(b.Bytes())), Options{Binary: binary}, 0, func(m Match) bool {
			bytewise = append(bytewise, m)
			return true
		})
		if !reflect.DeepEqual(whole, bytewise) {
			t.Errorf("binary=%v: whole %d matches, byte by byte %d", binary, len(whole), len(bytewise))
		}
		if len(whole) < 40 {
			t.Errorf("binary=%v: only %d matches", binary, len(whole))
		}
	}
}

func TestStopAndLimit(t *testing.T) {
	in := []byte("1.1.1.1 8.8.8.8 9.9.9.9")
	n := 0
	ScanBytes(in, Options{}, func(Match) bool { n++; return false })
	if n != 1 {
		t.Errorf("callback ran %d times after asking to stop", n)
	}
	var got []string
	read, err := Scan(bytes.NewReader(in), Options{}, 10, func(m Match) bool {
		got = append(got, m.Value)
		return true
	})
	if err != nil || read != 10 || !reflect.DeepEqual(got, []string{"1.1.1.1"}) {
		t.Errorf("max 10 bytes: read %d, %v, %v", read, got, err)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Class
	}{
		{"8.8.8.8", ClassPublic}, {"10.1.2.3", ClassPrivate}, {"172.31.255.255", ClassPrivate}, {"172.32.0.1", ClassPublic},
		{"192.168.0.1", ClassPrivate}, {"127.1.2.3", ClassLoopback}, {"169.254.0.1", ClassLinkLocal},
		{"192.0.2.1", ClassDocumentation}, {"198.51.100.1", ClassDocumentation}, {"203.0.113.1", ClassDocumentation},
		{"224.0.0.1", ClassMulticast}, {"239.255.255.250", ClassMulticast}, {"0.0.0.0", ClassUnspecified},
		{"255.255.255.255", ClassBroadcast}, {"100.64.0.1", ClassCGNAT}, {"100.127.255.255", ClassCGNAT},
		{"100.128.0.1", ClassPublic}, {"0.0.0.1", ClassReserved}, {"240.0.0.1", ClassReserved},
		{"192.0.0.8", ClassReserved}, {"198.18.0.1", ClassReserved},
		{"::1", ClassLoopback}, {"::", ClassUnspecified}, {"fe80::1", ClassLinkLocal}, {"fc00::1", ClassPrivate},
		{"fd12::1", ClassPrivate}, {"ff02::1", ClassMulticast}, {"2001:db8::1", ClassDocumentation},
		{"3fff::1", ClassDocumentation}, {"2001:4860:4860::8888", ClassPublic}, {"::ffff:10.0.0.1", ClassPrivate},
	} {
		if got := ClassifyAddr(netip.MustParseAddr(c.in)); got != c.want {
			t.Errorf("ClassifyAddr(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		want Class
	}{
		{"pool.ntp.org", ClassPublic}, {"example.com", ClassDocumentation}, {"a.example.net", ClassDocumentation},
		{"x.test", ClassDocumentation}, {"x.invalid", ClassDocumentation}, {"localhost", ClassLoopback},
		{"a.localhost", ClassLoopback}, {"router.lan", ClassLocalName}, {"intranet", ClassLocalName},
		{"vendor.sh", ClassPublic}, {"fritz.box", ClassLocalName},
	} {
		if got := ClassifyName(c.in); got != c.want {
			t.Errorf("ClassifyName(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestTLDLists(t *testing.T) {
	seen := map[string]bool{}
	for _, list := range []string{coreTLDs, ambiguousTLDs} {
		for _, tld := range strings.Fields(list) {
			if seen[tld] {
				t.Errorf("%s listed twice", tld)
			}
			seen[tld] = true
			if strings.ToLower(tld) != tld {
				t.Errorf("%s not lower case", tld)
			}
		}
	}
	for _, ext := range []string{"so", "sh", "py", "pl", "in", "am", "mk", "md", "cc", "info", "top", "email", "host"} {
		if tldKind(ext) != tldAmbiguous {
			t.Errorf("%s should be ambiguous", ext)
		}
	}
	for _, notTLD := range []string{"c", "h", "o", "js", "ko", "conf", "lan", "local", "arpa", "localdomain"} {
		if tldKind(notTLD) != tldNone {
			t.Errorf("%s should not be a TLD", notTLD)
		}
	}
}
