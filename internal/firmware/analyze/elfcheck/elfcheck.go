// Package elfcheck is the "elf" analyser: it reads every ELF program and
// shared library of an unpacked image (any class, byte order and machine)
// and records its hardening profile the way Debian's checksec reports it
// (NX, PIE, RELRO, stack canary, FORTIFY_SOURCE, RPATH/RUNPATH, symbols),
// plus static linking and dangerous libc imports. Profiles go to the
// caller's firmware.BinaryReporter; Summarize turns them into image-wide
// percentages. Findings are kept few: per binary only where the binary is
// exposed (setuid/setgid or network-facing) or the flaw is rare and
// serious, and one finding per filesystem for the rest.
//
// Files are hostile. The reader never allocates from a size in the file
// without checking it against the file size and a fixed cap, reads lazily
// through io.ReaderAt, recovers from any panic in debug/elf, and reads the
// dynamic section through the program headers, so files whose section
// headers were removed (sstrip) or corrupted are still profiled.
package elfcheck

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// DefaultMaxSize is the largest file the analyser profiles.
const DefaultMaxSize = 256 << 20

// aggregateList is how many paths an image-wide finding names.
const aggregateList = 20

var (
	ruleExecStackExposed = firmware.Rule{
		ID: "NV-ELF-001", Severity: firmware.SeverityHigh,
		Title:     "Executable stack in a network-facing or setuid program",
		Rationale: "A stack overflow in a program that reads network input or runs with raised privileges can run injected code directly from the stack.",
		References: []string{
			"https://github.com/slimm609/checksec.sh",
			"https://www.gnu.org/software/binutils/manual/ld/Options.html",
		},
	}
	ruleExecStack = firmware.Rule{
		ID: "NV-ELF-002", Severity: firmware.SeverityMedium,
		Title:      "ELF files with an executable stack",
		Rationale:  "Without a non-executable stack any stack overflow becomes code execution; one finding per filesystem, every file is in the binaries list.",
		References: []string{"https://github.com/slimm609/checksec.sh"},
	}
	ruleRWXExposed = firmware.Rule{
		ID: "NV-ELF-003", Severity: firmware.SeverityHigh,
		Title:      "Writable and executable segment in a network-facing or setuid program",
		Rationale:  "A PT_LOAD segment mapped both writable and executable lets any write primitive plant code the program will run.",
		References: []string{"https://cwe.mitre.org/data/definitions/1188.html"},
	}
	ruleRWX = firmware.Rule{
		ID: "NV-ELF-004", Severity: firmware.SeverityMedium,
		Title:     "ELF files with a writable and executable segment",
		Rationale: "Segments mapped writable and executable defeat W^X for the whole process; one finding per filesystem.",
	}
	ruleRPath = firmware.Rule{
		ID: "NV-ELF-005", Severity: firmware.SeverityHigh,
		Title:      "Library search path in a writable or relative directory",
		Rationale:  "DT_RPATH/DT_RUNPATH naming /tmp, a world-writable folder, a relative path or an empty entry lets whoever can write there supply the libraries the program loads.",
		References: []string{"https://cwe.mitre.org/data/definitions/426.html"},
	}
	ruleGets = firmware.Rule{
		ID: "NV-ELF-006", Severity: firmware.SeverityMedium,
		Title:      "Program imports gets()",
		Rationale:  "gets() cannot bound its input and was removed from C11; any caller has a stack overflow.",
		References: []string{"https://cwe.mitre.org/data/definitions/242.html"},
	}
	ruleDangerous = firmware.Rule{
		ID: "NV-ELF-007", Severity: firmware.SeverityLow,
		Title:     "Network-facing program imports dangerous libc functions",
		Rationale: "Shell execution (system, popen, exec*) and unbounded string functions in a program that reads network input are where command injection and overflows are found; review the call sites.",
		References: []string{
			"https://cwe.mitre.org/data/definitions/676.html",
			"https://cwe.mitre.org/data/definitions/78.html",
		},
	}
	ruleUnreadable = firmware.Rule{
		ID: "NV-ELF-008", Severity: firmware.SeverityInfo,
		Title:     "ELF file not fully profiled",
		Rationale: "The file starts with the ELF magic but could not be read as ELF, or parts of it could not (truncated, malformed on purpose, or over the size cap); its verdicts may be missing or incomplete, check it by hand.",
	}
	rules = []firmware.Rule{ruleExecStackExposed, ruleExecStack, ruleRWXExposed, ruleRWX, ruleRPath, ruleGets, ruleDangerous, ruleUnreadable}
)

