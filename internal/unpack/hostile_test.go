package unpack_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// memWatch samples the heap while a run goes on and reports its peak.
func memWatch() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak {
				peak = ms.HeapInuse
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}

type result struct {
	m      *unpack.Manifest
	out    string
	err    error
	peak   uint64
	parent string
}

// unpackHostile runs the real registry on img with lim, and checks that
// nothing was written beside the output folder and that memory stayed bounded.
func unpackHostile(t *testing.T, name string, img []byte, lim unpack.Limits) result {
	t.Helper()
	parent := t.TempDir()
	// A decoy beside the output folder that a traversal would hit.
	decoy := filepath.Join(parent, "victim")
	os.WriteFile(decoy, []byte("original"), 0o644)
	p := filepath.Join(parent, name)
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(parent, "out")
	runtime.GC()
	stop := memWatch()
	m, err := unpack.Unpack(context.Background(), p, out, unpack.Options{Registry: all.Registry(), Limits: lim})
	peak := stop()
	if peak > 512<<20 {
		t.Errorf("heap peaked at %d MiB", peak>>20)
	}
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != name && e.Name() != "out" && e.Name() != "victim" {
			t.Errorf("written outside the output folder: %s", e.Name())
		}
	}
	if b, _ := os.ReadFile(decoy); string(b) != "original" {
		t.Errorf("decoy outside the output folder was changed: %q", b)
	}
	if m == nil {
		t.Fatalf("no manifest: %v", err)
	}
	if _, serr := os.Stat(filepath.Join(out, unpack.ManifestName)); serr != nil {
		t.Errorf("manifest not written: %v", serr)
	}
	return result{m: m, out: out, err: err, peak: peak, parent: parent}
}

func wantNodeError(t *testing.T, m *unpack.Manifest, suffix, want string) {
	t.Helper()
	for _, n := range m.Nodes {
		if strings.HasSuffix(n.Path, suffix) {
			if !strings.Contains(n.Error, want) {
				t.Errorf("%s: error %q, want it to mention %q", n.Path, n.Error, want)
			}
			if n.DiskPath != "" && n.Type != "dir" && !strings.Contains(want, "replace") {
				if _, err := os.Lstat(filepath.Join(filepath.Dir(n.DiskPath), "x")); err == nil {
					t.Errorf("%s: unexpectedly on disk", n.Path)
				}
			}
			return
		}
	}
	t.Errorf("no node ending in %q recorded", suffix)
}

func tarOf(t *testing.T, hdrs []*tar.Header, bodies []string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(bodies[i]))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, bodies[i])
	}
	tw.Close()
	return buf.Bytes()
}

func TestHostileTar(t *testing.T) {
	img := tarOf(t, []*tar.Header{
		{Name: "../victim", Typeflag: tar.TypeReg},
		{Name: "../../../../../../tmp/netvet-tar-escape", Typeflag: tar.TypeReg},
		{Name: "/etc/netvet-abs", Typeflag: tar.TypeReg},
		{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../.."},
		{Name: "up/victim", Typeflag: tar.TypeReg},
		{Name: "etc", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
		{Name: "etc/netvet-through-link", Typeflag: tar.TypeReg},
		{Name: "passwd", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"},
		{Name: "ok.txt", Typeflag: tar.TypeReg},
	}, []string{"pwned", "pwned", "pwned", "", "pwned", "", "pwned", "", "fine"})
	r := unpackHostile(t, "evil.tar", img, unpack.DefaultLimits())
	if r.err != nil {
		t.Fatalf("entry-level refusals must not fail the run: %v", r.err)
	}
	wantNodeError(t, r.m, "evil.tar/../victim", "escapes")
	wantNodeError(t, r.m, "tmp/netvet-tar-escape", "escapes")
	wantNodeError(t, r.m, "evil.tar//etc/netvet-abs", "absolute")
	wantNodeError(t, r.m, "evil.tar/up/victim", "escape")
	wantNodeError(t, r.m, "evil.tar/etc/netvet-through-link", "escape")
	wantNodeError(t, r.m, "evil.tar/passwd", "not created")
	for _, p := range []string{"/tmp/netvet-tar-escape", "/etc/netvet-abs", "/etc/netvet-through-link"} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s written outside the output folder", p)
		}
	}
	if n := r.m.Lookup("evil.tar/ok.txt"); n == nil || n.Error != "" || n.Size != 4 {
		t.Errorf("good entry lost: %+v", n)
	}
}

func TestHostileZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"../victim", "/etc/netvet-zip-abs", "a/../../victim", "good.txt"} {
		w, _ := zw.Create(name)
		io.WriteString(w, "pwned")
	}
	zw.Close()
	r := unpackHostile(t, "evil.zip", buf.Bytes(), unpack.DefaultLimits())
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantNodeError(t, r.m, "evil.zip/../victim", "escapes")
	wantNodeError(t, r.m, "evil.zip//etc/netvet-zip-abs", "absolute")
	wantNodeError(t, r.m, "evil.zip/a/../../victim", "escapes")
	if n := r.m.Lookup("evil.zip/good.txt"); n == nil || n.Error != "" {
		t.Errorf("good entry lost: %+v", n)
	}
}

