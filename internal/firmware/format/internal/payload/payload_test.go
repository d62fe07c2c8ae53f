package payload

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"testing/iotest"

	"github.com/netvet/netvet/internal/firmware"
)

func TestStreamKeepsDataBeforeAnError(t *testing.T) {
	bad := errors.New("corrupt block")
	s := &Stream{Ctx: context.Background(), R: io.MultiReader(bytes.NewReader([]byte("decoded")), iotest.ErrReader(bad))}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "decoded" {
		t.Fatalf("ReadAll = %q, %v; want the decoded bytes and no error", got, err)
	}
	if !errors.Is(s.Err, bad) || s.Done() {
		t.Fatalf("Err = %v, Done = %v; want the decoder's error, not done", s.Err, s.Done())
	}
	ok := &Stream{Ctx: context.Background(), R: bytes.NewReader([]byte("all"))}
	if b, _ := io.ReadAll(ok); string(b) != "all" || !ok.Done() || ok.Err != nil {
		t.Fatalf("clean stream: %q done=%v err=%v", b, ok.Done(), ok.Err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Stream{Ctx: ctx, R: bytes.NewReader([]byte("x"))}).Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// shortSink reads ten bytes of each file and stops without an error.
type shortSink struct{}

func (shortSink) Put(ctx context.Context, e firmware.Entry, r io.Reader) error {
	_, err := io.CopyN(io.Discard, r, 10)
	return err
}
func (shortSink) Fail(firmware.Entry, error) {}

func TestPutHashedHashesWhatTheSinkSkipped(t *testing.T) {
	data := bytes.Repeat([]byte("payload "), 1000)
	h := crc32.NewIEEE()
	e := firmware.Entry{Path: "p", Type: firmware.TypeFile, Offset: 0, Size: int64(len(data))}
	if err := PutHashed(context.Background(), "test", shortSink{}, bytes.NewReader(data), e, h); err != nil {
		t.Fatal(err)
	}
	if got, want := h.Sum32(), crc32.ChecksumIEEE(data); got != want {
		t.Fatalf("checksum %08x, want %08x over the whole payload", got, want)
	}
	if err := HashRange(context.Background(), "test", io.Discard, bytes.NewReader(data), 0, int64(len(data))+1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("HashRange past the end: %v", err)
	}
}