// dangerousImports are the libc functions listed in a binary's profile
// and, for network-facing programs, in NV-ELF-007.
var dangerousImports = map[string]bool{
	"system": true, "popen": true, "execl": true, "execlp": true,
	"strcpy": true, "strcat": true, "gets": true, "sprintf": true, "vsprintf": true,
	"scanf": true, "fscanf": true, "sscanf": true, "vscanf": true, "vfscanf": true, "vsscanf": true,
	"__isoc99_scanf": true, "__isoc99_fscanf": true, "__isoc99_sscanf": true,
	"__isoc99_vscanf": true, "__isoc99_vfscanf": true, "__isoc99_vsscanf": true,
	"__isoc23_scanf": true, "__isoc23_fscanf": true, "__isoc23_sscanf": true,
	"__isoc23_vscanf": true, "__isoc23_vfscanf": true, "__isoc23_vsscanf": true,
	"mktemp": true, "tmpnam": true, "tmpnam_r": true, "tempnam": true,
}

// daemonNames are programs that serve the network whatever they import
// (statically linked builds have no imports to go by).
var daemonNames = map[string]bool{
	"busybox": true, "telnetd": true, "utelnetd": true, "sshd": true, "dropbear": true, "dropbearmulti": true,
	"httpd": true, "uhttpd": true, "lighttpd": true, "mini_httpd": true, "thttpd": true, "boa": true,
	"goahead": true, "webs": true, "nginx": true, "apache2": true, "ftpd": true, "vsftpd": true,
	"proftpd": true, "pure-ftpd": true, "bftpd": true, "tftpd": true, "in.tftpd": true, "atftpd": true,
	"smbd": true, "nmbd": true, "snmpd": true, "mini_snmpd": true, "dnsmasq": true, "named": true,
	"unbound": true, "ntpd": true, "chronyd": true, "miniupnpd": true, "upnpd": true, "udhcpd": true,
	"dhcpd": true, "odhcpd": true, "pppd": true, "xl2tpd": true, "openvpn": true, "racoon": true,
	"charon": true, "xinetd": true, "inetd": true, "cwmpd": true, "tr069": true, "tr069d": true,
	"mosquitto": true, "avahi-daemon": true, "lldpd": true, "hostapd": true, "rpcbind": true,
	"portmap": true, "zebra": true, "bgpd": true, "ospfd": true, "telnetd.bin": true,
}

// Option configures the analyser.
type Option func(*analyzer)

// WithMaxSize sets the largest file profiled (DefaultMaxSize if unset).
func WithMaxSize(n int64) Option { return func(a *analyzer) { a.maxSize = n } }

type analyzer struct{ maxSize int64 }

// New returns the ELF hardening analyser.
func New(opts ...Option) firmware.Analyzer {
	a := &analyzer{maxSize: DefaultMaxSize}
	for _, o := range opts {
		o(a)
	}
	return a
}

var _ firmware.Analyzer = (*analyzer)(nil)

func (a *analyzer) Info() firmware.AnalyzerInfo {
	return firmware.AnalyzerInfo{
		Name:        "elf",
		Description: "ELF hardening (NX, PIE, RELRO, canary, FORTIFY, RPATH) per binary, and risky binaries",
		Rules:       append([]firmware.Rule(nil), rules...),
	}
}

// group collects the files of one filesystem for the image-wide findings.
type group struct {
	path      string
	elfs      int
	execStack []string
	rwx       []string
}

func (a *analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	br, _ := out.(firmware.BinaryReporter)
	groups := map[string]*group{}
	for _, f := range t.Regular() {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.file(t, f, out, br, groups)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		if len(g.execStack) > 0 {
			out.Report(g.finding(ruleExecStack, g.execStack, "an executable stack"))
		}
		if len(g.rwx) > 0 {
			out.Report(g.finding(ruleRWX, g.rwx, "a writable and executable PT_LOAD segment"))
		}
	}
	return nil
}

func (g *group) finding(r firmware.Rule, files []string, what string) firmware.Finding {
	sort.Strings(files)
	shown := files[:min(len(files), aggregateList)]
	ev := fmt.Sprintf("%d of %d ELF files have %s: %s", len(files), g.elfs, what, strings.Join(shown, ", "))
	if more := len(files) - len(shown); more > 0 {
		ev += fmt.Sprintf(" (+%d more in the binaries list)", more)
	}
	fd := r.Finding(nil, -1, ev)
	fd.Path = g.path
	fd.Analyzer = "elf"
	return fd
}

