package labelled

import (
	"bytes"
	"debug/elf"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	for seed := uint64(0); seed < 3; seed++ {
		a, b := Generate(seed), Generate(seed)
		if !bytes.Equal(a.Data, b.Data) {
			t.Fatalf("seed %d: two images differ", seed)
		}
		if len(a.Labels) != Indicators() {
			t.Fatalf("seed %d: %d labels, want %d", seed, len(a.Labels), Indicators())
		}
		if c := Control(seed); !c.Clean || len(c.Labels) != 0 {
			t.Fatalf("control %d has labels", seed)
		}
	}
}

func TestELFImageParses(t *testing.T) {
	for _, s := range []elfSpec{
		{machine: elfMIPS, bigEndian: true, nx: true, pie: true, relro: true, strings: []string{"x"}},
		{machine: elfARM, nx: false},
	} {
		f, err := elf.NewFile(bytes.NewReader(elfImage(s)))
		if err != nil {
			t.Fatal(err)
		}
		var stack *elf.Prog
		for _, p := range f.Progs {
			if p.Type == elf.PT_GNU_STACK {
				stack = p
			}
		}
		if stack == nil || (stack.Flags&elf.PF_X == 0) != s.nx {
			t.Fatalf("%+v: stack %+v", s, stack)
		}
		if (f.Type == elf.ET_DYN) != s.pie || f.Machine != elf.Machine(s.machine) {
			t.Fatalf("%+v: type %v machine %v", s, f.Type, f.Machine)
		}
	}
}
