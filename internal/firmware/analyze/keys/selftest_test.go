package keys

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestGnuTLSSelfTestKeys: Debian 12's libgnutls carries three private
// keys for its self-tests. In the library they are NV-KEY-001-free
// NV-KEY-010 info findings; the same PEM block copied to
// /etc/ssl/private stays a high NV-KEY-001 with a note.
func TestGnuTLSSelfTestKeys(t *testing.T) {
	const lib = "/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3"
	data, err := os.ReadFile(lib)
	if err != nil {
		t.Skipf("needs Debian 12's libgnutls30 (3.7.9): %v", err)
	}
	begin := strings.Index(string(data), "-----BEGIN RSA PRIVATE KEY-----")
	end := strings.Index(string(data), "-----END RSA PRIVATE KEY-----")
	if begin < 0 || end < begin {
		t.Skip("this libgnutls has no PEM RSA self-test key")
	}
	pem := string(data[begin:end]) + "-----END RSA PRIVATE KEY-----\n"
	tr := fwtest.FS(t,
		fwtest.FileEntry("/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3", string(data), 0o644),
		fwtest.FileEntry("/etc/ssl/private/server.key", pem, 0o600),
	)
	var got []firmware.Finding
	if err := New().Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) { got = append(got, f) })); err != nil {
		t.Fatal(err)
	}
	libTest, keyHigh := 0, 0
	for _, g := range got {
		t.Logf("%s %s %s %d %s", g.Rule, g.Severity, g.FSPath, g.Offset, g.Evidence)
		switch {
		case strings.HasPrefix(g.FSPath, "/usr/lib/") && g.Severity > firmware.SeverityInfo:
			t.Errorf("self-test key in its library reported as %s %s", g.Rule, g.Severity)
		case strings.HasPrefix(g.FSPath, "/usr/lib/") && g.Rule == "NV-KEY-010":
			libTest++
		case g.FSPath == "/etc/ssl/private/server.key" && g.Rule == "NV-KEY-001" && strings.Contains(g.Evidence, "published GnuTLS RSA self-test key"):
			keyHigh++
		}
	}
	if libTest == 0 || keyHigh != 1 {
		t.Errorf("got %d NV-KEY-010 in the library, %d NV-KEY-001 with the note in /etc/ssl/private; want >0 and 1", libTest, keyHigh)
	}
}
