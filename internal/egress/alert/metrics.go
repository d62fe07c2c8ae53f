package alert

import "github.com/netvet/netvet/internal/egress/metrics"

// Families returns the delivery counters of the sinks that keep them (the
// webhook and syslog) as Prometheus metric families. m should hold at most
// one sink of each kind, as watch builds it.
func (m Multi) Families() []metrics.Family {
	var out []metrics.Family
	for _, s := range m {
		if f, ok := s.(interface{ Families() []metrics.Family }); ok {
			out = append(out, f.Families()...)
		}
	}
	return out
}

// Families returns the webhook's counters: alerts by outcome, retries and
// the alerts waiting in the queue.
func (w *Webhook) Families() []metrics.Family {
	st := &w.stats
	res := metrics.Family{Name: "netvet_egress_webhook_alerts_total", Type: metrics.Counter,
		Help: "Alerts handed to the webhook, by outcome: sent (2xx answer), dropped (queue full, or left at exit), failed (given up after the retries or a 4xx answer)."}
	for _, r := range []struct {
		name string
		v    uint64
	}{{"sent", st.Sent.Load()}, {"dropped", st.Dropped.Load()}, {"failed", st.Failed.Load()}} {
		res.Samples = append(res.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "result", Value: r.name}}, Value: float64(r.v)})
	}
	w.mu.Lock()
	queued := len(w.queue)
	w.mu.Unlock()
	return []metrics.Family{res,
		{Name: "netvet_egress_webhook_retries_total", Help: "Webhook attempts after the first.", Type: metrics.Counter,
			Samples: []metrics.Sample{{Value: float64(st.Retries.Load())}}},
		{Name: "netvet_egress_webhook_queue", Help: "Alerts waiting for the webhook.", Type: metrics.Gauge,
			Samples: []metrics.Sample{{Value: float64(queued)}}},
	}
}

// Families returns the syslog sink's counters: messages sent and send
// errors.
func (s *Syslog) Families() []metrics.Family {
	return []metrics.Family{
		{Name: "netvet_egress_syslog_messages_total", Help: "Alerts sent to syslog.", Type: metrics.Counter,
			Samples: []metrics.Sample{{Value: float64(s.Sent.Load())}}},
		{Name: "netvet_egress_syslog_errors_total", Help: "Alerts syslog could not send (after one redial over TCP).", Type: metrics.Counter,
			Samples: []metrics.Sample{{Value: float64(s.Errors.Load())}}},
	}
}
