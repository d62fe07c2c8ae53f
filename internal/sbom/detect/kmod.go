package detect

import (
	"bytes"
)

// Modinfo is what a kernel module's .modinfo section says about it.
type Modinfo struct {
	Name, Version, Vermagic, License, Srcversion string
	// offsets of the vermagic= and version= strings in the file; -1 if
	// absent.
	VermagicOffset, VersionOffset int64
}

// Limits of the .modinfo reader.
const (
	maxModinfoBlock  = 64 << 10 // bytes of key=value strings around vermagic=
	maxModinfoString = 4096
	maxModinfoPad    = 64 // NUL padding tolerated between strings
)

// ParseModinfo finds a kernel module's .modinfo block in its file content
// without parsing ELF: the block is a run of NUL-separated "key=value"
// strings, and every module built by kbuild has vermagic= in it. The first
// vermagic= string that starts a string and is surrounded by such strings
// anchors the block; the fields are read from the whole run. ok is false
// when no block is found.
func ParseModinfo(data []byte) (mi Modinfo, ok bool) {
	mi.VermagicOffset, mi.VersionOffset = -1, -1
	key := []byte("vermagic=")
	for from := 0; from < len(data); {
		i := bytes.Index(data[from:], key)
		if i < 0 {
			return mi, false
		}
		p := from + i
		from = p + 1
		if p > 0 && data[p-1] != 0 {
			continue
		}
		s, _, good := modinfoString(data, p)
		if !good || len(s) == len(key) {
			continue
		}
		// Walk back to the first string of the run, then read forward.
		start := p
		for start > 0 && p-start < maxModinfoBlock {
			q := start - 1 // the NUL before the current string
			pad := 0
			for q >= 0 && data[q] == 0 && pad < maxModinfoPad {
				q--
				pad++
			}
			if q < 0 || data[q] == 0 {
				break
			}
			b := q
			for b > 0 && data[b-1] != 0 && q-b < maxModinfoString {
				b--
			}
			if _, _, good := modinfoString(data, b); !good || (b > 0 && data[b-1] != 0) {
				// The first string of the section may follow other
				// bytes with no NUL between: take it from its key on.
				if k := modinfoKeyStart(data[b : q+1]); k >= 0 {
					start = b + k
				}
				break
			}
			start = b
		}
		for q := start; q < len(data) && q-start < maxModinfoBlock; {
			s, next, good := modinfoString(data, q)
			if !good {
				break
			}
			k, v := splitKV(s)
			switch k {
			case "name":
				setOnce(&mi.Name, v)
			case "version":
				if mi.Version == "" {
					mi.Version, mi.VersionOffset = v, int64(q)
				}
			case "vermagic":
				if mi.Vermagic == "" {
					mi.Vermagic, mi.VermagicOffset = v, int64(q)
				}
			case "license":
				setOnce(&mi.License, v)
			case "srcversion":
				setOnce(&mi.Srcversion, v)
			}
			// skip the NUL padding to the next string
			pad := 0
			for next < len(data) && data[next] == 0 && pad < maxModinfoPad {
				next++
				pad++
			}
			if next >= len(data) || data[next] == 0 {
				break
			}
			q = next
		}
		if mi.Vermagic == "" {
			continue
		}
		return mi, true
	}
	return mi, false
}

// modinfoString reads the NUL-terminated string at p and checks that it
// is a Printable key=value pair with a lower-case key. next is the index
// of its terminating NUL.
func modinfoString(data []byte, p int) (s []byte, next int, ok bool) {
	end := bytes.IndexByte(data[p:min(len(data), p+maxModinfoString+1)], 0)
	if end < 0 {
		return nil, 0, false
	}
	s = data[p : p+end]
	eq := bytes.IndexByte(s, '=')
	if eq <= 0 {
		return nil, 0, false
	}
	for _, c := range s[:eq] {
		if !(c == '_' || isDigit(c) || (c >= 'a' && c <= 'z')) {
			return nil, 0, false
		}
	}
	for _, c := range s[eq+1:] {
		if c < 0x20 && c != '\t' || c > 0x7e {
			return nil, 0, false
		}
	}
	return s, p + end, true
}

// modinfoKeys are the keys kbuild and the MODULE_* macros write.
var modinfoKeys = []string{
	"version=", "license=", "author=", "description=", "alias=", "srcversion=", "depends=",
	"name=", "intree=", "retpoline=", "import_ns=", "parm=", "parmtype=", "firmware=",
	"softdep=", "scmversion=", "staging=", "livepatch=", "vermagic=",
}

// modinfoKeyStart returns where, in s (a string with unknown bytes before
// its first key), the last well-formed string starting with a known
// Modinfo key begins, or -1.
func modinfoKeyStart(s []byte) int {
	best := -1
	for _, k := range modinfoKeys {
		i := bytes.LastIndex(s, []byte(k))
		if i <= best {
			continue
		}
		// the key must not be the tail of a longer word ("srcversion=")
		if i > 0 && (s[i-1] == '_' || isDigit(s[i-1]) || (s[i-1] >= 'a' && s[i-1] <= 'z')) {
			continue
		}
		ok := true
		for _, c := range s[i+len(k):] {
			if c < 0x20 && c != '\t' || c > 0x7e {
				ok = false
				break
			}
		}
		if ok {
			best = i
		}
	}
	return best
}

func splitKV(s []byte) (string, string) {
	eq := bytes.IndexByte(s, '=')
	return string(s[:eq]), string(s[eq+1:])
}

func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// KernelRelease returns the kernel release at the start of a vermagic
// string ("4.14.180 SMP mod_unload MIPS32_R2 32BIT" gives "4.14.180").
func KernelRelease(vermagic string) string {
	end := 0
	for end < len(vermagic) && vermagic[end] != ' ' && end < MaxVersionLen {
		end++
	}
	return UpstreamVersion(vermagic[:end])
}
