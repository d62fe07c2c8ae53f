package squashfs

import (
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// discardSink reads every file to the end and keeps nothing.
type discardSink struct{ n int64 }

func (s *discardSink) Put(ctx context.Context, e firmware.Entry, r io.Reader) error {
	if r != nil {
		n, err := io.Copy(io.Discard, r)
		s.n += n
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *discardSink) Fail(e firmware.Entry, err error) {}

// BenchmarkExtract extracts an xz image of about 100 MiB of real binaries.
// It needs mksquashfs. The tree is SQUASHFS_BENCH_TREE, or the first
// 100 MiB of files under /usr/lib/x86_64-linux-gnu copied to a temporary
// directory; SQUASHFS_BENCH_IMAGE names an image to reuse across runs.
func BenchmarkExtract(b *testing.B) {
	mk, err := exec.LookPath("mksquashfs")
	if err != nil {
		b.Skip("mksquashfs not in PATH")
	}
	src := os.Getenv("SQUASHFS_BENCH_TREE")
	if src == "" {
		src = "/usr/lib/x86_64-linux-gnu"
	}
	img := os.Getenv("SQUASHFS_BENCH_IMAGE")
	if img == "" {
		img = filepath.Join(b.TempDir(), "bench.sqfs")
	}
	if _, err := os.Stat(img); err != nil {
		if os.Getenv("SQUASHFS_BENCH_TREE") == "" {
			tree := filepath.Join(b.TempDir(), "tree")
			if err := copyTree(src, tree, 100<<20); err != nil {
				b.Skip("no source tree: ", err)
			}
			src = tree
		}
		out, err := exec.Command(mk, src, img, "-comp", "xz", "-noappend", "-quiet", "-no-progress").CombinedOutput()
		if err != nil {
			b.Fatalf("mksquashfs: %v\n%s", err, out)
		}
	}
	f, err := os.Open(img)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := &discardSink{}
		if _, err := New().Extract(context.Background(), f, st.Size(), s); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s.n)/(1<<20), "MiB-out")
	}
}

// copyTree copies regular files and symlinks from src to dst in walk order
// until limit bytes have been copied.
func copyTree(src, dst string, limit int64) error {
	var total int64
	errFull := io.EOF
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err == nil {
				os.Symlink(t, out)
			}
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			total += int64(len(b))
			if total >= limit {
				return errFull
			}
		}
		return nil
	})
	if err == errFull {
		err = nil
	}
	if err == nil && total == 0 {
		err = fs.ErrNotExist
	}
	return err
}
