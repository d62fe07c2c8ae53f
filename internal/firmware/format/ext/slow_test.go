package ext

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func FuzzSlow(f *testing.F) {
	for _, fx := range fixtures {
		img := loadGz(f, fx.name)
		if len(img) > 128<<10 {
			img = img[:128<<10]
		}
		f.Add(img)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st := time.Now()
		fwtest.Fuzz(ctx, New(), b)
		if time.Since(st) > time.Second {
			os.WriteFile(fmt.Sprintf("/tmp/slow-%x", sha256.Sum256(b)), b, 0o644)
		}
	})
}
