package keys

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtures returns the contents of the testdata key files.
func fixtures(f *testing.F) [][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, n := range names {
		if st, err := os.Stat(n); err != nil || st.IsDir() || strings.HasSuffix(n, ".sh") {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzDropbear(f *testing.F) {
	for _, b := range fixtures(f) {
		if looksDropbear(b) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, blob, err := parseDropbear(b)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(b, blob) && p.Algo != "Ed25519" {
			t.Fatalf("public blob is not a prefix of the key")
		}
		if p.SSHFP != sshFingerprint(blob) || p.Bits <= 0 {
			t.Fatalf("inconsistent key %+v", p)
		}
	})
}

func FuzzSSHPublicKey(f *testing.F) {
	for _, b := range fixtures(f) {
		for _, field := range strings.Fields(string(b)) {
			if blob, err := base64.StdEncoding.DecodeString(field); err == nil && len(blob) > 8 {
				f.Add(blob)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseSSHPublicKey(b)
		if err == nil && (p.SSHType == "" || p.SSHFP != sshFingerprint(b)) {
			t.Fatalf("inconsistent key %+v", p)
		}
		_ = p.weak()
	})
}

func FuzzOpenSSH(f *testing.F) {
	for _, b := range fixtures(f) {
		if blk, _ := pem.Decode(b); blk != nil && blk.Type == "OPENSSH PRIVATE KEY" {
			f.Add(blk.Bytes)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := parseOpenSSH(b)
		if err == nil && k.Pub.SSHFP == "" {
			t.Fatalf("key without fingerprint %+v", k)
		}
	})
}

func FuzzPuTTY(f *testing.F) {
	for _, b := range fixtures(f) {
		if bytes.HasPrefix(b, []byte(puttyMarker)) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := parsePuTTY(b)
		if err == nil && (k.Pub.SSHFP == "" || !strings.HasPrefix(k.Format, "PuTTY v")) {
			t.Fatalf("inconsistent key %+v", k)
		}
	})
}

func FuzzAuthorizedLine(f *testing.F) {
	for _, b := range fixtures(f) {
		for _, l := range strings.Split(string(b), "\n") {
			if isKeyType(strings.SplitN(l, " ", 2)[0]) {
				f.Add(l)
				f.Add(`from="10.0.0.1",command="echo \"hi there\"" ` + l)
			}
		}
	}
	f.Add(`no-pty "unterminated ssh-rsa AAAA`)
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parseAuthorizedLine(s)
		if err != nil {
			return
		}
		if !isKeyType(k.Type) {
			t.Fatalf("accepted type %q", k.Type)
		}
		if k.BlobErr == nil {
			_, _ = parseSSHPublicKey(k.Blob)
		}
	})
}

// FuzzScan checks the chunked search: any chunk size gives the same
// markers as one read of the whole input, and every block found goes
// through the parsers without a panic.
func FuzzScan(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b, uint16(37))
		f.Add(append(append([]byte("\x00\x01junk\n"), b...), b...), uint16(5))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		ctx := context.Background()
		collect := func(size int) []hit {
			var hits []hit
			if err := scanMarkers(ctx, bytes.NewReader(b), int64(len(b)), size, func(h hit) bool {
				hits = append(hits, h)
				return len(hits) < 64
			}); err != nil {
				t.Fatal(err)
			}
			return hits
		}
		whole := collect(len(b) + 1)
		if small := collect(int(chunk%512) + 1); !reflect.DeepEqual(whole, small) {
			t.Fatalf("chunk %d: %v, whole: %v", chunk%512+1, small, whole)
		}
		for _, h := range whole {
			if h.Off < 0 || h.Off >= int64(len(b)) || h.Line < 1 {
				t.Fatalf("bad hit %+v", h)
			}
			if h.PuTTY {
				_, _ = parsePuTTY(b[h.Off:])
				continue
			}
			seg, err := readBlock(bytes.NewReader(b), int64(len(b)), h.Off, h.Label)
			if err != nil {
				continue
			}
			blk, err := decodePEM(seg)
			if err != nil {
				continue
			}
			if strings.HasSuffix(blk.Type, "CERTIFICATE") {
				_, _ = parseCertBlock(blk)
			} else {
				_, _ = parseKeyBlock(blk)
			}
		}
	})
}

// FuzzKeyBlock feeds DER under every label the analyser reads.
func FuzzKeyBlock(f *testing.F) {
	for _, b := range fixtures(f) {
		if blk, _ := pem.Decode(b); blk != nil {
			f.Add(blk.Type, blk.Bytes)
		}
	}
	f.Fuzz(func(t *testing.T, label string, der []byte) {
		blk := &pem.Block{Type: label, Bytes: der}
		if strings.HasSuffix(label, "CERTIFICATE") {
			_, _ = parseCertBlock(blk)
			return
		}
		k, err := parseKeyBlock(blk)
		if err == nil && k.Format == "" {
			t.Fatalf("key without format %+v", k)
		}
	})
}
