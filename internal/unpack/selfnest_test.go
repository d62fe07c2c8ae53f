package unpack_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/unpack"
)

// selfNestingISO patches an ISO 9660 image so that one file's extent is
// the whole image: the file is the image itself, which holds the file.
func selfNestingISO(t *testing.T) []byte {
	f, err := os.Open("../firmware/format/iso9660/testdata/plain.iso.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	img, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	name := []byte("HELLO.TXT;1")
	i := bytes.Index(img, name)
	if i < 33 {
		t.Fatal("HELLO.TXT;1 not found in the fixture")
	}
	rec := i - 33 // a directory record's name starts at byte 33
	size := uint32(len(img))
	binary.LittleEndian.PutUint32(img[rec+2:], 0)
	binary.BigEndian.PutUint32(img[rec+6:], 0)
	binary.LittleEndian.PutUint32(img[rec+10:], size)
	binary.BigEndian.PutUint32(img[rec+14:], size)
	return img
}

func TestSelfNestingImage(t *testing.T) {
	img := selfNestingISO(t)
	r := unpackHostile(t, "droste.iso", img, unpack.DefaultLimits())
	if r.err == nil || !strings.Contains(r.err.Error(), "self-nesting") {
		t.Fatalf("want a self-nesting error, got %v", r.err)
	}
	if r.m.Complete {
		t.Error("manifest claims to be complete")
	}
	var n *unpack.Node
	for _, x := range r.m.Nodes {
		if strings.HasSuffix(strings.ToLower(x.Path), "hello.txt;1") || strings.HasSuffix(strings.ToLower(x.Path), "hello.txt") {
			n = x
		}
	}
	if n == nil || !strings.Contains(n.Error, "self-nesting") || n.SHA256 != r.m.Image.SHA256 {
		t.Fatalf("the nested copy must be recorded with the self-nesting error: %+v", n)
	}
}
