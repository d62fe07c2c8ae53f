package flow

import (
	"encoding/binary"
	"fmt"
)

// The checks below run before goflow2 sees a datagram. goflow2 v2.2.6 sizes
// some allocations from header counts (v5 record count, template field
// counts, sFlow expanded-sample record counts) before it knows the bytes are
// there; these checks make every count fit the bytes that carry it.

func checkV5(p []byte) error {
	if len(p) < 24 {
		return fmt.Errorf("%w: netflow v5: header truncated (%d bytes)", ErrMalformed, len(p))
	}
	n := int(binary.BigEndian.Uint16(p[2:]))
	if 24+48*n > len(p) {
		return fmt.Errorf("%w: netflow v5: count %d needs %d bytes, datagram has %d", ErrMalformed, n, 24+48*n, len(p))
	}
	return nil
}

func checkNetFlow(p []byte) error {
	version := binary.BigEndian.Uint16(p)
	off := 20
	if version == 10 {
		off = 16
		if len(p) < 16 {
			return fmt.Errorf("%w: ipfix: header truncated (%d bytes)", ErrMalformed, len(p))
		}
		l := int(binary.BigEndian.Uint16(p[2:]))
		if l < 16 || l > len(p) {
			return fmt.Errorf("%w: ipfix: message length %d, datagram %d bytes", ErrMalformed, l, len(p))
		}
		p = p[:l]
	} else if len(p) < 20 {
		return fmt.Errorf("%w: netflow v9: header truncated (%d bytes)", ErrMalformed, len(p))
	}
	for off+4 <= len(p) {
		id := binary.BigEndian.Uint16(p[off:])
		l := int(binary.BigEndian.Uint16(p[off+2:]))
		if l < 4 || off+l > len(p) {
			return fmt.Errorf("%w: version %d: set %d at offset %d: length %d beyond datagram (%d bytes)", ErrMalformed, version, id, off, l, len(p))
		}
		body := p[off+4 : off+l]
		var err error
		switch {
		case (version == 9 && id == 0) || (version == 10 && id == 2):
			err = checkTemplates(version, body)
		case version == 9 && id == 1:
			err = checkV9Options(body)
		case version == 10 && id == 3:
			err = checkIPFIXOptions(body)
		}
		if err != nil {
			return fmt.Errorf("%w: version %d: set at offset %d: %v", ErrMalformed, version, off, err)
		}
		off += l
	}
	return nil
}

// skipFields walks n field specifiers and returns the bytes they take.
func skipFields(version uint16, b []byte, n int) (int, error) {
	off := 0
	for i := 0; i < n; i++ {
		if off+4 > len(b) {
			return 0, fmt.Errorf("field %d of %d truncated", i, n)
		}
		t := binary.BigEndian.Uint16(b[off:])
		off += 4
		if version == 10 && t&0x8000 != 0 {
			off += 4
			if off > len(b) {
				return 0, fmt.Errorf("field %d of %d: enterprise number truncated", i, n)
			}
		}
	}
	return off, nil
}

func checkTemplates(version uint16, b []byte) error {
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint16(b[2:]))
		used, err := skipFields(version, b[4:], n)
		if err != nil {
			return fmt.Errorf("template %d: %v", binary.BigEndian.Uint16(b), err)
		}
		b = b[4+used:]
	}
	return nil
}

func checkV9Options(b []byte) error {
	for len(b) >= 6 {
		scope := int(binary.BigEndian.Uint16(b[2:])) / 4 * 4
		opt := int(binary.BigEndian.Uint16(b[4:])) / 4 * 4
		if 6+scope+opt > len(b) {
			return fmt.Errorf("options template %d: scope %d + options %d bytes beyond set", binary.BigEndian.Uint16(b), scope, opt)
		}
		b = b[6+scope+opt:]
	}
	if len(b) >= 4 {
		// goflow2 reads a record header from 4 or 5 trailing bytes and fails.
		return fmt.Errorf("options template set: %d trailing bytes", len(b))
	}
	return nil
}

func checkIPFIXOptions(b []byte) error {
	for len(b) >= 4 {
		if len(b) < 6 {
			return fmt.Errorf("options template truncated")
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		scope := int(binary.BigEndian.Uint16(b[4:]))
		if scope > n {
			return fmt.Errorf("options template %d: %d scope fields of %d", binary.BigEndian.Uint16(b), scope, n)
		}
		used, err := skipFields(10, b[6:], n)
		if err != nil {
			return fmt.Errorf("options template %d: %v", binary.BigEndian.Uint16(b), err)
		}
		b = b[6+used:]
	}
	return nil
}

// sFlow sample formats and where their record count sits in the sample body.
var sflowCountOffset = map[uint32]int{1: 28, 2: 8, 3: 40, 4: 12, 5: 28}

func checkSFlow(p []byte) error {
	if len(p) < 8 {
		return fmt.Errorf("%w: sflow: header truncated", ErrMalformed)
	}
	off := 8
	switch binary.BigEndian.Uint32(p[4:]) {
	case 1:
		off += 4
	case 2:
		off += 16
	default:
		return fmt.Errorf("%w: sflow: agent address type %d", ErrMalformed, binary.BigEndian.Uint32(p[4:]))
	}
	if off+16 > len(p) {
		return fmt.Errorf("%w: sflow: header truncated", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(p[off+12:])
	off += 16
	if n > 1000 || int(n)*8 > len(p)-off {
		return fmt.Errorf("%w: sflow: %d samples in %d bytes", ErrMalformed, n, len(p)-off)
	}
	for i := 0; i < int(n) && off+8 <= len(p); i++ {
		format := binary.BigEndian.Uint32(p[off:])
		l := int(binary.BigEndian.Uint32(p[off+4:]))
		off += 8
		if l < 0 || l > len(p)-off {
			return fmt.Errorf("%w: sflow: sample %d: length %d beyond datagram", ErrMalformed, i, l)
		}
		body := p[off : off+l]
		off += l
		co, ok := sflowCountOffset[format]
		if !ok || co+4 > len(body) {
			continue // goflow2 rejects these itself
		}
		cnt := binary.BigEndian.Uint32(body[co:])
		if cnt > 1000 || int(cnt)*8 > len(body)-co-4 {
			return fmt.Errorf("%w: sflow: sample %d: %d records in %d bytes", ErrMalformed, i, cnt, len(body)-co-4)
		}
	}
	return nil
}
