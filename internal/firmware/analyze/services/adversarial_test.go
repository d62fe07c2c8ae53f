package services

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestAdversarialScripts: scripts written to make the walk explode
// (nested loops over globs, exponential function calls, long words, deep
// nesting, many scripts calling each other) finish quickly.
func TestAdversarialScripts(t *testing.T) {
	many := []fwtest.FSEntry{}
	for i := 0; i < 200; i++ {
		many = append(many, file(fmt.Sprintf("/etc/init.d/S%03d", i), fmt.Sprintf("#!/bin/sh\nfor j in /etc/init.d/S*; do $j start $1$1; done\n/etc/init.d/S%03d $1\n", (i+1)%200)))
	}
	cases := map[string][]fwtest.FSEntry{
		"nested loops":      {file("/etc/init.d/rcS", "#!/bin/sh\nfor a in /bin/* /bin/* /bin/*; do for b in /bin/* /bin/*; do for c in /bin/* /bin/*; do for d in /bin/*; do telnetd -l /bin/login $a$b$c$d; done; done; done; done\n")},
		"exponential calls": {file("/etc/init.d/rcS", "#!/bin/sh\nf() { f $1$1; f $1$1; f $1; }\nf xxxxxxxxxxxxxxxx\n")},
		"deep nesting":      {file("/etc/init.d/rcS", "#!/bin/sh\n"+strings.Repeat("if a; then { ( ", 5000)+"telnetd"+strings.Repeat(" ) }; fi ", 5000)+"\n")},
		"long line":         {file("/etc/init.d/rcS", "#!/bin/sh\ntelnetd "+strings.Repeat("-l /bin/sh ", 100000)+"\n")},
		"many scripts":      append(many, file("/etc/init.d/rcS", "#!/bin/sh\nfor i in /etc/init.d/S*; do $i start; done\n")),
		"eval bomb":         {file("/etc/init.d/rcS", "#!/bin/sh\nA='eval $A; eval $A'\neval $A\n")},
	}
	for name, es := range cases {
		t.Run(name, func(t *testing.T) {
			es = entries(busybox("telnetd"), []fwtest.FSEntry{file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n")}, es)
			start := time.Now()
			run(t, es)
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("took %v", d)
			}
			t.Logf("%v", time.Since(start))
		})
	}
}
