package kafka

import (
	"github.com/netvet/netvet/internal/egress/metrics"
)

func counter(name, help string, v uint64) metrics.Family {
	return metrics.Family{Name: name, Help: help, Type: metrics.Counter, Samples: []metrics.Sample{{Value: float64(v)}}}
}

func dropFamily(name, help string, d *Drops, reasons ...Reason) metrics.Family {
	f := metrics.Family{Name: name, Help: help, Type: metrics.Counter}
	for _, r := range reasons {
		f.Samples = append(f.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "reason", Value: r.String()}}, Value: float64(d.Get(r))})
	}
	return f
}

// Families returns the raw producer counters as metric families; fw may
// be nil.
func (p *RawProducer) Families(fw *ForwardStats) []metrics.Family {
	st := &p.stats
	drops := metrics.Family{Name: "netvet_kafka_raw_dropped_total", Help: "Datagrams not written to the raw topic, by reason.", Type: metrics.Counter}
	for _, d := range []struct {
		reason string
		v      uint64
	}{{"buffer_full", st.DropBuffer.Load()}, {"not_delivered", st.DropFailed.Load()}, {"invalid", st.DropInvalid.Load()}} {
		drops.Samples = append(drops.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "reason", Value: d.reason}}, Value: float64(d.v)})
	}
	out := []metrics.Family{
		counter("netvet_kafka_raw_offered_total", "Datagrams offered to the raw producer.", st.Offered.Load()),
		counter("netvet_kafka_raw_written_total", "Datagrams written to the raw topic.", st.Acked.Load()),
		drops,
	}
	if fw != nil {
		out = append(out,
			counter("netvet_flow_packets_total", "Export datagrams received.", fw.Datagrams.Load()),
			counter("netvet_kafka_collect_unknown_exporter_total", "Datagrams from exporters not configured, not published.", fw.DropUnknown.Load()))
	}
	return out
}

// Families returns the decode stage counters as metric families.
func (s *DecodeStage) Families() []metrics.Family {
	st := &s.stats
	return []metrics.Family{
		counter("netvet_kafka_decode_messages_total", "Raw records read.", st.Messages.Load()),
		counter("netvet_kafka_decode_datagrams_total", "Raw records that passed the checks and were decoded.", st.Datagrams.Load()),
		counter("netvet_flow_records_total", "Flow records decoded.", st.Records.Load()),
		counter("netvet_kafka_decode_unknown_source_total", "Decoded records whose source is no known element.", st.UnknownSource.Load()),
		counter("netvet_kafka_flows_published_total", "Flows records written.", st.Published.Load()),
		counter("netvet_flow_decode_errors_total", "Datagrams rejected in whole or in part.", st.DecodeErrors.Load()),
		counter("netvet_flow_template_misses_total", "Data sets that arrived before their template.", st.TemplateMisses.Load()),
		counter("netvet_kafka_commits_total", "Offset commits.", st.Commits.Load()),
		dropFamily("netvet_kafka_decode_dropped_total", "Raw or flows records dropped, by reason.", &st.Drops,
			ReasonSize, ReasonHeaders, ReasonVersion, ReasonExporter, ReasonRecvTime, ReasonNotConfigured, ReasonMalformed),
	}
}

// Families returns the analyse stage counters as metric families.
func (s *AnalyseStage) Families() []metrics.Family {
	st := &s.stats
	return []metrics.Family{
		counter("netvet_kafka_analyse_messages_total", "Flows records read.", st.Messages.Load()),
		counter("netvet_egress_records_total", "Flow records fed to a pipeline.", st.Records.Load()),
		counter("netvet_egress_alerts_total", "Alerts handed to the outputs.", st.Alerts.Load()),
		counter("netvet_kafka_analyse_output_errors_total", "Rounds in which an alert output failed.", st.EmitErrors.Load()),
		counter("netvet_kafka_analyse_alerts_lost_total", "Alerts given up after the outputs failed for too long.", st.AlertsLost.Load()),
		counter("netvet_kafka_commits_total", "Offset commits.", st.Commits.Load()),
		counter("netvet_kafka_element_states_started_total", "Element states started.", st.Started.Load()),
		counter("netvet_kafka_element_states_dropped_total", "Element states dropped on revocation or loss.", st.Dropped.Load()),
		dropFamily("netvet_kafka_analyse_dropped_total", "Flows records dropped, by reason.", &st.Drops,
			ReasonSize, ReasonMalformed, ReasonVersion, ReasonKey, ReasonUnknownElement, ReasonElementMismatch),
	}
}
