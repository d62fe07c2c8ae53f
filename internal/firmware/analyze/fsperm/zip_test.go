package fsperm

import (
	"io/fs"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestZipRootModes: a .jar unpacked from a Debian root (made on a system
// that stored 0666 for every entry) raises nothing, while the same modes
// in the squashfs root do.
func TestZipRootModes(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FSEntry{Path: "/META-INF", Mode: 0o666, Type: firmware.TypeDir},
		fwtest.FileEntry("/META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n", 0o666),
		fwtest.FileEntry("/javax/annotation/Generated.class", "\xca\xfe\xba\xbe", 0o666|fs.ModeSetuid),
	)
	if got := run(t, tr); len(got) != 4 {
		t.Fatalf("squashfs root: got %d findings, want 4 (three NV-FS-006, one NV-FS-004): %+v", len(got), got)
	}
	jar := &firmware.Root{Path: "img/usr/share/java/geronimo-annotation-1.3-spec.jar", Format: "zip"}
	for _, f := range tr.Files {
		if f.Root != nil {
			f.Root = jar
		}
	}
	if got := run(t, tr); len(got) != 0 {
		t.Fatalf("zip root: got %+v, want nothing", got)
	}
}
