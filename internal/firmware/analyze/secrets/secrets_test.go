package secrets

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func analyze(t testing.TB, a firmware.Analyzer, tr *firmware.Tree) []firmware.Finding {
	t.Helper()
	var got []firmware.Finding
	if err := a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) { got = append(got, f) })); err != nil {
		t.Fatal(err)
	}
	return got
}

func keys(fs []firmware.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d", f.Rule, f.FSPath, f.Line))
	}
	sort.Strings(out)
	return out
}

// secretsIn lists the secret values of the test files; none may appear in
// evidence.
var secretsIn = []string{
	"Sup3rS3cret!", "s:abcde", "n0t-default", "isp-pass-123", "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
	"acs-S3cret", "connreq-pw", "correct horse battery", "eap-pass", "LabPass1234", "s3cr3tcomm", "authpass123",
	"privpass123", "chap-pw", "peerpass", "Adm1nPass", "r00t", "acsPass1", "crPass1", "pppPass1", "wifiPass1",
	"webPass1", "hunter22", "AKIAZ3MHXQ2TR7YDLK5P", "ghp_4bN8xQ2mZ7kR1vT9yL3wP6sJ0hF5cD8gA2eU", "Xk9#mQ2$vL7pR4wZ",
}

func TestFirmwareRules(t *testing.T) {
	cases := []struct {
		name     string
		entries  []fwtest.FSEntry
		want     []string
		evidence map[string]string
	}{{
		name: "UCI wireless",
		entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/config/wireless", `config wifi-device 'radio0'
	option type 'mac80211'

config wifi-iface 'default_radio0'
	option device 'radio0'
	option ssid 'OpenWrt-Guest'
	option encryption 'psk2'
	option key 'Sup3rS3cret!'
config wifi-iface 'wep'
	option encryption 'wep-open'
	option key '1'
	option key1 's:abcde'
config wifi-iface 'open'
	option encryption 'none'
	option key ''
`, 0o600)},
		want: []string{"NV-SECRET-003 /etc/config/wireless:12", "NV-SECRET-003 /etc/config/wireless:8"},
		evidence: map[string]string{
			"NV-SECRET-003": `option key 'Sup*********' (SSID "OpenWrt-Guest", encryption psk2)`,
		},
	}, {
		name: "UCI snmpd",
		entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/config/snmpd", `config agent
	option agentaddress UDP:161

config com2sec public
	option secname ro
	option source default
	option community public

config com2sec private
	option secname rw
	option source localhost
	option community 'n0t-default'
`, 0o644)},
		want:     []string{"NV-SECRET-004 /etc/config/snmpd:7", "NV-SECRET-005 /etc/config/snmpd:12"},
		evidence: map[string]string{"NV-SECRET-004": "option community p***** (config com2sec)"},
	}, {
		name: "UCI network: PPPoE and WireGuard",
		entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/config/network", `config interface 'lan'
	option proto 'static'
	option ipaddr '192.168.1.1'

config interface 'wan'
	option proto 'pppoe'
	option username 'user@isp'
	option password 'isp-pass-123'

config interface 'wg0'
	option proto 'wireguard'
	option private_key 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='
`, 0o600)},
		want:     []string{"NV-SECRET-006 /etc/config/network:12", "NV-SECRET-007 /etc/config/network:8"},
		evidence: map[string]string{"NV-SECRET-007": `option password 'isp*********' (interface wan, proto pppoe, username "user@isp")`},
	}, {
		name: "UCI TR-069 client",
		entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/config/easycwmp", `config acs 'acs'
	option url 'http://acs.isp.example:7547/'
	option username 'cpe'
	option password 'acs-S3cret'
config local 'local'
	option username 'easycwmp'
	option password "connreq-pw"
`, 0o600)},
		want:     []string{"NV-SECRET-008 /etc/config/easycwmp:4", "NV-SECRET-008 /etc/config/easycwmp:7"},
		evidence: map[string]string{"NV-SECRET-008": `option password 'ac********' (config acs, url "http://acs.isp.example:7547/")`},
	}, {
		name: "wpa_supplicant and hostapd",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/wpa_supplicant.conf", `ctrl_interface=/var/run/wpa_supplicant
network={
	ssid="Office"
	psk="correct horse battery"
}
network={
	ssid="Corp"
	key_mgmt=WPA-EAP
	identity="bob"
	password="eap-pass"
}
`, 0o600),
			fwtest.FileEntry("/etc/hostapd/lab.conf", "interface=wlan0\nssid=Lab\nwpa_passphrase=LabPass1234\n", 0o600),
		},
		want: []string{"NV-SECRET-003 /etc/hostapd/lab.conf:3", "NV-SECRET-003 /etc/wpa_supplicant.conf:10", "NV-SECRET-003 /etc/wpa_supplicant.conf:4"},
	}, {
		name: "snmpd.conf",
		entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/snmp/snmpd.conf",
			"rocommunity public\nrwcommunity private 0.0.0.0/0\ncom2sec local localhost s3cr3tcomm\ncreateUser admin SHA \"authpass123\" AES \"privpass123\"\nrocommunity $COMMUNITY\n", 0o600)},
		want: []string{
			"NV-SECRET-004 /etc/snmp/snmpd.conf:1", "NV-SECRET-004 /etc/snmp/snmpd.conf:2", "NV-SECRET-005 /etc/snmp/snmpd.conf:3",
			"NV-SECRET-006 /etc/snmp/snmpd.conf:4", "NV-SECRET-006 /etc/snmp/snmpd.conf:4",
		},
		evidence: map[string]string{"NV-SECRET-004": "rwcommunity p****** 0.0.0.0/0 (rwcommunity)"},
	}, {
		name: "pppd secrets and peers",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/ppp/chap-secrets", "# client server secret IP\n\"isp-user\" * \"chap-pw\" *\n", 0o600),
			fwtest.FileEntry("/etc/ppp/peers/isp", "user isp-user\npassword peerpass\n", 0o600),
		},
		want: []string{"NV-SECRET-007 /etc/ppp/chap-secrets:2", "NV-SECRET-007 /etc/ppp/peers/isp:2"},
	}, {
		name: "key=value configuration",
		entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/app.conf",
			"admin_password=Adm1nPass\npassword_min_length=8\nlog_file=/var/log\nroot_pwd = \"r00t\"\npassword=$PASSWORD\n# password=commented\nuser_passwd: ********\n", 0o644)},
		want:     []string{"NV-SECRET-006 /etc/app.conf:1", "NV-SECRET-006 /etc/app.conf:4"},
		evidence: map[string]string{"NV-SECRET-006": `root_pwd = "r***"`},
	}, {
		name: "TR-069 style XML",
		entries: []fwtest.FSEntry{fwtest.FileEntry("/etc/defaults/cfg.xml", `<InternetGatewayDevice>
<ManagementServer>
<URL>http://acs.example/</URL>
<Username>cpe</Username>
<Password>acsPass1</Password>
<ConnectionRequestPassword>crPass1</ConnectionRequestPassword>
</ManagementServer>
<WANPPPConnection><Username>u</Username><Password>pppPass1</Password></WANPPPConnection>
<WLANConfiguration><KeyPassphrase>wifiPass1</KeyPassphrase></WLANConfiguration>
<X_HW_WebUserInfo UserName="admin" Password="webPass1"/>
<!-- example:
<Password>commented</Password> -->
</InternetGatewayDevice>
`, 0o644)},
		want: []string{
			"NV-SECRET-003 /etc/defaults/cfg.xml:9", "NV-SECRET-006 /etc/defaults/cfg.xml:10", "NV-SECRET-007 /etc/defaults/cfg.xml:8",
			"NV-SECRET-008 /etc/defaults/cfg.xml:5", "NV-SECRET-008 /etc/defaults/cfg.xml:6",
		},
		evidence: map[string]string{"NV-SECRET-008": "<Password>ac******</Password> (element Password, inside ManagementServer)"},
	}, {
		name: "scripts, code and binaries",
		entries: []fwtest.FSEntry{
			fwtest.FileEntry("/etc/init.d/svc", "#!/bin/sh\nADMIN_PASS=\"hunter22\"\nPASSWORD=$1\necho \"password=$x\"\nlogin -p password=abc\n", 0o755),
			fwtest.FileEntry("/usr/bin/tool", "\x7fELF\x01\x01password=binarypass\n", 0o755),
			fwtest.FileEntry("/www/app.js", "var cfg = {password: \"jspass\"};\n", 0o644),
		},
		want:     []string{"NV-SECRET-006 /etc/init.d/svc:2"},
		evidence: map[string]string{"NV-SECRET-006": `ADMIN_PASS="hu******" (shell variable ADMIN_PASS)`},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := fwtest.FS(t, c.entries...)
			got := analyze(t, NewWithOptions(Options{NoGitleaks: true}), tr)
			sort.Strings(c.want)
			if k := keys(got); !reflect.DeepEqual(k, c.want) {
				t.Errorf("findings:\n got %q\nwant %q", k, c.want)
			}
			for _, f := range got {
				t.Logf("%s %s:%d@%d %s", f.Rule, f.FSPath, f.Line, f.Offset, f.Evidence)
				checkFinding(t, tr, f)
			}
			for rule, want := range c.evidence {
				found := false
				for _, f := range got {
					if f.Rule == rule && strings.Contains(f.Evidence, want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no %s finding with evidence containing %q", rule, want)
				}
			}
		})
	}
}

// checkFinding checks what every finding must hold: no secret in the
// evidence, and an offset at which the file holds the evidence's first
// bytes (up to the redaction), so that a reader can find it by hand.
func checkFinding(t *testing.T, tr *firmware.Tree, f firmware.Finding) {
	t.Helper()
	for _, s := range secretsIn {
		if strings.Contains(f.Evidence, s) {
			t.Errorf("%s: evidence shows %q: %s", f.Rule, s, f.Evidence)
		}
	}
	if f.Analyzer != "secrets" || f.Title == "" || f.Rationale == "" || f.Line <= 0 {
		t.Errorf("%s: incomplete finding %+v", f.Rule, f)
	}
	data, err := tr.ReadFile(tr.File(f.Path), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ev := strings.TrimPrefix(strings.TrimPrefix(f.Evidence, "gitleaks rule "), "...")
	if i := strings.Index(ev, ": "); strings.HasPrefix(f.Evidence, "gitleaks rule ") && i >= 0 {
		ev = ev[i+2:]
	}
	prefix := ev[:strings.IndexAny(ev+"*", "*")]
	if len(prefix) > 0 && prefix[len(prefix)-1] != '*' {
		if f.Offset < 0 || int(f.Offset)+len(prefix) > len(data) || string(data[f.Offset:int(f.Offset)+len(prefix)]) != prefix {
			t.Errorf("%s: file at offset %d does not hold %q", f.Rule, f.Offset, prefix)
		}
	}
}

func TestGitleaks(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n"
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/cloud/agent.ini", "[aws]\nregion = eu-west-1\naws_access_key_id = AKIAZ3MHXQ2TR7YDLK5P\n", 0o600),
		fwtest.FileEntry("/usr/share/updater/token.sh", "#!/bin/sh\ncurl -H \"Authorization: token ghp_4bN8xQ2mZ7kR1vT9yL3wP6sJ0hF5cD8gA2eU\" https://api.github.com/\n", 0o755),
		fwtest.FileEntry("/etc/ssl/key.pem", pem, 0o600),
		fwtest.FileEntry("/etc/config/system", "config system\n\toption hostname 'router'\n\toption password 'Xk9#mQ2$vL7pR4wZ'\n", 0o600),
	)
	got := analyze(t, New(), tr)
	want := []string{
		"NV-SECRET-001 /etc/cloud/agent.ini:3",
		"NV-SECRET-001 /usr/share/updater/token.sh:2",
		"NV-SECRET-006 /etc/config/system:3",
	}
	if k := keys(got); !reflect.DeepEqual(k, want) {
		t.Errorf("got %q\nwant %q", k, want)
	}
	for _, f := range got {
		t.Logf("%s %s:%d@%d %s", f.Rule, f.FSPath, f.Line, f.Offset, f.Evidence)
		checkFinding(t, tr, f)
		if f.Rule == "NV-SECRET-001" && !strings.HasPrefix(f.Evidence, "gitleaks rule ") {
			t.Errorf("evidence without the gitleaks rule: %s", f.Evidence)
		}
	}
}

// TestCleanControl runs the analyser, gitleaks included, on the text
// files of a sound image. Nothing may be reported.
func TestCleanControl(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/config/network", "config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n", 0o644),
		fwtest.FileEntry("/etc/config/wireless", "config wifi-iface\n\toption ssid 'Setup'\n\toption encryption 'none'\n", 0o644),
		fwtest.FileEntry("/etc/config/system", "config system\n\toption hostname 'router'\n\toption timezone 'UTC'\n", 0o644),
		fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/ash\n", 0o644),
		fwtest.FileEntry("/etc/init.d/network", "#!/bin/sh\n. /lib/functions.sh\nconfig_get password \"$1\" password\n[ -n \"$password\" ] && echo \"password=$password\" >> /var/run/x.conf\n", 0o755),
		fwtest.FileEntry("/www/index.html", "<form><input type=\"password\" name=\"password\" value=\"\"></form>\n", 0o644),
		fwtest.FileEntry("/etc/sysctl.conf", "net.ipv4.ip_forward=1\nkernel.panic=3\n", 0o644),
		fwtest.FileEntry("/etc/login.defs", "PASS_MAX_DAYS 99999\nENCRYPT_METHOD SHA512\npassword_min_length=12\n", 0o644),
	)
	for _, f := range analyze(t, New(), tr) {
		t.Errorf("%s %s:%d %s", f.Rule, f.FSPath, f.Line, f.Evidence)
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	id := regexp.MustCompile(`^NV-SECRET-\d{3}$`)
	if info.Name != "secrets" || len(info.Rules) != 8 {
		t.Fatalf("info %+v", info)
	}
	for _, r := range info.Rules {
		if !id.MatchString(r.ID) || r.Title == "" || r.Rationale == "" || r.Severity == firmware.SeverityUnknown {
			t.Errorf("bad rule %+v", r)
		}
	}
	firmware.NewAnalyzerRegistry(New())
}

func TestDeterministic(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/config/wireless", "config wifi-iface\n\toption key 'Sup3rS3cret!'\n", 0o600),
		fwtest.FileEntry("/etc/snmpd.conf", "rocommunity public\n", 0o600),
		fwtest.FileEntry("/etc/cloud/agent.ini", "aws_access_key_id = AKIAZ3MHXQ2TR7YDLK5P\n", 0o600),
	)
	a, b := analyze(t, New(), tr), analyze(t, New(), tr)
	if !reflect.DeepEqual(a, b) || len(a) != 3 {
		t.Errorf("runs differ or miss findings: %q %q", keys(a), keys(b))
	}
}

// TestConcurrent runs analysers at the same time, as a scan of several
// images may: the shared gitleaks detector is built once and used by one
// file at a time (run with -race).
func TestConcurrent(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/cloud/agent.ini", "aws_access_key_id = AKIAZ3MHXQ2TR7YDLK5P\n", 0o600),
		fwtest.FileEntry("/etc/snmpd.conf", "rocommunity public\n", 0o600),
	)
	want := keys(analyze(t, New(), tr))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []firmware.Finding
			var mu sync.Mutex
			err := New().Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) {
				mu.Lock()
				got = append(got, f)
				mu.Unlock()
			}))
			if k := keys(got); err != nil || !reflect.DeepEqual(k, want) {
				errs <- fmt.Sprintf("%v %q", err, k)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
