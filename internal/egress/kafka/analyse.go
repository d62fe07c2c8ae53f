package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/netvet/netvet/internal/egress"
)

// AnalyseConfig sets up an AnalyseStage. Zero fields take the defaults in
// brackets.
type AnalyseConfig struct {
	Conn       Conn
	FlowsTopic string // [netvet.egress.flows]
	Group      string // [netvet-egress-analyse]
	// Elements must be the map the decode stage uses: a record whose
	// source maps to another element than it names is dropped. Required.
	Elements *egress.ElementMap
	// NewPipeline returns a fresh pipeline; one is made per owned
	// partition. Required.
	NewPipeline func() (*egress.Pipeline, error)
	// Emit receives the alerts, sorted by element; offsets are committed
	// only after it returned nil. Required.
	Emit     func([]egress.Alert) error
	Interval time.Duration // how often alerts are collected and offsets committed [10s]
	MaxPoll  int           // records per poll [10,000]
	Log      *slog.Logger
}

// MaxPendingAlerts bounds the alerts kept for a failing output; the oldest
// beyond it are counted in AlertsLost and dropped.
const MaxPendingAlerts = 100_000

// AnalyseStats are the analyse stage counters.
type AnalyseStats struct {
	Messages   atomic.Uint64 // flows records read
	Records    atomic.Uint64 // records fed to a pipeline
	Alerts     atomic.Uint64 // alerts handed to Emit
	EmitErrors atomic.Uint64
	// AlertsLost counts alerts given up after Emit failed for so long that
	// more than MaxPendingAlerts waited.
	AlertsLost atomic.Uint64
	Commits    atomic.Uint64
	Started    atomic.Uint64 // element states started
	Dropped    atomic.Uint64 // element states dropped on revocation or loss
	Drops      Drops
}

// AnalyseStage is one member of the analyse consumer group.
type AnalyseStage struct {
	cfg   AnalyseConfig
	log   *slog.Logger
	stats AnalyseStats
	cl    *kgo.Client

	mu      sync.Mutex
	parts   map[int32]*anPart
	pending []egress.Alert // alerts Emit refused, retried first
	closing bool           // Run is leaving the group: drops are expected
	fatal   error

	// test hooks, called with mu held
	onRecord func(partition int32, element string)
	onDrop   func(partition int32, elements []string)
}

type anPart struct {
	p        *egress.Pipeline
	elements map[string]bool
}

// NewAnalyseStage checks cfg and creates the Kafka client; Run joins the
// group.
func NewAnalyseStage(cfg AnalyseConfig) (*AnalyseStage, error) {
	if cfg.Elements == nil || cfg.NewPipeline == nil || cfg.Emit == nil {
		return nil, errors.New("kafka: analyse stage needs an element map, a pipeline factory and an alert output")
	}
	if cfg.FlowsTopic == "" {
		cfg.FlowsTopic = DefaultFlowsTopic
	}
	if cfg.Group == "" {
		cfg.Group = DefaultAnalyseGroup
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.MaxPoll <= 0 {
		cfg.MaxPoll = 10_000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &AnalyseStage{cfg: cfg, log: cfg.Log.With("stage", "analyse", "group", cfg.Group), parts: map[int32]*anPart{}}
	opts, err := cfg.Conn.opts(cfg.Log)
	if err != nil {
		return nil, err
	}
	opts = append(opts, groupMember(cfg.Group, cfg.FlowsTopic, s.assigned, s.revoked, s.lost)...)
	opts = append(opts, cfg.Conn.Opts...)
	if s.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka: analyse stage: %w", err)
	}
	return s, nil
}

// Stats returns the live counters.
func (s *AnalyseStage) Stats() *AnalyseStats { return &s.stats }

// Run consumes until ctx is done. On the way out every pipeline is
// finished (open volume hours closed), the last alerts emitted, the
// offsets committed and the group left.
func (s *AnalyseStage) Run(ctx context.Context) error {
	defer s.cl.Close()
	next := time.Now().Add(s.cfg.Interval)
	var runErr error
	for ctx.Err() == nil {
		pctx, cancel := context.WithDeadline(ctx, next)
		fs := s.cl.PollRecords(pctx, s.cfg.MaxPoll)
		cancel()
		if fs.IsClientClosed() {
			break
		}
		logFetchErrors(ctx, s.log, fs)
		s.mu.Lock()
		fs.EachRecord(s.handle)
		if now := time.Now(); s.fatal == nil && !now.Before(next) {
			s.collect(ctx, s.cl, nil, false)
			next = now.Add(s.cfg.Interval)
		}
		runErr = s.fatal
		s.mu.Unlock()
		s.cl.AllowRebalance()
		if runErr != nil {
			break
		}
	}
	if runErr == nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.mu.Lock()
		s.collect(sctx, s.cl, nil, true)
		s.mu.Unlock()
		cancel()
	}
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.log.Info("analyse stage stopping", "messages", s.stats.Messages.Load(), "records", s.stats.Records.Load(),
		"alerts", s.stats.Alerts.Load(), "dropped", s.stats.Drops.String())
	return runErr
}

