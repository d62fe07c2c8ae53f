// Package pcap reads pcap and pcapng captures (pure Go, gopacket's pcapgo)
// with size and packet caps, and turns them into flow.Records in two ways:
// a flow meter over the captured packets, and extraction of NetFlow, IPFIX
// and sFlow export datagrams that are handed to a flow.Decoder.
package pcap

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Limits bound what a capture may make us read.
type Limits struct {
	MaxFileSize int64 // bytes (default 8 GiB)
	MaxPackets  int64 // packets read before stopping (default 100 million)
	MaxSnap     int   // largest captured packet accepted (default 262144)
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = 8 << 30
	}
	if l.MaxPackets <= 0 {
		l.MaxPackets = 100_000_000
	}
	if l.MaxSnap <= 0 {
		l.MaxSnap = 262144
	}
	return l
}

// Errors for captures that cannot be read.
var (
	ErrFormat   = errors.New("pcap: not a pcap or pcapng file")
	ErrTooLarge = errors.New("pcap: capture exceeds a limit")
)

// packetSource is what pcapgo's two readers share.
type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader reads packets from a capture file.
type Reader struct {
	path    string
	f       *os.File
	src     packetSource
	link    layers.LinkType
	mixed   bool // pcapng: per-packet link type in AncillaryData
	lim     Limits
	packets int64
}

// Open opens a pcap or pcapng file, chosen by its magic number.
func Open(path string, lim Limits) (*Reader, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() > lim.MaxFileSize {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrTooLarge, path, st.Size(), lim.MaxFileSize)
	}
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	r := &Reader{path: path, f: f, lim: lim}
	switch binary.LittleEndian.Uint32(magic[:]) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		pr, err := pcapgo.NewReader(bufio.NewReader(f))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
		}
		// pcapgo allocates the captured length of each packet, bounded
		// by the snap length, which the file itself sets.
		if pr.Snaplen() == 0 || pr.Snaplen() > uint32(lim.MaxSnap) {
			pr.SetSnaplen(uint32(lim.MaxSnap))
		}
		r.src, r.link = pr, pr.LinkType()
	case 0x0a0d0d0a:
		nr, err := pcapgo.NewNgReader(&ngGuard{r: f, maxSnap: uint32(lim.MaxSnap)}, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
		}
		r.src, r.link, r.mixed = nr, nr.LinkType(), true
	default:
		f.Close()
		return nil, fmt.Errorf("%w: %s: magic %x", ErrFormat, path, magic)
	}
	return r, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Packet is one captured packet.
type Packet struct {
	Data     []byte
	Time     time.Time
	LinkType layers.LinkType
	Length   int // original length on the wire
}

// Next returns the next packet, io.EOF at the end, or an error that stops
// the read (a truncated or corrupt file, a limit).
func (r *Reader) Next() (Packet, error) {
	if r.packets >= r.lim.MaxPackets {
		return Packet{}, fmt.Errorf("%w: %s: more than %d packets", ErrTooLarge, r.path, r.lim.MaxPackets)
	}
	data, ci, err := r.src.ReadPacketData()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Packet{}, io.EOF
		}
		return Packet{}, fmt.Errorf("pcap: %s: packet %d: %w", r.path, r.packets+1, err)
	}
	r.packets++
	p := Packet{Data: data, Time: ci.Timestamp.UTC(), LinkType: r.link, Length: ci.Length}
	if r.mixed && len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			p.LinkType = lt
		}
	}
	return p, nil
}

// Packets returns the number of packets read so far.
func (r *Reader) Packets() int64 { return r.packets }

// forEach reads every packet of path, stopping on ctx.
func forEach(ctx context.Context, path string, lim Limits, fn func(Packet)) (int64, error) {
	r, err := Open(path, lim)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for {
		if r.packets%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return r.packets, err
			}
		}
		p, err := r.Next()
		if err == io.EOF {
			return r.packets, nil
		}
		if err != nil {
			return r.packets, err
		}
		fn(p)
	}
}

// ngGuard checks pcapng block headers as the bytes stream past, before
// pcapgo parses them: pcapgo allocates a packet's captured length without
// checking it against the block, so a block that claims more than it holds
// (or more than MaxSnap) ends the stream there with an error.
type ngGuard struct {
	r       io.Reader
	maxSnap uint32
	order   binary.ByteOrder
	hdr     [28]byte
	have    int    // header bytes collected for the current block
	skip    uint32 // body bytes left in the current block
	err     error
}

var errNgBlock = errors.New("pcap: pcapng block header invalid")

func (g *ngGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; {
		if g.skip > 0 {
			k := min(uint32(n-i), g.skip)
			i += int(k)
			g.skip -= k
			continue
		}
		g.hdr[g.have] = p[i]
		g.have++
		need, bad := g.check()
		if bad != nil {
			g.err = fmt.Errorf("%w: %v", errNgBlock, bad)
			return i, g.err // the offending header byte is withheld
		}
		i++
		if g.have == need {
			total := g.order.Uint32(g.hdr[4:8])
			g.skip, g.have = total-uint32(need), 0
		}
	}
	return n, err
}

// check validates the header bytes collected so far and returns how many
// header bytes this block type needs.
func (g *ngGuard) check() (int, error) {
	if g.have < 8 {
		return 8, nil
	}
	if binary.LittleEndian.Uint32(g.hdr[:4]) == 0x0a0d0d0a {
		if g.have < 12 {
			return 12, nil
		}
		switch binary.LittleEndian.Uint32(g.hdr[8:12]) {
		case 0x1a2b3c4d:
			g.order = binary.LittleEndian
		case 0x4d3c2b1a:
			g.order = binary.BigEndian
		default:
			return 0, fmt.Errorf("byte-order magic %x", g.hdr[8:12])
		}
	}
	if g.order == nil {
		return 0, errors.New("block before the section header")
	}
	typ, total := g.order.Uint32(g.hdr[:4]), g.order.Uint32(g.hdr[4:8])
	need := 8
	switch typ {
	case 0x0a0d0d0a:
		need = 12
	case 6: // enhanced packet
		need = 28
	case 3: // simple packet
		need = 12
	case 2: // obsolete packet block
		need = 28
	}
	if total < uint32(need)+4 || total%4 != 0 {
		return 0, fmt.Errorf("block type %d: total length %d", typ, total)
	}
	if g.have < need {
		return need, nil
	}
	var capLen uint32
	switch typ {
	case 6, 2:
		capLen = g.order.Uint32(g.hdr[20:24])
		if capLen > total-32 {
			return 0, fmt.Errorf("packet block: captured length %d in a %d-byte block", capLen, total)
		}
	case 3:
		capLen = g.order.Uint32(g.hdr[8:12])
		if capLen > total-16 {
			return 0, fmt.Errorf("simple packet block: length %d in a %d-byte block", capLen, total)
		}
	}
	if capLen > g.maxSnap {
		return 0, fmt.Errorf("packet of %d bytes over the limit %d", capLen, g.maxSnap)
	}
	return need, nil
}
