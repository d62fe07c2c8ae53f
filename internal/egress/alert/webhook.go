package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netvet/netvet/internal/egress"
)

// WebhookConfig sets up a Webhook. Zero fields take the defaults in brackets.
type WebhookConfig struct {
	URL        string
	Client     *http.Client  // [a new client]
	Timeout    time.Duration // per attempt [10s]
	MaxRetries int           // attempts after the first [5]
	Backoff    time.Duration // first wait between attempts, doubled each time up to MaxBackoff [500ms]
	MaxBackoff time.Duration // [30s]
	QueueSize  int           // alerts waiting; when full the oldest is dropped [1000]
	Header     http.Header   // extra request headers (e.g. Authorization)
	Log        *slog.Logger
}

// WebhookStats count what the webhook did.
type WebhookStats struct {
	Sent    atomic.Uint64 // alerts delivered (2xx)
	Dropped atomic.Uint64 // alerts dropped because the queue was full
	Failed  atomic.Uint64 // alerts given up on after the retries or a 4xx answer
	Retries atomic.Uint64 // attempts after the first
}

// Webhook POSTs each alert as one JSON object from a background goroutine.
// 5xx, 429 and network errors are retried with exponential backoff; other
// 4xx answers are not.
type Webhook struct {
	cfg    WebhookConfig
	stats  WebhookStats
	mu     sync.Mutex
	queue  []egress.Alert
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	closed bool
}

// NewWebhook checks cfg and starts the sender.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alert: webhook URL %q: want http(s)://host/path", cfg.URL)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	} else if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w := &Webhook{cfg: cfg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

// Stats returns the live counters.
func (w *Webhook) Stats() *WebhookStats { return &w.stats }

// Send queues the alerts; it never blocks on the network.
func (w *Webhook) Send(alerts []egress.Alert) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errors.New("alert: webhook closed")
	}
	for _, a := range alerts {
		if len(w.queue) >= w.cfg.QueueSize {
			w.queue = w.queue[1:]
			w.stats.Dropped.Add(1)
		}
		w.queue = append(w.queue, a)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops accepting alerts and waits until the queue is sent or ctx is
// done; what is left then is counted as dropped.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
	w.mu.Lock()
	left := len(w.queue)
	w.queue = nil
	w.mu.Unlock()
	if left > 0 {
		w.stats.Dropped.Add(uint64(left))
		return fmt.Errorf("alert: webhook: %d alerts not delivered", left)
	}
	return nil
}

func (w *Webhook) pop() (egress.Alert, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return egress.Alert{}, false
	}
	a := w.queue[0]
	w.queue = w.queue[1:]
	return a, true
}

func (w *Webhook) run() {
	defer close(w.done)
	for {
		for {
			if w.ctx.Err() != nil {
				return
			}
			a, ok := w.pop()
			if !ok {
				break
			}
			w.deliver(&a)
		}
		select {
		case <-w.wake:
		case <-w.stop:
			// drain what is queued, then stop
			for {
				if w.ctx.Err() != nil {
					return
				}
				a, ok := w.pop()
				if !ok {
					return
				}
				w.deliver(&a)
			}
		case <-w.ctx.Done():
			return
		}
	}
}

func (w *Webhook) deliver(a *egress.Alert) {
	body, err := json.Marshal(a)
	if err != nil {
		w.stats.Failed.Add(1)
		return
	}
	wait := w.cfg.Backoff
	for attempt := 0; ; attempt++ {
		retry, err := w.post(body)
		if err == nil {
			w.stats.Sent.Add(1)
			return
		}
		if !retry || attempt >= w.cfg.MaxRetries {
			w.stats.Failed.Add(1)
			w.cfg.Log.Warn("webhook: giving up on an alert", "url", redactURL(w.cfg.URL), "attempts", attempt+1, "err", err)
			return
		}
		w.stats.Retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			w.stats.Failed.Add(1)
			return
		}
		wait = min(wait*2, w.cfg.MaxBackoff)
	}
}

func (w *Webhook) post(body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	for k, v := range w.cfg.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return true, fmt.Errorf("HTTP %d", resp.StatusCode)
	default:
		return false, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
}

// redactURL drops user info and the query, which may hold tokens.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