func (a *analyzer) report(out firmware.Reporter, r firmware.Rule, f *firmware.File, off int64, ev string) {
	fd := r.Finding(f, off, ev)
	fd.Analyzer = "elf"
	out.Report(fd)
}

func (a *analyzer) file(t *firmware.Tree, f *firmware.File, out firmware.Reporter, br firmware.BinaryReporter, groups map[string]*group) {
	fh, err := t.Open(f)
	if err != nil {
		return
	}
	defer fh.Close()
	var magic [4]byte
	if n, _ := fh.ReadAt(magic[:], 0); n < 4 || !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		return
	}
	st, err := fh.Stat()
	if err != nil {
		return
	}
	if st.Size() > a.maxSize {
		a.report(out, ruleUnreadable, f, -1, fmt.Sprintf("%d bytes, over the %d-byte cap of the ELF analyser", st.Size(), a.maxSize))
		return
	}
	p, err := Inspect(fh, st.Size())
	if err != nil {
		a.report(out, ruleUnreadable, f, 0, err.Error())
		return
	}
	if p.Kernel || (p.Type != "exec" && p.Type != "dyn") {
		return
	}
	b := p.Binary(f)
	if br != nil {
		br.Binary(b)
	}
	if len(p.Notes) > 0 {
		a.report(out, ruleUnreadable, f, -1, "profiled in part: "+strings.Join(p.Notes, "; "))
	}

	key, gpath := "", t.ImageName
	if f.Root != nil {
		key, gpath = f.Root.Path, f.Root.Path
	}
	g := groups[key]
	if g == nil {
		g = &group{path: gpath}
		groups[key] = g
	}
	g.elfs++
	name := f.FSPath
	if name == "" {
		name = f.Path
	}

	why := exposure(f, p)
	if p.ExecStack() {
		if why != "" {
			a.report(out, ruleExecStackExposed, f, stackOffset(p), stackEvidence(p)+"; "+why)
		} else {
			g.execStack = append(g.execStack, name)
		}
	}
	if len(p.RWX) > 0 {
		if why != "" {
			s := p.RWX[0]
			a.report(out, ruleRWXExposed, f, s.HdrOff, fmt.Sprintf("PT_LOAD (program header %d at offset %#x) flags %s, vaddr %#x, %d bytes; %s",
				s.Index, s.HdrOff, flagString(s.Flags), s.Vaddr, s.FileSize, why))
		} else {
			g.rwx = append(g.rwx, name)
		}
	}
	for _, rp := range []struct {
		tag, val string
		has      bool
		off      int64
	}{{"DT_RPATH", p.RPath, p.HasRPath, p.RPathOff}, {"DT_RUNPATH", p.RunPath, p.HasRunPath, p.RunPathOff}} {
		if !rp.has {
			continue
		}
		if bad := riskyPaths(f, rp.val); len(bad) > 0 {
			a.report(out, ruleRPath, f, rp.off, fmt.Sprintf("%s %q at offset %#x: %s", rp.tag, rp.val, rp.off, strings.Join(bad, "; ")))
		}
	}
	if p.Program() && p.imported("gets") {
		off := p.importOffset("gets")
		a.report(out, ruleGets, f, off, fmt.Sprintf("imports gets (name at offset %#x in the dynamic string table)", off))
	}
	if p.Program() && isNetworkFacing(f, p) && len(b.Imports) > 0 {
		var parts []string
		first := int64(-1)
		for _, imp := range p.Imports {
			if dangerousImports[imp.Name] {
				parts = append(parts, fmt.Sprintf("%s@%#x", imp.Name, imp.Offset))
				if imp.Offset >= 0 && (first < 0 || imp.Offset < first) {
					first = imp.Offset
				}
			}
		}
		a.report(out, ruleDangerous, f, first, "imports "+strings.Join(parts, ", ")+
			" (offsets of the names in the dynamic string table); "+networkReason(f, p))
	}
}

// Binary returns the report's view of the profile for file f.
func (p *Profile) Binary(f *firmware.File) firmware.Binary {
	b := firmware.Binary{
		Machine: p.Machine, Class: p.Class, Endian: p.Endian, Type: p.Type,
		NX: p.NX(), PIE: p.PIE(), RELRO: p.RELRO(), Canary: p.Canary, Fortify: p.Fortify(),
		RPath: p.RPath, RunPath: p.RunPath, Stripped: p.Stripped(), Static: p.Static(),
	}
	if f != nil {
		b.Path, b.FSPath = f.Path, f.FSPath
	}
	for _, imp := range p.Imports {
		if dangerousImports[imp.Name] {
			b.Imports = append(b.Imports, imp.Name)
		}
	}
	return b
}

