// Command mkdemo wraps the demo image's parts in the vendor containers of
// a consumer router: a Netgear CHK holding a Broadcom TRX, which holds a
// U-Boot kernel image and a SquashFS root filesystem, followed by an
// encrypted-looking configuration blob. It is run by make.sh.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"

	"github.com/netvet/netvet/internal/firmware/format/chk"
	"github.com/netvet/netvet/internal/firmware/format/trx"
)

func main() {
	kernel := flag.String("kernel", "", "uImage holding the kernel")
	rootfs := flag.String("rootfs", "", "SquashFS root filesystem")
	out := flag.String("o", "demo-router.bin", "output image")
	flag.Parse()
	k, err := os.ReadFile(*kernel)
	if err != nil {
		fail(err)
	}
	r, err := os.ReadFile(*rootfs)
	if err != nil {
		fail(err)
	}
	t := trx.Build([][]byte{k, r})
	img := chk.Build("U12H270T00_NETGEAR", t, nil)
	// 8 KiB of deterministic, incompressible bytes: what an encrypted
	// configuration partition looks like to an analyst.
	blob := make([]byte, 0, 8192)
	seed := sha256.Sum256([]byte("netvet demo config"))
	for len(blob) < 8192 {
		seed = sha256.Sum256(seed[:])
		blob = append(blob, seed[:]...)
	}
	img = append(img, blob...)
	if err := os.WriteFile(*out, img, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkdemo:", err)
	os.Exit(1)
}
