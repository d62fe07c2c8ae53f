package services

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// busyboxCache answers two questions about a program file: is it a
// BusyBox multi-call binary, and which applets does it carry. BusyBox
// keeps its applet names as one NUL-separated list, so an applet is
// present when "\x00name\x00" occurs in the binary.
type busyboxCache struct {
	t       *firmware.Tree
	max     int64
	isBB    map[*firmware.File]bool
	applets map[*firmware.File]map[string]bool
	// listed records whether the binary shows a readable applet list at
	// all; a packed (UPX) or stripped-down stand-in does not, and then an
	// applet cannot be ruled out.
	listed map[*firmware.File]bool
	// data holds the content of BusyBox binaries up to max bytes, read
	// once for the many applet look-ups.
	data map[*firmware.File][]byte
}

func newBusyboxCache(t *firmware.Tree, max int64) *busyboxCache {
	return &busyboxCache{t: t, max: max, isBB: map[*firmware.File]bool{},
		applets: map[*firmware.File]map[string]bool{}, listed: map[*firmware.File]bool{},
		data: map[*firmware.File][]byte{}}
}

// commonApplets are found in nearly every BusyBox build; seeing three of
// them shows that the applet list is readable.
var commonApplets = []string{"[", "[[", "ash", "cat", "cp", "echo", "ls", "mount", "rm", "sh", "sleep", "ps"}

// readableList reports whether f's applet list can be read.
func (c *busyboxCache) readableList(ctx context.Context, f *firmware.File) bool {
	if v, ok := c.listed[f]; ok {
		return v
	}
	n := 0
	for _, a := range commonApplets {
		if c.applet(ctx, f, a) {
			n++
			if n >= 3 {
				break
			}
		}
	}
	c.listed[f] = n >= 3
	return n >= 3
}

func (c *busyboxCache) is(ctx context.Context, f *firmware.File) bool {
	if f == nil || f.Type != firmware.TypeFile {
		return false
	}
	if v, ok := c.isBB[f]; ok {
		return v
	}
	v := false
	if strings.HasPrefix(f.Name(), "busybox") {
		v = true
	} else {
		v = c.contains(ctx, f, []byte("BusyBox v"))
	}
	c.isBB[f] = v
	return v
}

// hasApplet reports whether the BusyBox binary f can run applet name:
// its applet list names it, or the list cannot be read at all (then the
// applet is assumed present and verified is false).
func (c *busyboxCache) hasApplet(ctx context.Context, f *firmware.File, name string) bool {
	if c.applet(ctx, f, name) {
		return true
	}
	return !c.readableList(ctx, f)
}

// verified reports whether applet answers for f come from a readable list.
func (c *busyboxCache) verified(ctx context.Context, f *firmware.File) bool {
	return c.readableList(ctx, f)
}

func (c *busyboxCache) applet(ctx context.Context, f *firmware.File, name string) bool {
	m := c.applets[f]
	if m == nil {
		m = map[string]bool{}
		c.applets[f] = m
	}
	if v, ok := m[name]; ok {
		return v
	}
	needle := []byte("\x00" + name + "\x00")
	var v bool
	if d, ok := c.data[f]; ok {
		v = bytes.Contains(d, needle)
	} else if f.Size > 0 && f.Size <= c.max && len(c.data) < 16 {
		d, err := c.t.ReadFile(f, c.max)
		if err == nil {
			c.data[f] = d
		}
		v = bytes.Contains(d, needle)
	} else {
		v = c.contains(ctx, f, needle)
	}
	m[name] = v
	return v
}

// contains searches the first max bytes of f for needle, in chunks that
// overlap by len(needle)-1 bytes.
func (c *busyboxCache) contains(ctx context.Context, f *firmware.File, needle []byte) bool {
	fh, err := c.t.Open(f)
	if err != nil {
		return false
	}
	defer fh.Close()
	chunk := 1 << 20
	if f.Size > 0 && f.Size < int64(chunk) {
		chunk = int(f.Size) + 1
	}
	keep := len(needle) - 1
	buf := make([]byte, keep+chunk)
	have := 0
	var read int64
	for read < c.max && ctx.Err() == nil {
		n, rerr := io.ReadFull(fh, buf[have:have+chunk])
		read += int64(n)
		data := buf[:have+n]
		if bytes.Contains(data, needle) {
			return true
		}
		if rerr != nil {
			return false // end of file, or a read error: not found
		}
		if len(data) > keep {
			copy(buf, data[len(data)-keep:])
			have = keep
		} else {
			have = len(data)
		}
	}
	return false
}
