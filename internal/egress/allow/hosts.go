package allow

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
)

// Hosts maps DNS names to addresses, read from a hosts-style file the
// operator supplies ("address name [alias ...]", '#' comments). netvet
// never asks a live resolver: a policy that names a host is resolved once,
// at load time, from this file.
type Hosts map[string][]netip.Addr

// Hosts file limits.
const (
	maxHostsBytes   = 16 << 20
	maxHostsLine    = 4096
	maxHostsEntries = 1_000_000
)

// LoadHosts reads a hosts-style file.
func LoadHosts(path string) (Hosts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("allow: hosts file: %w", err)
	}
	defer f.Close()
	return ParseHosts(path, io.LimitReader(f, maxHostsBytes+1))
}

// ParseHosts parses hosts-style text; name is used in error messages
// ("name:line: ..."). Every malformed line is reported.
func ParseHosts(name string, r io.Reader) (Hosts, error) {
	h := Hosts{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxHostsLine)
	var errs []error
	line, total, entries := 0, 0, 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		total += len(b) + 1
		if total > maxHostsBytes {
			errs = append(errs, fmt.Errorf("%s:%d: file exceeds %d bytes", name, line, maxHostsBytes))
			break
		}
		if i := bytes.IndexByte(b, '#'); i >= 0 {
			b = b[:i]
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			errs = append(errs, fmt.Errorf("%s:%d: expected an address and at least one name", name, line))
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			errs = append(errs, fmt.Errorf("%s:%d: bad address %q", name, line, clip(f[0])))
			continue
		}
		a = a.Unmap()
		for _, n := range f[1:] {
			n, ok := normName(n)
			if !ok {
				errs = append(errs, fmt.Errorf("%s:%d: bad host name %q", name, line, clip(n)))
				continue
			}
			entries++
			if entries > maxHostsEntries {
				return h, errors.Join(append(errs, fmt.Errorf("%s:%d: more than %d names", name, line, maxHostsEntries))...)
			}
			if !containsAddr(h[n], a) {
				h[n] = append(h[n], a)
			}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s:%d: %w", name, line+1, err))
	}
	for _, v := range h {
		sort.Slice(v, func(i, j int) bool { return v[i].Less(v[j]) })
	}
	return h, errors.Join(errs...)
}

func containsAddr(s []netip.Addr, a netip.Addr) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}

// normName lower-cases a DNS name, drops one trailing dot and checks the
// RFC 1123 shape (letters, digits, '-', '_', labels of 1..63, total <= 253).
func normName(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" || len(s) > 253 {
		return s, false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return s, false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return s, false
			}
		}
	}
	return s, true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
