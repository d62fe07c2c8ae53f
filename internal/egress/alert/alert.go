// Package alert delivers egress alerts: text or JSON lines to a writer,
// HTTP POST to a webhook with retries and a bounded queue, and RFC 5424
// syslog over UDP or TCP.
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/netvet/netvet/internal/egress"
)

// Sink receives alerts. Send must not block for long; Close flushes what
// is pending until ctx is done.
type Sink interface {
	Send(alerts []egress.Alert) error
	Close(ctx context.Context) error
}

// Format of a Writer.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Writer writes one line per alert.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	format string
	closer io.Closer
}

// NewWriter returns a Writer in format text or json (JSON lines). closer,
// when not nil, is closed by Close.
func NewWriter(w io.Writer, format string, closer io.Closer) (*Writer, error) {
	if format != FormatText && format != FormatJSON {
		return nil, fmt.Errorf("alert: format %q: use text or json", format)
	}
	return &Writer{w: w, format: format, closer: closer}, nil
}

// Send writes the alerts.
func (w *Writer) Send(alerts []egress.Alert) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range alerts {
		var line []byte
		if w.format == FormatJSON {
			b, err := json.Marshal(&alerts[i])
			if err != nil {
				return fmt.Errorf("alert: %w", err)
			}
			line = b
		} else {
			line = []byte(alerts[i].Text())
		}
		line = append(line, '\n')
		if _, err := w.w.Write(line); err != nil {
			return fmt.Errorf("alert: write: %w", err)
		}
	}
	return nil
}

// Close closes the underlying file, if any.
func (w *Writer) Close(context.Context) error {
	if w.closer != nil {
		return w.closer.Close()
	}
	return nil
}

// Multi sends to every sink and joins their errors.
type Multi []Sink

// Send sends to each sink.
func (m Multi) Send(alerts []egress.Alert) error {
	var errs []error
	for _, s := range m {
		errs = append(errs, s.Send(alerts))
	}
	return errors.Join(errs...)
}

// Close closes each sink.
func (m Multi) Close(ctx context.Context) error {
	var errs []error
	for _, s := range m {
		errs = append(errs, s.Close(ctx))
	}
	return errors.Join(errs...)
}
