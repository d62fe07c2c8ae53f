package sevenzip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"strconv"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func numbers() string {
	var b bytes.Buffer
	for i := 1; i <= 2000; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.String()
}

var treeWant = map[string]fwtest.Want{
	"dir":             {Type: firmware.TypeDir, Mode: 0o755},
	"dir/sub":         {Type: firmware.TypeDir, Mode: 0o755},
	"dir/file.txt":    {Type: firmware.TypeFile, Mode: 0o644, Data: "hello 7z\n"},
	"dir/empty":       {Type: firmware.TypeFile, Mode: 0o644, Data: ""},
	"dir/numbers.txt": {Type: firmware.TypeFile, Mode: 0o644, Data: numbers()},
	"dir/suid":        {Type: firmware.TypeFile, Mode: 0o755 | fs.ModeSetuid, Data: "#!/bin/sh\n"},
	"dir/link":        {Type: firmware.TypeSymlink, Mode: 0o777, Link: "file.txt"},
}

func TestExtract(t *testing.T) {
	for _, name := range []string{"lzma2.7z", "lzma-plainheader.7z", "copy.7z", "bcj.7z"} {
		t.Run(name, func(t *testing.T) {
			b := fwtest.Fixture(t, name)
			s, n, err := fwtest.Run(t.Context(), New(), append(append([]byte(nil), b...), "trailing"...), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(b)) {
				t.Errorf("length %d, want %d", n, len(b))
			}
			fwtest.NoFailures(t, s)
			fwtest.CheckTree(t, s, treeWant)
			fwtest.CheckModTime(t, s, time.Unix(1700000000, 0))
		})
	}
}

func TestEncrypted(t *testing.T) {
	s, _, err := fwtest.Run(t.Context(), New(), fwtest.Fixture(t, "encrypted.7z"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failed) == 0 {
		t.Fatal("no entry failed")
	}
	for _, f := range s.Failed {
		if !errors.Is(f.Err, ErrEncrypted) {
			t.Errorf("%s: %v, want ErrEncrypted", f.Path, f.Err)
		}
	}
	for _, it := range s.Items {
		if it.Type == firmware.TypeFile && len(it.Data) > 0 {
			t.Errorf("%s: content put from an encrypted archive", it.Path)
		}
	}
	_, _, err = fwtest.Run(t.Context(), New(), fwtest.Fixture(t, "encrypted-header.7z"), 1<<20)
	if !errors.Is(err, ErrEncrypted) {
		t.Fatalf("encrypted header: err = %v, want ErrEncrypted", err)
	}
}

// plainHeader returns a copy of the plain-header fixture with the header
// bytes changed by edit and the CRCs fixed.
func plainHeader(t *testing.T, edit func(h []byte) []byte) []byte {
	b := append([]byte(nil), fwtest.Fixture(t, "lzma-plainheader.7z")...)
	off := 32 + int(binary.LittleEndian.Uint64(b[12:20]))
	n := int(binary.LittleEndian.Uint64(b[20:28]))
	h := edit(append([]byte(nil), b[off:off+n]...))
	out := append(b[:off], h...)
	binary.LittleEndian.PutUint64(out[20:28], uint64(len(h)))
	binary.LittleEndian.PutUint32(out[28:32], crc32.ChecksumIEEE(h))
	binary.LittleEndian.PutUint32(out[8:12], crc32.ChecksumIEEE(out[12:32]))
	return out
}

func TestHostile(t *testing.T) {
	lz := fwtest.Fixture(t, "lzma2.7z")
	cases := map[string][]byte{
		"truncated": lz[:len(lz)-10],
		"header past the end": func() []byte {
			b := append([]byte(nil), lz...)
			binary.LittleEndian.PutUint64(b[12:20], 1<<40)
			binary.LittleEndian.PutUint32(b[8:12], crc32.ChecksumIEEE(b[12:32]))
			return b
		}(),
		"bad header crc": func() []byte { b := append([]byte(nil), lz...); b[len(b)-1]++; return b }(),
		"huge file count": plainHeader(t, func(h []byte) []byte {
			// Replace the whole FilesInfo with one claiming 2^40 files.
			p := bytes.Index(h, []byte{idFilesInfo, 0x07})
			if p < 0 {
				t.Skip("fixture layout changed")
			}
			return append(h[:p:p], idFilesInfo, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0)
		}),
		"huge dictionary": func() []byte {
			return plainHeader(t, func(h []byte) []byte {
				p := bytes.Index(h, []byte{0x23, 0x03, 0x01, 0x01, 0x05})
				if p < 0 {
					t.Skip("fixture layout changed")
				}
				binary.LittleEndian.PutUint32(h[p+6:], 0xffffffff)
				return h
			})
		}(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			s := fwtest.NewMemSink(1 << 20)
			src := bytes.NewReader(b)
			if !New().Identify(src, int64(len(b))) {
				if name == "bad header crc" || name == "truncated" {
					t.Fatal("signature header fine, should identify")
				}
				return
			}
			n, err := New().Extract(t.Context(), src, int64(len(b)), s)
			if err == nil {
				t.Fatalf("no error; items %q", s.Paths())
			}
			t.Logf("%v", err)
			if n < 0 || n > int64(len(b)) {
				t.Fatalf("length %d", n)
			}
		})
	}
}

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"lzma2.7z", "lzma-plainheader.7z", "copy.7z", "bcj.7z", "encrypted.7z"} {
		f.Add(fwtest.Fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