// newc writes a cpio newc archive.
func newc(entries []struct {
	name, body, link string
	mode             uint32
}) []byte {
	var buf bytes.Buffer
	pad := func() {
		for buf.Len()%4 != 0 {
			buf.WriteByte(0)
		}
	}
	write := func(ino int, name string, mode uint32, body string) {
		fmt.Fprintf(&buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
		buf.WriteString(name)
		buf.WriteByte(0)
		pad()
		buf.WriteString(body)
		pad()
	}
	for i, e := range entries {
		body := e.body
		if e.link != "" {
			body = e.link
		}
		write(i+1, e.name, e.mode, body)
	}
	write(0, "TRAILER!!!", 0, "")
	return buf.Bytes()
}

func TestHostileCpio(t *testing.T) {
	if _, ok := all.Registry().Lookup("cpio"); !ok {
		t.Skip("cpio format not registered")
	}
	img := newc([]struct {
		name, body, link string
		mode             uint32
	}{
		{name: "../victim", body: "pwned", mode: 0o100644},
		{name: "/etc/netvet-cpio-abs", body: "pwned", mode: 0o100644},
		{name: "lnk", link: "/etc", mode: 0o120777},
		{name: "lnk/netvet-cpio-through", body: "pwned", mode: 0o100644},
		{name: "fine", body: "ok", mode: 0o104755},
	})
	r := unpackHostile(t, "evil.cpio", img, unpack.DefaultLimits())
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantNodeError(t, r.m, "evil.cpio/../victim", "escapes")
	wantNodeError(t, r.m, "evil.cpio//etc/netvet-cpio-abs", "absolute")
	wantNodeError(t, r.m, "evil.cpio/lnk/netvet-cpio-through", "escape")
	if n := r.m.Lookup("evil.cpio/fine"); n == nil || n.Mode != "4755" {
		t.Errorf("setuid entry: %+v", n)
	}
}

// gzipZeros returns a multi-member gzip stream of n zero bytes (n a
// multiple of 1 MiB), built from one compressed member repeated: cheap to
// make, even under the race detector.
func gzipZeros(t *testing.T, n int64) []byte {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return bytes.Repeat(member.Bytes(), int(n>>20))
}

func TestGzipBomb(t *testing.T) {
	bomb := gzipZeros(t, 512<<20) // 512 MiB of zeros in about 500 KiB
	r := unpackHostile(t, "bomb.gz", bomb, unpack.DefaultLimits())
	if r.err == nil || !errors.Is(r.err, firmware.ErrLimit) || !strings.Contains(r.err.Error(), "max-ratio") {
		t.Fatalf("want a max-ratio limit error, got %v", r.err)
	}
	if r.m.Complete {
		t.Error("partial manifest claims to be complete")
	}
	if r.m.Stats.BytesWritten > 128<<20 {
		t.Errorf("wrote %d MiB before stopping", r.m.Stats.BytesWritten>>20)
	}
}

func zipOf(files map[string][]byte, method uint16) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	for _, n := range names {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: n, Method: method})
		w.Write(files[n])
	}
	zw.Close()
	return buf.Bytes()
}

func TestNestedZipBomb(t *testing.T) {
	leaf := zipOf(map[string][]byte{"zeros": make([]byte, 16<<20)}, zip.Deflate)
	l1 := map[string][]byte{}
	for i := 0; i < 16; i++ {
		l1[fmt.Sprintf("l1-%02d.zip", i)] = leaf
	}
	mid := zipOf(l1, zip.Deflate)
	l2 := map[string][]byte{}
	for i := 0; i < 16; i++ {
		l2[fmt.Sprintf("l2-%02d.zip", i)] = mid
	}
	bomb := zipOf(l2, zip.Deflate) // 256 × 16 MiB = 4 GiB
	lim := unpack.DefaultLimits()
	lim.MaxTotalBytes = 256 << 20
	r := unpackHostile(t, "nested.zip", bomb, lim)
	if r.err == nil || !strings.Contains(r.err.Error(), "max-total-bytes") && !strings.Contains(r.err.Error(), "max-ratio") {
		t.Fatalf("want max-total-bytes or max-ratio, got %v", r.err)
	}
	if r.m.Stats.BytesWritten > lim.MaxTotalBytes+64<<20 {
		t.Errorf("wrote %d MiB past a 256 MiB limit", r.m.Stats.BytesWritten>>20)
	}
}

