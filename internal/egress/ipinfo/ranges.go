package ipinfo

import (
	"errors"
	"math/bits"
	"net/netip"
)

// rangePrefixes appends to dst the minimal list of prefixes covering the
// inclusive range [start, end]. Both addresses must be of the same family
// and start <= end. At most 2*bits prefixes are produced.
func rangePrefixes(dst []netip.Prefix, start, end netip.Addr) ([]netip.Prefix, error) {
	if start.Is4() != end.Is4() {
		return dst, errors.New("range mixes IPv4 and IPv6")
	}
	if end.Less(start) {
		return dst, errors.New("range end is before start")
	}
	if start.Is4() {
		a4, b4 := start.As4(), end.As4()
		a := uint64(a4[0])<<24 | uint64(a4[1])<<16 | uint64(a4[2])<<8 | uint64(a4[3])
		b := uint64(b4[0])<<24 | uint64(b4[1])<<16 | uint64(b4[2])<<8 | uint64(b4[3])
		for a <= b {
			// largest block aligned at a that stays within [a, b]
			size := 32
			if a != 0 {
				size = bits.TrailingZeros64(a)
				if size > 32 {
					size = 32
				}
			}
			for size > 0 && a+(uint64(1)<<size)-1 > b {
				size--
			}
			ip := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
			dst = append(dst, netip.PrefixFrom(ip, 32-size))
			a += uint64(1) << size
			if a > 0xffffffff {
				break
			}
		}
		return dst, nil
	}
	a, b := u128From(start), u128From(end)
	for {
		size := a.trailingZeros()
		for size > 0 && a.add(u128{}.pow2(size).sub1()).gt(b) {
			size--
		}
		dst = append(dst, netip.PrefixFrom(a.addr(), 128-size))
		last := a.add(u128{}.pow2(size).sub1())
		if !last.lt(b) {
			return dst, nil
		}
		a = last.inc()
	}
}

type u128 struct{ hi, lo uint64 }

func u128From(a netip.Addr) u128 {
	b := a.As16()
	var u u128
	for i := 0; i < 8; i++ {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

func (u u128) addr() netip.Addr {
	var b [16]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(u.hi >> (8 * (7 - i)))
		b[8+i] = byte(u.lo >> (8 * (7 - i)))
	}
	return netip.AddrFrom16(b)
}

func (u u128) trailingZeros() int {
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	if u.hi != 0 {
		return 64 + bits.TrailingZeros64(u.hi)
	}
	return 128
}

// pow2 returns 2^n for n in [0,128]; 2^128 wraps to 0, and sub1 then gives
// the all-ones value, which is what the callers need for n == 128.
func (u128) pow2(n int) u128 {
	switch {
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{hi: 1 << (n - 64)}
	default:
		return u128{lo: 1 << n}
	}
}

func (u u128) sub1() u128 {
	lo, borrow := bits.Sub64(u.lo, 1, 0)
	hi, _ := bits.Sub64(u.hi, 0, borrow)
	return u128{hi, lo}
}

func (u u128) add(v u128) u128 {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, _ := bits.Add64(u.hi, v.hi, c)
	return u128{hi, lo}
}

func (u u128) inc() u128 { return u.add(u128{lo: 1}) }

func (u u128) lt(v u128) bool { return u.hi < v.hi || (u.hi == v.hi && u.lo < v.lo) }
func (u u128) gt(v u128) bool { return v.lt(u) }

func netipPrefix4(p netip.Prefix, bits int) netip.Prefix {
	return netip.PrefixFrom(p.Addr().Unmap(), bits)
}
