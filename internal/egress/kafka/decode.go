package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/flow"
)

// DecodeConfig sets up a DecodeStage. Zero fields take the defaults in
// brackets.
type DecodeConfig struct {
	Conn       Conn
	RawTopic   string // [netvet.egress.raw]
	FlowsTopic string // [netvet.egress.flows]
	Group      string // [netvet-egress-decode]
	// Exporters lists the prefixes whose datagrams are decoded; raw records
	// from other exporters are dropped and counted. Required.
	Exporters []netip.Prefix
	// Flow caps templates and exporters per partition decoder; its
	// Exporters field is replaced by Exporters above.
	Flow flow.Config
	// Elements selects the records worth publishing. Required.
	Elements *egress.ElementMap
	MaxPoll  int // records per poll [10,000]
	Log      *slog.Logger
}

// DecodeStats are the decode stage counters.
type DecodeStats struct {
	Messages       atomic.Uint64 // raw records read
	Datagrams      atomic.Uint64 // raw records that passed the checks
	Records        atomic.Uint64 // flow records decoded
	UnknownSource  atomic.Uint64 // decoded records whose source is no known element
	Published      atomic.Uint64 // flows records acknowledged by Kafka
	DecodeErrors   atomic.Uint64 // datagrams the decoder refused in whole or in part
	TemplateMisses atomic.Uint64 // data sets that arrived before their template
	Commits        atomic.Uint64
	PartsDropped   atomic.Uint64 // raw partitions whose template state was dropped
	Drops          Drops
}

// DecodeStage is one member of the decode consumer group.
type DecodeStage struct {
	cfg   DecodeConfig
	log   *slog.Logger
	stats DecodeStats
	cl    *kgo.Client

	mu      sync.Mutex
	parts   map[int32]*decPart // raw partitions owned, by partition
	recs    []flow.Record
	closing bool // Run is leaving the group: drops are expected

	onDrop func(partition int32, exporters []netip.Addr) // test hook, called with mu held

	produceErr atomic.Pointer[error]
}

type decPart struct {
	dec       *flow.Decoder
	exporters map[netip.Addr]bool
	// counters already folded into the stage stats
	seenErrors, seenMisses uint64
}

// NewDecodeStage checks cfg and creates the Kafka client; Run joins the
// group.
func NewDecodeStage(cfg DecodeConfig) (*DecodeStage, error) {
	if len(cfg.Exporters) == 0 {
		return nil, errors.New("kafka: decode stage: no exporters configured")
	}
	if cfg.Elements == nil {
		return nil, errors.New("kafka: decode stage: no element map")
	}
	if cfg.RawTopic == "" {
		cfg.RawTopic = DefaultRawTopic
	}
	if cfg.FlowsTopic == "" {
		cfg.FlowsTopic = DefaultFlowsTopic
	}
	if cfg.Group == "" {
		cfg.Group = DefaultDecodeGroup
	}
	if cfg.MaxPoll <= 0 {
		cfg.MaxPoll = 10_000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Flow.Exporters = slices.Clone(cfg.Exporters)
	if _, err := flow.NewDecoder(cfg.Flow); err != nil { // validate once
		return nil, fmt.Errorf("kafka: decode stage: %w", err)
	}
	s := &DecodeStage{cfg: cfg, log: cfg.Log.With("stage", "decode", "group", cfg.Group), parts: map[int32]*decPart{}}
	opts, err := cfg.Conn.opts(cfg.Log)
	if err != nil {
		return nil, err
	}
	opts = append(opts, groupMember(cfg.Group, cfg.RawTopic, s.assigned, s.revoked, s.lost)...)
	opts = append(opts,
		kgo.DefaultProduceTopic(cfg.FlowsTopic),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.MaxBufferedRecords(100_000),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	opts = append(opts, cfg.Conn.Opts...)
	if s.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka: decode stage: %w", err)
	}
	return s, nil
}

// Stats returns the live counters.
func (s *DecodeStage) Stats() *DecodeStats { return &s.stats }

// Run consumes until ctx is done or Kafka fails for good, then commits
// what was processed, leaves the group and closes the client.
func (s *DecodeStage) Run(ctx context.Context) error {
	defer s.cl.Close()
	var runErr error
	for ctx.Err() == nil {
		// a bounded poll lets a waiting rebalance through when idle
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := s.cl.PollRecords(pctx, s.cfg.MaxPoll)
		cancel()
		if fs.IsClientClosed() {
			break
		}
		logFetchErrors(ctx, s.log, fs)
		var err error
		s.mu.Lock()
		if fs.NumRecords() > 0 {
			fs.EachRecord(func(r *kgo.Record) { s.handle(ctx, r) })
			err = s.settle(ctx)
		}
		s.mu.Unlock()
		s.cl.AllowRebalance()
		if err != nil {
			runErr = err
			break
		}
	}
	if runErr == nil && s.produceErr.Load() == nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.mu.Lock()
		runErr = s.settle(sctx)
		s.mu.Unlock()
		cancel()
	}
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.log.Info("decode stage stopping", "messages", s.stats.Messages.Load(), "records", s.stats.Records.Load(),
		"published", s.stats.Published.Load(), "dropped", s.stats.Drops.String())
	return runErr
}