func (s *AnalyseStage) handle(r *kgo.Record) {
	if s.fatal != nil {
		return
	}
	s.stats.Messages.Add(1)
	element, rec, err := DecodeFlow(r.Value)
	if err != nil {
		var fe *FlowError
		if errors.As(err, &fe) {
			s.stats.Drops.add(fe.Reason)
		}
		s.log.Debug("flows record dropped", "partition", r.Partition, "offset", r.Offset, "err", err)
		return
	}
	if string(r.Key) != element {
		s.stats.Drops.add(ReasonKey)
		s.log.Debug("flows record dropped: key is not its element", "partition", r.Partition, "offset", r.Offset, "element", element)
		return
	}
	el, ok := s.cfg.Elements.Lookup(rec.Src)
	if !ok {
		s.stats.Drops.add(ReasonUnknownElement)
		s.log.Debug("flows record dropped: source is no known element", "partition", r.Partition, "offset", r.Offset, "src", rec.Src)
		return
	}
	if el.ID != element {
		s.stats.Drops.add(ReasonElementMismatch)
		s.log.Debug("flows record dropped: element map differs from the decode stage's", "partition", r.Partition, "offset", r.Offset,
			"src", rec.Src, "named", element, "mapped", el.ID)
		return
	}
	part := s.parts[r.Partition]
	if part == nil {
		p, err := s.cfg.NewPipeline()
		if err != nil {
			s.fatal = fmt.Errorf("kafka: analyse stage: partition %d: %w", r.Partition, err)
			return
		}
		part = &anPart{p: p, elements: map[string]bool{}}
		s.parts[r.Partition] = part
	}
	if !part.elements[el.ID] {
		part.elements[el.ID] = true
		s.stats.Started.Add(1)
		s.log.Info("element state started", "element", el.ID, "partition", r.Partition)
	}
	if s.onRecord != nil {
		s.onRecord(r.Partition, el.ID)
	}
	part.p.Add(&rec)
	s.stats.Records.Add(1)
}

// collect gathers the alerts of every owned partition (finishing those in
// finish, or all when all is true), emits them and commits the offsets of
// every polled record. Called with mu held.
func (s *AnalyseStage) collect(ctx context.Context, cl *kgo.Client, finish map[int32]bool, all bool) {
	var alerts []egress.Alert
	for _, p := range slices.Sorted(maps.Keys(s.parts)) {
		part := s.parts[p]
		if all || finish[p] {
			alerts = append(alerts, part.p.Finish()...)
		} else {
			alerts = append(alerts, part.p.Collect(time.Time{})...)
		}
	}
	slices.SortStableFunc(alerts, func(a, b egress.Alert) int { return cmp.Compare(a.Element.ID, b.Element.ID) })
	if len(s.pending) > 0 {
		alerts = append(s.pending, alerts...)
		s.pending = nil
	}
	if len(alerts) > 0 {
		if err := s.cfg.Emit(alerts); err != nil {
			// The pipelines consider these alerts raised: keep them and
			// commit nothing until the output takes them.
			s.stats.EmitErrors.Add(1)
			if over := len(alerts) - MaxPendingAlerts; over > 0 {
				s.stats.AlertsLost.Add(uint64(over))
				alerts = alerts[over:]
			}
			s.pending = slices.Clip(alerts)
			s.log.Warn("alert output failed: alerts kept for the next round, offsets not committed", "alerts", len(alerts), "err", err)
			return
		}
		s.stats.Alerts.Add(uint64(len(alerts)))
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		s.log.Warn("offset commit failed: after a crash these records are analysed again", "topic", s.cfg.FlowsTopic, "err", err)
		return
	}
	s.stats.Commits.Add(1)
}

func (s *AnalyseStage) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	for t, ps := range m {
		slices.Sort(ps)
		s.log.Info("flows partitions assigned: state of their elements starts empty", "topic", t, "partitions", ps)
	}
}

func (s *AnalyseStage) revoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := map[int32]bool{}
	for _, p := range m[s.cfg.FlowsTopic] {
		gone[p] = true
	}
	if s.fatal == nil {
		// Emit what the records seen so far raise and commit them, so the
		// next owner starts after them.
		s.collect(ctx, cl, gone, false)
	}
	s.drop(gone, "revoked")
}

func (s *AnalyseStage) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := map[int32]bool{}
	for _, p := range m[s.cfg.FlowsTopic] {
		gone[p] = true
	}
	// Lost partitions have another owner already: their uncommitted
	// records are analysed there, so nothing is emitted here.
	s.drop(gone, "lost")
}

func (s *AnalyseStage) drop(gone map[int32]bool, how string) {
	for _, p := range slices.Sorted(maps.Keys(gone)) {
		part := s.parts[p]
		if part == nil {
			s.log.Info("flows partition "+how+" before any record arrived", "partition", p)
			continue
		}
		els := slices.Sorted(maps.Keys(part.elements))
		s.stats.Dropped.Add(uint64(len(els)))
		lvl := slog.LevelWarn
		if s.closing {
			lvl = slog.LevelInfo
		}
		s.log.Log(context.Background(), lvl, "flows partition "+how+": element state dropped (history, beacon timing and volume baseline restart on the next owner)",
			"partition", p, "elements", els)
		if s.onDrop != nil {
			s.onDrop(p, els)
		}
		delete(s.parts, p)
	}
}
