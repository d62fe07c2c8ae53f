// Package kafka spreads egress watch over several processes through Kafka,
// with franz-go as the client. It is optional: one process handles the
// rates in docs/egress-flows.md on its own.
//
// Three stages share two topics:
//
//   - Raw stage: a RawProducer publishes every accepted export datagram,
//     unchanged, to the raw topic. The record key is the exporter address,
//     so one exporter's datagrams (and with them its templates) always land
//     in one partition, in order. Headers carry the exporter, the receive
//     time and a format version. Buffering is bounded and publishing never
//     blocks the UDP read loop: when Kafka is slow, datagrams are dropped
//     and counted.
//   - Decode stage: members of a consumer group read raw partitions, check
//     the headers strictly, decode with a flow.Decoder per partition (so
//     template state follows partition ownership), keep the records whose
//     source is a known element, and publish them to the flows topic keyed
//     by element ID, as one versioned JSON object per record (FlowMessage).
//   - Analyse stage: members of a second group own sets of flows partitions,
//     hence sets of elements, and run one egress.Pipeline per partition.
//     A rebalance drops only the state of the elements whose partition moved.
//
// Offsets are committed after processing (the decode stage after its flows
// records are acknowledged, the analyse stage after the alerts covering the
// records were handed to the sink), so delivery is at least once: a crash
// replays the records since the last commit.
package kafka
