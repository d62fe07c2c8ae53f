package alert

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/metrics"
)

// TestSinkFamilies: the webhook's and syslog's delivery counters reach
// /metrics through Multi.Families; the writer has none.
func TestSinkFamilies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/bad") {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	wr, err := NewWriter(&strings.Builder{}, FormatText, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Three alerts into a queue of two each time: some may be dropped;
	// the others are sent, or given up at once on a 4xx answer.
	for _, path := range []string{"/hook", "/bad"} {
		hook, err := NewWebhook(WebhookConfig{URL: srv.URL + path, QueueSize: 2, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		sl, err := NewSyslog(SyslogConfig{URL: "udp://" + pc.LocalAddr().String()})
		if err != nil {
			t.Fatal(err)
		}
		m := Multi{wr, hook, sl}
		if err := m.Send([]egress.Alert{sample(1), sample(2), sample(3)}); err != nil {
			t.Fatal(err)
		}
		_ = hook.Close(ctx)
		var b strings.Builder
		if err := metrics.Write(&b, m.Families()); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		sent, dropped, failed := hook.Stats().Sent.Load(), hook.Stats().Dropped.Load(), hook.Stats().Failed.Load()
		ok := sent > 0 && failed == 0
		if path == "/bad" {
			ok = sent == 0 && failed > 0
		}
		if !ok || sent+dropped+failed != 3 {
			t.Errorf("%s: webhook sent %d dropped %d failed %d", path, sent, dropped, failed)
		}
		for _, want := range []string{
			"# TYPE netvet_egress_webhook_alerts_total counter\n",
			`netvet_egress_webhook_alerts_total{result="sent"} ` + strconv.FormatUint(sent, 10) + "\n",
			`netvet_egress_webhook_alerts_total{result="dropped"} ` + strconv.FormatUint(dropped, 10) + "\n",
			`netvet_egress_webhook_alerts_total{result="failed"} ` + strconv.FormatUint(failed, 10) + "\n",
			"netvet_egress_webhook_retries_total 0\n",
			"# TYPE netvet_egress_webhook_queue gauge\nnetvet_egress_webhook_queue 0\n",
			"netvet_egress_syslog_messages_total 3\n",
			"netvet_egress_syslog_errors_total 0\n",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: metrics lack %q:\n%s", path, want, text)
			}
		}
		sl.Close(ctx)
	}
}
