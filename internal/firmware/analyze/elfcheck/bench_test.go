package elfcheck

import (
	"os"
	"testing"
)

// BenchmarkInspectCorpus profiles the files of hostFiles (the host sample,
// or NETVET_ELF_CORPUS) once per iteration; bench/checksec.sh compares its
// time with checksec's on the same files.
func BenchmarkInspectCorpus(b *testing.B) {
	files := hostFiles()
	if len(files) == 0 {
		b.Skip("no ELF files")
	}
	var bytes int64
	for _, p := range files {
		if st, err := os.Stat(p); err == nil {
			bytes += st.Size()
		}
	}
	b.SetBytes(bytes)
	for b.Loop() {
		for _, p := range files {
			fh, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			st, _ := fh.Stat()
			if _, err := Inspect(fh, st.Size()); err != nil {
				b.Errorf("%s: %v", p, err)
			}
			fh.Close()
		}
	}
	b.ReportMetric(float64(len(files)), "files")
}