// overlappingZip points many central-directory entries at one local entry.
func overlappingZip(t *testing.T, copies int) []byte {
	one := zipOf(map[string][]byte{"a": make([]byte, 16<<20)}, zip.Deflate)
	// Split the single-entry zip into local part, central record and end record.
	eocd := bytes.LastIndex(one, []byte("PK\x05\x06"))
	cdOff := int(binary.LittleEndian.Uint32(one[eocd+16:]))
	local := one[:cdOff]
	cd := one[cdOff:eocd]
	var out bytes.Buffer
	out.Write(local)
	for i := 0; i < copies; i++ {
		rec := append([]byte(nil), cd...)
		// Keep the name length (1) and change the name byte.
		nameAt := 46
		rec[nameAt] = byte('A' + i%26)
		out.Write(rec)
	}
	cdSize := out.Len() - len(local)
	e := append([]byte(nil), one[eocd:]...)
	binary.LittleEndian.PutUint16(e[8:], uint16(copies))
	binary.LittleEndian.PutUint16(e[10:], uint16(copies))
	binary.LittleEndian.PutUint32(e[12:], uint32(cdSize))
	binary.LittleEndian.PutUint32(e[16:], uint32(len(local)))
	out.Write(e)
	_ = crc32.ChecksumIEEE
	return out.Bytes()
}

func TestOverlappingZip(t *testing.T) {
	img := overlappingZip(t, 500) // 500 × 16 MiB from one 16 KiB stream
	r := unpackHostile(t, "overlap.zip", img, unpack.DefaultLimits())
	// Either the reader refuses entries that share data, or a limit stops it.
	refused := 0
	for _, n := range r.m.Nodes {
		if strings.Contains(n.Error, "overlaps") {
			refused++
		}
	}
	if refused < 490 && (r.err == nil || !errors.Is(r.err, firmware.ErrLimit)) {
		t.Fatalf("overlapping entries neither refused (%d) nor stopped by a limit (%v)", refused, r.err)
	}
	if r.m.Stats.BytesWritten > 256<<20 {
		t.Errorf("wrote %d MiB", r.m.Stats.BytesWritten>>20)
	}
}

func TestManyFilesBomb(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < 30000; i++ {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%d/f%d", i%100, i), Mode: 0o644, Typeflag: tar.TypeReg})
	}
	tw.Close()
	lim := unpack.DefaultLimits()
	lim.MaxFiles = 5000
	r := unpackHostile(t, "many.tar", buf.Bytes(), lim)
	if r.err == nil || !strings.Contains(r.err.Error(), "max-files") {
		t.Fatalf("want max-files, got %v", r.err)
	}
	if r.m.Complete || !strings.Contains(strings.Join(r.m.Errors, "\n"), "max-files") {
		t.Errorf("manifest errors: %v", r.m.Errors)
	}
}

func TestTruncatedAndOversizedHeaders(t *testing.T) {
	good := tarOf(t, []*tar.Header{{Name: "a", Typeflag: tar.TypeReg}, {Name: "b", Typeflag: tar.TypeReg}},
		[]string{strings.Repeat("A", 3000), strings.Repeat("B", 3000)})
	gz := gzipZeros(t, 1<<20)
	cases := map[string][]byte{
		"trunc.tar":  good[:2000],
		"trunc.gz":   gz[:len(gz)/2],
		"trunc.zip":  zipOf(map[string][]byte{"x": bytes.Repeat([]byte("x"), 10000)}, zip.Deflate)[:100],
		"huge.uimg":  uimageClaiming(1 << 31),
		"empty":      {},
		"one-byte":   {0x1f},
		"all-ff.bin": bytes.Repeat([]byte{0xff}, 1<<16),
	}
	for name, img := range cases {
		t.Run(name, func(t *testing.T) {
			r := unpackHostile(t, name, img, unpack.DefaultLimits())
			if r.err != nil {
				t.Fatalf("a corrupt image is not a failed run: %v", r.err)
			}
			if name == "trunc.tar" {
				if n := r.m.Lookup("trunc.tar/a"); n == nil {
					t.Errorf("what could be read was lost")
				}
			}
		})
	}
}

// uimageClaiming is a uImage header whose data size runs past the file.
func uimageClaiming(size uint32) []byte {
	h := make([]byte, 64)
	binary.BigEndian.PutUint32(h[0:], 0x27051956)
	binary.BigEndian.PutUint32(h[12:], size)
	h[28], h[29], h[30], h[31] = 5, 2, 2, 0 // linux, arm, kernel, none
	copy(h[32:], "evil")
	binary.BigEndian.PutUint32(h[4:], crc32.ChecksumIEEE(h))
	return append(h, make([]byte, 1000)...)
}

func TestHostileSquashFS(t *testing.T) {
	img, err := os.ReadFile("testdata/traversal.sqfs")
	if err != nil {
		t.Fatal(err)
	}
	r := unpackHostile(t, "evil.sqfs", img, unpack.DefaultLimits())
	if r.err != nil {
		t.Fatalf("entry-level refusals must not fail the run: %v", r.err)
	}
	if _, err := os.Lstat("/tmp/netvet-sqfs-escapexxxxxxxxxxxxxxxxxxx"); err == nil {
		t.Fatal("wrote outside the output folder")
	}
	refused := 0
	for _, n := range r.m.Nodes {
		if strings.Contains(n.Path, "..") {
			if n.Error == "" || n.DiskPath != "" && n.Type != "dir" {
				t.Errorf("%s: traversal not refused: %+v", n.Path, n)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Error("no traversal entry recorded")
	}
	if n := r.m.Lookup("evil.sqfs/fine"); n == nil || n.Error != "" || n.Size != 3 {
		t.Errorf("good entry lost: %+v", n)
	}
}