// settle waits for the flows records of everything polled and commits the
// raw offsets; a failed produce is fatal (the offsets stay uncommitted, so
// a restart decodes those datagrams again).
func (s *DecodeStage) settle(ctx context.Context) error {
	if err := s.cl.Flush(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("kafka: decode stage: flushing flows records: %w", err)
	}
	if p := s.produceErr.Load(); p != nil {
		return fmt.Errorf("kafka: decode stage: publishing to %s: %w", s.cfg.FlowsTopic, *p)
	}
	if err := s.cl.CommitUncommittedOffsets(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("kafka: decode stage: committing %s offsets: %w", s.cfg.RawTopic, err)
	}
	s.stats.Commits.Add(1)
	return nil
}

func (s *DecodeStage) handle(ctx context.Context, r *kgo.Record) {
	s.stats.Messages.Add(1)
	raw, err := ParseRaw(r.Key, r.Headers, r.Value)
	if err != nil {
		var re *RawError
		if errors.As(err, &re) {
			s.stats.Drops.add(re.Reason)
		}
		s.log.Debug("raw record dropped", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		return
	}
	// A receive time from the future would expire the partition's other
	// templates (expiry runs on receive time); old times are fine (replays).
	if raw.Recv.After(time.Now().Add(time.Hour)) {
		s.stats.Drops.add(ReasonRecvTime)
		s.log.Debug("raw record dropped: receive time in the future", "partition", r.Partition, "offset", r.Offset, "recv", raw.Recv)
		return
	}
	part := s.part(r.Partition)
	if !part.dec.Allowed(raw.Exporter) {
		s.stats.Drops.add(ReasonNotConfigured)
		s.log.Debug("raw record dropped: exporter not configured", "exporter", raw.Exporter, "partition", r.Partition, "offset", r.Offset)
		return
	}
	s.stats.Datagrams.Add(1)
	if !part.exporters[raw.Exporter] && len(part.exporters) < 65536 {
		part.exporters[raw.Exporter] = true
	}
	s.recs, _ = part.dec.Decode(raw.Exporter, r.Value, raw.Recv, s.recs[:0])
	st := part.dec.Stats()
	if v := st.DecodeErrors.Load(); v > part.seenErrors {
		s.stats.DecodeErrors.Add(v - part.seenErrors)
		part.seenErrors = v
	}
	if v := st.TemplateMisses.Load(); v > part.seenMisses {
		s.stats.TemplateMisses.Add(v - part.seenMisses)
		part.seenMisses = v
	}
	s.stats.Records.Add(uint64(len(s.recs)))
	for i := range s.recs {
		fr := &s.recs[i]
		el, ok := s.cfg.Elements.Lookup(fr.Src)
		if !ok {
			s.stats.UnknownSource.Add(1)
			continue
		}
		val, err := AppendFlow(nil, el.ID, fr)
		if err != nil {
			s.stats.Drops.add(ReasonMalformed)
			s.log.Debug("flow record not published", "exporter", raw.Exporter, "err", err)
			continue
		}
		s.cl.Produce(ctx, &kgo.Record{Topic: s.cfg.FlowsTopic, Key: []byte(el.ID), Value: val}, s.promise)
	}
}

func (s *DecodeStage) promise(_ *kgo.Record, err error) {
	if err == nil {
		s.stats.Published.Add(1)
		return
	}
	s.produceErr.CompareAndSwap(nil, &err)
}

func (s *DecodeStage) part(p int32) *decPart {
	dp := s.parts[p]
	if dp == nil {
		fc := s.cfg.Flow
		fc.Exporters = slices.Clone(fc.Exporters)
		dec, _ := flow.NewDecoder(fc) // cfg validated in NewDecodeStage
		dp = &decPart{dec: dec, exporters: map[netip.Addr]bool{}}
		s.parts[p] = dp
	}
	return dp
}

func (s *DecodeStage) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	for t, ps := range m {
		slices.Sort(ps)
		s.log.Info("raw partitions assigned: template state starts empty until each exporter resends its templates", "topic", t, "partitions", ps)
	}
}

func (s *DecodeStage) revoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Everything polled was flushed and committed before AllowRebalance;
	// commit again in case a poll was cut short.
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		s.log.Warn("commit on revoke failed: the next owner decodes those datagrams again", "err", err)
	}
	s.drop(m, "revoked")
}

func (s *DecodeStage) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(m, "lost")
}

func (s *DecodeStage) drop(m map[string][]int32, how string) {
	for t, ps := range m {
		if t != s.cfg.RawTopic {
			continue
		}
		slices.Sort(ps)
		for _, p := range ps {
			dp := s.parts[p]
			if dp == nil {
				continue
			}
			exps := make([]netip.Addr, 0, len(dp.exporters))
			for a := range dp.exporters {
				exps = append(exps, a)
			}
			slices.SortFunc(exps, netip.Addr.Compare)
			lvl := slog.LevelWarn
			if s.closing {
				lvl = slog.LevelInfo
			}
			s.log.Log(context.Background(), lvl, "raw partition "+how+": template state dropped (the next owner misses data until each exporter resends its templates)",
				"topic", t, "partition", p, "exporters", exps)
			s.stats.PartsDropped.Add(1)
			if s.onDrop != nil {
				s.onDrop(p, exps)
			}
			delete(s.parts, p)
		}
	}
}

// logFetchErrors logs the fetch errors that are not the end of ctx;
// franz-go keeps retrying the partitions concerned.
func logFetchErrors(ctx context.Context, log *slog.Logger, fs kgo.Fetches) {
	fs.EachError(func(t string, p int32, err error) {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		log.Warn("kafka: fetch error", "topic", t, "partition", p, "err", err)
	})
}
