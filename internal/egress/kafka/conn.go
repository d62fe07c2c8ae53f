package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Topic and group defaults.
const (
	DefaultRawTopic     = "netvet.egress.raw"
	DefaultFlowsTopic   = "netvet.egress.flows"
	DefaultDecodeGroup  = "netvet-egress-decode"
	DefaultAnalyseGroup = "netvet-egress-analyse"
)

// Conn says how to reach the brokers.
type Conn struct {
	Brokers  []string    // host:port seeds, required
	TLS      *tls.Config // nil: plaintext
	SASLUser string      // with SASLPass: SASL/SCRAM (run it over TLS)
	SASLPass string
	// SASLMechanism is SCRAM-SHA-256 or SCRAM-SHA-512 [SCRAM-SHA-512].
	SASLMechanism string
	ClientID      string // [netvet]
	// Opts are added after netvet's own options, so they win (tests
	// shorten heartbeats with them).
	Opts []kgo.Opt
}

func (c *Conn) opts(log *slog.Logger) ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, fmt.Errorf("kafka: broker %q: want host:port", b)
		}
	}
	id := c.ClientID
	if id == "" {
		id = "netvet"
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id)}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS))
	}
	if (c.SASLUser == "") != (c.SASLPass == "") {
		return nil, errors.New("kafka: SASL needs both a user and a password")
	}
	if c.SASLUser != "" {
		auth := scram.Auth{User: c.SASLUser, Pass: c.SASLPass}
		switch strings.ToUpper(c.SASLMechanism) {
		case "", "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(auth.AsSha512Mechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(auth.AsSha256Mechanism()))
		default:
			return nil, fmt.Errorf("kafka: SASL mechanism %q: use SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism)
		}
	} else if c.SASLMechanism != "" {
		return nil, errors.New("kafka: SASL mechanism given without a user")
	}
	if log != nil {
		opts = append(opts, kgo.WithLogger(kgoLogger{log}))
	}
	return opts, nil
}

// kgoLogger passes franz-go's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	k.l.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}

// groupMember is how both consuming stages join their group: cooperative
// sticky assignment, reading from the oldest retained record when the
// group has no offset, commits only after the work is done, and
// rebalances only between polled batches.
func groupMember(group, topic string, assigned, revoked, lost func(context.Context, *kgo.Client, map[string][]int32)) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(assigned),
		kgo.OnPartitionsRevoked(revoked),
		kgo.OnPartitionsLost(lost),
	}
}