// exposure says why a program is exposed ("" when it is not): setuid or
// setgid (with an execute bit), or network-facing.
func exposure(f *firmware.File, p *Profile) string {
	if !p.Program() {
		return ""
	}
	var why []string
	if f.Mode&fs.ModeSetuid != 0 && f.Executable() {
		why = append(why, fmt.Sprintf("setuid (owner uid %d)", f.UID))
	}
	if f.Mode&fs.ModeSetgid != 0 && f.Executable() {
		why = append(why, fmt.Sprintf("setgid (group gid %d)", f.GID))
	}
	if isNetworkFacing(f, p) {
		why = append(why, networkReason(f, p))
	}
	return strings.Join(why, "; ")
}

func isNetworkFacing(f *firmware.File, p *Profile) bool {
	return p.Program() && (daemonNames[f.Name()] || len(serverImports(p)) > 0)
}

// serverImports returns the socket functions that make a program a
// server: accept/accept4, or bind together with listen or a receive call.
func serverImports(p *Profile) []string {
	var got []string
	for _, n := range []string{"accept", "accept4"} {
		if p.imported(n) {
			got = append(got, n)
		}
	}
	if p.imported("bind") {
		for _, n := range []string{"listen", "recvfrom", "recvmsg", "recv"} {
			if p.imported(n) {
				got = append(got, "bind", n)
				break
			}
		}
	}
	return got
}

func networkReason(f *firmware.File, p *Profile) string {
	if s := serverImports(p); len(s) > 0 {
		return "network-facing (imports " + strings.Join(s, ", ") + ")"
	}
	return "network-facing (" + f.Name() + " is a network daemon)"
}

func stackOffset(p *Profile) int64 {
	if p.GNUStack != nil {
		return p.GNUStack.HdrOff
	}
	return -1
}

func stackEvidence(p *Profile) string {
	if s := p.GNUStack; s != nil {
		return fmt.Sprintf("PT_GNU_STACK (program header %d at offset %#x) flags %s", s.Index, s.HdrOff, flagString(s.Flags))
	}
	return fmt.Sprintf("no PT_GNU_STACK program header: Linux maps the stack executable for %d-bit %s programs without one", p.Class, p.Machine)
}

// flagString writes segment flags as readelf does: R, W, E or a space.
func flagString(fl elf.ProgFlag) string {
	b := []byte("   ")
	if fl&elf.PF_R != 0 {
		b[0] = 'R'
	}
	if fl&elf.PF_W != 0 {
		b[1] = 'W'
	}
	if fl&elf.PF_X != 0 {
		b[2] = 'E'
	}
	return string(b)
}

// writableDirs are folders any local user (or a process that was broken
// into) can usually write to on an embedded Linux system.
var writableDirs = []string{"/tmp", "/var/tmp", "/dev/shm", "/mnt", "/media", "/home", "/run/user", "/var/run/user"}

// riskyPaths returns why entries of a colon-separated search path are
// risky: empty (the current folder), relative, under a writable folder,
// or a folder the image marks world-writable.
func riskyPaths(f *firmware.File, val string) []string {
	if val == "" {
		return nil
	}
	var bad []string
	for _, e := range strings.Split(val, ":") {
		switch {
		case e == "":
			bad = append(bad, "empty entry (the current folder)")
		case strings.HasPrefix(e, "$ORIGIN") || strings.HasPrefix(e, "${ORIGIN}"):
			// Relative to the program's own folder: as safe as that folder.
		case !strings.HasPrefix(e, "/"):
			bad = append(bad, fmt.Sprintf("%q is relative to the current folder", e))
		default:
			clean := path.Clean(e)
			hit := false
			for _, w := range writableDirs {
				if clean == w || strings.HasPrefix(clean, w+"/") {
					bad = append(bad, fmt.Sprintf("%q is under %s", e, w))
					hit = true
					break
				}
			}
			if !hit && f.Root != nil {
				if d := f.Root.Lookup(clean); d != nil && d.Type == firmware.TypeDir && d.Mode.Perm()&0o002 != 0 {
					bad = append(bad, fmt.Sprintf("%q is world-writable in the image (mode %#o)", e, d.Mode.Perm()))
				}
			}
		}
	}
	return bad
}
