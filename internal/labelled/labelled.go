// Package labelled builds firmware images with known, planted indicators
// of every family the scan looks for, and clean control images with none.
// Tests measure the scan's recall per rule on the planted images and its
// false positives on the controls. TestWriteImages writes a set of them
// for inspection when NETVET_LABELLED_OUT names a folder.
package labelled

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/firmware/format/trx"
	"github.com/netvet/netvet/internal/firmware/format/uimage"
)

// Label is one planted indicator: the scan should report a finding of
// Rule (or, when Rule is empty, any rule of Analyzer) at FSPath.
type Label struct {
	Family   string `json:"family"`
	Analyzer string `json:"analyzer"`
	Rule     string `json:"rule,omitempty"`
	FSPath   string `json:"fs_path"`
	What     string `json:"what"`
}

// Image is a generated image and what was planted in it.
type Image struct {
	Name   string
	Data   []byte
	Labels []Label
	// Clean is true for a control image: no critical or high finding is
	// expected.
	Clean bool
}

type entry struct {
	path string
	data []byte
	mode fs.FileMode // perm | setuid | setgid | sticky
	uid  int
	link string
	dir  bool
}

type rootfs struct {
	entries map[string]*entry
	labels  []Label
	rng     *rand.Rand
}

func newRootfs(seed uint64) *rootfs {
	return &rootfs{entries: map[string]*entry{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (r *rootfs) file(p string, mode fs.FileMode, data string) {
	r.entries[p] = &entry{path: p, data: []byte(data), mode: mode}
}

func (r *rootfs) bin(p string, mode fs.FileMode, data []byte) {
	r.entries[p] = &entry{path: p, data: data, mode: mode}
}

// appendLine adds a line to a text file laid down earlier.
func (r *rootfs) appendLine(p, line string) {
	e := r.entries[p]
	e.data = append(e.data, line+"\n"...)
}

func (r *rootfs) symlink(p, target string) {
	r.entries[p] = &entry{path: p, link: target, mode: 0o777}
}

func (r *rootfs) plant(family, analyzer, rule, fspath, what string) {
	r.labels = append(r.labels, Label{Family: family, Analyzer: analyzer, Rule: rule, FSPath: fspath, What: what})
}

// word returns a random lowercase word, for names that vary per image.
func (r *rootfs) word(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.rng.IntN(26))
	}
	return string(b)
}

// base lays down an ordinary, safe embedded Linux root filesystem.
func (r *rootfs) base() {
	r.bin("/bin/busybox", 0o755, elfImage(elfSpec{machine: elfMIPS, bigEndian: true, nx: true, strings: []string{
		"BusyBox v1.36.1 (2026-03-01 10:00:00 UTC)", "ash", "sh", "ls", "cat", "mount", "ifconfig", "udhcpc",
	}}))
	for _, a := range []string{"/bin/sh", "/bin/ash", "/bin/ls", "/bin/cat", "/bin/mount"} {
		r.symlink(a, "busybox")
	}
	r.symlink("/sbin/init", "../bin/busybox")
	r.bin("/usr/sbin/dropbear", 0o755, elfImage(elfSpec{machine: elfMIPS, bigEndian: true, nx: true, pie: true, relro: true, strings: []string{
		"Dropbear SSH server v2025.88", "dropbear_2025.88", "/etc/dropbear/dropbear_rsa_host_key",
	}}))
	r.file("/etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/ash\ndaemon:*:1:1:daemon:/var:/bin/false\nnobody:*:65534:65534:nobody:/var:/bin/false\n")
	// A SHA-512 crypt hash of a long random password: not crackable, not weak.
	r.file("/etc/shadow", 0o600, "root:$6$Wq3v8Zr1$k0l9QYtVnY6M1pZ3Xl3m2o1u8y5h7j4g3f2d1s0a9q8w7e6r5t4y3u2i1o0p9l8k7j6h5g4f3d2s1a0zZyYxXwWvV:19000:0:99999:7:::\ndaemon:*:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n")
	r.file("/etc/group", 0o644, "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n")
	r.file("/etc/inittab", 0o644, "::sysinit:/etc/init.d/rcS\n::shutdown:/bin/umount -a -r\nttyS0::askfirst:/bin/login\n")
	r.file("/etc/init.d/rcS", 0o755, "#!/bin/sh\nmount -t proc proc /proc\nfor i in /etc/init.d/S??*; do\n  [ -x \"$i\" ] && \"$i\" start\ndone\n")
	r.file("/etc/init.d/S50dropbear", 0o755, "#!/bin/sh\n# key-only SSH for the operator's management network\n/usr/sbin/dropbear -s -g -p 192.168.1.1:22\n")
	r.file("/etc/config/network", 0o644, "config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n")
	r.file("/etc/hostname", 0o644, "router-"+r.word(4)+"\n")
	r.file("/etc/version", 0o644, "1.4."+fmt.Sprint(r.rng.IntN(90)+10)+"\n")
	r.file("/www/index.html", 0o644, "<html><body>Router management</body></html>\n")
	for _, d := range []string{"/tmp", "/var", "/proc", "/dev", "/root", "/lib"} {
		r.entries[d] = &entry{path: d, dir: true, mode: 0o755}
	}
	r.entries["/tmp"].mode = 0o777 | fs.ModeSticky
}

// indicator plants one indicator into a root filesystem.
type indicator struct {
	name  string
	plant func(r *rootfs)
}

var indicators = []indicator{
	{"empty root password", func(r *rootfs) {
		r.file("/etc/shadow", 0o600, "root::19000:0:99999:7:::\ndaemon:*:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n")
		r.plant("accounts", "accounts", "NV-ACCT-001", "/etc/shadow", "root has an empty password")
	}},
	{"extra uid 0 account", func(r *rootfs) {
		name := "svc" + r.word(3)
		r.appendLine("/etc/passwd", name+":x:0:0::/root:/bin/sh")
		r.plant("accounts", "accounts", "NV-ACCT-004", "/etc/passwd", "second UID 0 account "+name)
	}},
	{"default credential (DES crypt of 'admin')", func(r *rootfs) {
		// crypt("admin", "ab") in traditional DES crypt.
		r.appendLine("/etc/passwd", "admin:abOV.DfJmdnYw:1000:1000::/home/admin:/bin/sh")
		r.plant("accounts", "accounts", "NV-ACCT-003", "/etc/passwd", "admin/admin with a DES hash")
	}},
	{"private key", func(r *rootfs) {
		r.file("/etc/ssl/private/vendor.key", 0o600, testRSAKey)
		r.plant("keys", "keys", "NV-KEY-001", "/etc/ssl/private/vendor.key", "RSA private key shared by every unit")
	}},
	{"authorized_keys", func(r *rootfs) {
		r.file("/etc/dropbear/authorized_keys", 0o600, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0nQ6w3R7kX6mWq3m0N9z2cQ2rJ4lV8yH5pT1uB7sD vendor-support@factory\n")
		r.plant("keys", "keys", "NV-KEY-004", "/etc/dropbear/authorized_keys", "vendor key allowed to log in as root")
	}},
	{"telnetd root shell at boot", func(r *rootfs) {
		r.bin("/bin/busybox", 0o755, elfImage(elfSpec{machine: elfMIPS, bigEndian: true, nx: true, strings: []string{
			"BusyBox v1.36.1 (2026-03-01 10:00:00 UTC)", "ash", "sh", "telnetd", "login",
		}}))
		r.symlink("/usr/sbin/telnetd", "../../bin/busybox")
		r.file("/etc/inittab", 0o644, "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F -l /bin/sh -p 2323\n::shutdown:/bin/umount -a -r\n")
		r.plant("remote access", "services", "NV-SVC-001", "/etc/inittab", "telnetd with a login-less shell started by inittab")
	}},
	{"hard-coded public endpoint", func(r *rootfs) {
		host := "update." + r.word(6) + ".com"
		r.file("/etc/config/cwmp", 0o644, "config acs 'acs'\n\toption url 'http://"+host+":7547/acs'\n\toption periodic_interval '3600'\n")
		r.plant("endpoints", "endpoints", "NV-NET-002", "/etc/config/cwmp", "TR-069 ACS at "+host)
	}},
	{"wifi key and snmp community", func(r *rootfs) {
		r.file("/etc/snmp/snmpd.conf", 0o600, "agentAddress udp:161\nrwcommunity private default\nsysLocation lab\n")
		r.plant("secrets", "secrets", "NV-SECRET-004", "/etc/snmp/snmpd.conf", "SNMP read-write community 'private'")
	}},
	{"documented backdoor string", func(r *rootfs) {
		r.bin("/usr/sbin/httpd", 0o755, elfImage(elfSpec{machine: elfMIPS, bigEndian: true, nx: true, strings: []string{
			"HTTP/1.1 200 OK", "User-Agent", "xmlset_roodkcableoj28840ybtide", "/cgi-bin/",
		}}))
		r.plant("backdoor markers", "backdoor", "NV-BD-001", "/usr/sbin/httpd", "D-Link alpha backdoor User-Agent")
	}},
	{"hidden setuid shell", func(r *rootfs) {
		dir := "/usr/lib/." + r.word(5)
		r.bin(dir+"/sh", 0o755|fs.ModeSetuid, elfImage(elfSpec{machine: elfMIPS, bigEndian: true, nx: true, strings: []string{"sh", "-c"}}))
		r.plant("file system", "fsperm", "NV-FS-002", dir+"/sh", "setuid root shell in a hidden folder")
	}},
	{"unsigned plain-http update", func(r *rootfs) {
		r.file("/usr/sbin/fw-update.sh", 0o755, "#!/bin/sh\nwget -O /tmp/fw.bin http://firmware."+r.word(5)+".net/latest.bin\nmtd write /tmp/fw.bin firmware\nreboot\n")
		r.plant("file system", "fsperm", "NV-FS-012", "/usr/sbin/fw-update.sh", "firmware fetched over plain HTTP and flashed unverified")
	}},
	{"executable stack", func(r *rootfs) {
		r.bin("/usr/bin/diagd", 0o755, elfImage(elfSpec{machine: elfARM, nx: false, strings: []string{"diagd 1.0", "/dev/ttyS0"}}))
		r.plant("binaries", "elf", "NV-ELF-002", "/usr/bin/diagd", "ELF with an executable stack")
	}},
	{"world-writable boot script", func(r *rootfs) {
		r.file("/etc/init.d/S95custom", 0o777, "#!/bin/sh\n/usr/bin/logger custom start\n")
		r.plant("file system", "fsperm", "NV-FS-007", "/etc/init.d/S95custom", "boot script any user can rewrite")
	}},
	{"reverse shell from cron", func(r *rootfs) {
		r.file("/etc/crontabs/root", 0o600, "*/5 * * * * /usr/bin/nc -l -p 4444 -e /bin/sh\n")
		r.bin("/usr/bin/nc", 0o755, elfImage(elfSpec{machine: elfMIPS, bigEndian: true, nx: true, strings: []string{"nc", "listen", "-e prog"}}))
		r.plant("remote access", "services", "", "/etc/crontabs/root", "netcat shell listener started by cron")
	}},
}

// Generate builds a planted image: every indicator family, in a random
// order of packaging, with names that vary by seed.
func Generate(seed uint64) Image {
	r := newRootfs(seed)
	r.base()
	for _, ind := range indicators {
		ind.plant(r)
	}
	sort.Slice(r.labels, func(i, j int) bool { return r.labels[i].FSPath < r.labels[j].FSPath })
	return Image{Name: fmt.Sprintf("planted-%d.bin", seed), Data: r.pack(seed), Labels: r.labels}
}

// Control builds a clean image: the same base system, no indicator.
func Control(seed uint64) Image {
	r := newRootfs(seed)
	r.base()
	return Image{Name: fmt.Sprintf("control-%d.bin", seed), Data: r.pack(seed), Clean: true}
}

// Indicators returns the number of indicators Generate plants.
func Indicators() int { return len(indicators) }

var epoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// pack writes the root filesystem as a tar, then wraps it in one of the
// layouts vendors use, chosen by seed.
func (r *rootfs) pack(seed uint64) []byte {
	var paths []string
	for p := range r.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	dirs := map[string]bool{}
	var mkdirs func(d string)
	mkdirs = func(d string) {
		if d == "/" || dirs[d] {
			return
		}
		mkdirs(path.Dir(d))
		dirs[d] = true
		mode := int64(0o755)
		if e := r.entries[d]; e != nil && e.dir {
			mode = int64(tarMode(e.mode))
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: mode, ModTime: epoch, Format: tar.FormatPAX})
	}
	for _, p := range paths {
		e := r.entries[p]
		if e.dir {
			mkdirs(p)
			continue
		}
		mkdirs(path.Dir(p))
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: int64(tarMode(e.mode)), Uid: e.uid, ModTime: epoch, Format: tar.FormatPAX}
		if e.link != "" {
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		tw.WriteHeader(h)
		if e.link == "" {
			tw.Write(e.data)
		}
	}
	tw.Close()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.ModTime = epoch
	zw.Write(tb.Bytes())
	zw.Close()
	kernel := append([]byte("Linux version 5.10.176 (builder@factory) (gcc version 12.2.0) #1 SMP Sun Mar 1 10:00:00 UTC 2026\n"), bytes.Repeat([]byte{0}, 4096)...)
	switch seed % 3 {
	case 0: // a TRX holding a kernel and the compressed root filesystem
		return trx.Build([][]byte{kernel, gz.Bytes()})
	case 1: // a multi-file uImage
		return uimage.BuildMulti(uimage.Header{Name: "rootfs", Arch: 5, OS: 5, Type: 4, Comp: 0, Load: 0x80008000, Entry: 0x80008000, Time: epoch},
			[][]byte{kernel, gz.Bytes()})
	default: // a bare tar.gz behind a vendor header of padding
		out := append(make([]byte, 512), gz.Bytes()...)
		copy(out, "VENDORFW")
		binary.BigEndian.PutUint32(out[8:], uint32(gz.Len()))
		return out
	}
}

func tarMode(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}
