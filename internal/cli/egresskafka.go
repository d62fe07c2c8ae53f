package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/kafka"
	"github.com/netvet/netvet/internal/egress/metrics"
)

// kafkaFlags say how to reach Kafka and which topics to use.
type kafkaFlags struct {
	brokers     []string
	rawTopic    string
	flowsTopic  string
	group       string
	tls         bool
	ca          string
	cert        string
	key         string
	saslUser    string
	saslPass    string // file holding the password
	saslMech    string
	buffered    int
	rawProducer *kafka.RawProducer // set by tee
}

// register adds the connection flags and the topic flags of one stage:
// "raw" (watch and collect), "decode" or "analyse".
func (k *kafkaFlags) register(cmd *cobra.Command, stage string) {
	f := cmd.Flags()
	f.StringSliceVar(&k.brokers, "kafka", nil, "Kafka brokers, host:port (comma-separated or repeated)")
	f.BoolVar(&k.tls, "kafka-tls", false, "connect to Kafka over TLS (implied by --kafka-ca and --kafka-cert)")
	f.StringVar(&k.ca, "kafka-ca", "", "PEM file of the CAs that sign the brokers' certificates (default: system roots)")
	f.StringVar(&k.cert, "kafka-cert", "", "PEM client certificate for mutual TLS (with --kafka-key)")
	f.StringVar(&k.key, "kafka-key", "", "PEM private key of --kafka-cert")
	f.StringVar(&k.saslUser, "kafka-sasl-user", "", "SASL/SCRAM user (with --kafka-sasl-password-file)")
	f.StringVar(&k.saslPass, "kafka-sasl-password-file", "", "file holding the SASL/SCRAM password (first line)")
	f.StringVar(&k.saslMech, "kafka-sasl-mechanism", "SCRAM-SHA-512", "SCRAM-SHA-256 or SCRAM-SHA-512")
	switch stage {
	case "raw":
		f.StringVar(&k.rawTopic, "kafka-raw-topic", kafka.DefaultRawTopic, "topic of the raw export datagrams")
		f.IntVar(&k.buffered, "kafka-buffer", 10_000, "datagrams held while Kafka is slow; beyond that they are dropped and counted")
	case "decode":
		f.StringVar(&k.rawTopic, "raw-topic", kafka.DefaultRawTopic, "topic of the raw export datagrams (read)")
		f.StringVar(&k.flowsTopic, "flows-topic", kafka.DefaultFlowsTopic, "topic of the decoded flow records (written)")
		f.StringVar(&k.group, "group", kafka.DefaultDecodeGroup, "consumer group of the decode stage")
	case "analyse":
		f.StringVar(&k.flowsTopic, "flows-topic", kafka.DefaultFlowsTopic, "topic of the decoded flow records (read)")
		f.StringVar(&k.group, "group", kafka.DefaultAnalyseGroup, "consumer group of the analyse stage")
	}
}

// conn checks the flags and builds the connection settings.
func (k *kafkaFlags) conn(e *env, clientID string) (kafka.Conn, error) {
	c := kafka.Conn{ClientID: clientID}
	for _, b := range k.brokers {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(b); err != nil {
			return c, &UsageError{fmt.Errorf("--kafka %q: want host:port", b)}
		}
		c.Brokers = append(c.Brokers, b)
	}
	if len(c.Brokers) == 0 {
		return c, &UsageError{errors.New("--kafka is required: the brokers to bootstrap from, host:port")}
	}
	if (k.cert == "") != (k.key == "") {
		return c, &UsageError{errors.New("--kafka-cert and --kafka-key go together")}
	}
	if k.tls || k.ca != "" || k.cert != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if k.ca != "" {
			pem, err := readBounded(k.ca, 1<<20)
			if err != nil {
				return c, fmt.Errorf("--kafka-ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return c, fmt.Errorf("--kafka-ca %s: no PEM certificate in it", k.ca)
			}
		}
		if k.cert != "" {
			pair, err := tls.LoadX509KeyPair(k.cert, k.key)
			if err != nil {
				return c, fmt.Errorf("--kafka-cert/--kafka-key: %w", err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		c.TLS = cfg
	}
	if (k.saslUser == "") != (k.saslPass == "") {
		return c, &UsageError{errors.New("--kafka-sasl-user and --kafka-sasl-password-file go together")}
	}
	if k.saslUser != "" {
		b, err := readBounded(k.saslPass, 4096)
		if err != nil {
			return c, fmt.Errorf("--kafka-sasl-password-file: %w", err)
		}
		pass, _, _ := strings.Cut(string(b), "\n")
		pass = strings.TrimRight(pass, "\r")
		if pass == "" {
			return c, fmt.Errorf("--kafka-sasl-password-file %s: empty first line", k.saslPass)
		}
		switch m := strings.ToUpper(k.saslMech); m {
		case "SCRAM-SHA-256", "SCRAM-SHA-512":
			c.SASLMechanism = m
		default:
			return c, &UsageError{fmt.Errorf("--kafka-sasl-mechanism %q: use SCRAM-SHA-256 or SCRAM-SHA-512", k.saslMech)}
		}
		c.SASLUser, c.SASLPass = k.saslUser, pass
		if c.TLS == nil {
			fmt.Fprintln(e.stderr, "netvet: egress: SASL without --kafka-tls: the password is not sent, but the flows and datagrams travel in clear")
		}
	}
	return c, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// tee attaches a raw producer to a collector's socket when --kafka is
// set: every datagram from an accepted exporter is also published to the
// raw topic. Without --kafka it returns conn and a no-op. The returned
// function flushes (up to 10 s) and closes the producer.
func (k *kafkaFlags) tee(e *env, conn net.PacketConn, accept func(netip.Addr) bool) (net.PacketConn, func(), error) {
	if len(k.brokers) == 0 {
		return conn, func() {}, nil
	}
	p, err := k.producer(e)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(e.stderr, "netvet: egress: publishing accepted datagrams to Kafka topic %s\n", k.rawTopic)
	k.rawProducer = p
	return p.Tee(conn, accept), func() { k.closeProducer(e, p) }, nil
}

// families returns the raw producer's counters once tee attached one.
func (k *kafkaFlags) families() []metrics.Family {
	if k.rawProducer == nil {
		return nil
	}
	return k.rawProducer.Families(nil)
}

func (k *kafkaFlags) producer(e *env) (*kafka.RawProducer, error) {
	c, err := k.conn(e, "netvet-collector")
	if err != nil {
		return nil, err
	}
	if k.buffered <= 0 {
		return nil, &UsageError{fmt.Errorf("--kafka-buffer %d: must be positive", k.buffered)}
	}
	return kafka.NewRawProducer(kafka.ProducerConfig{Conn: c, Topic: k.rawTopic, MaxBufferedRecords: k.buffered, Log: e.log})
}

func (k *kafkaFlags) closeProducer(e *env, p *kafka.RawProducer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		fmt.Fprintf(e.stderr, "netvet: egress: %v\n", err)
	}
	st := p.Stats()
	fmt.Fprintf(e.stderr, "netvet: egress: kafka %s: %d datagrams offered, %d written; dropped %d (buffer full), %d (not delivered), %d (invalid)\n",
		k.rawTopic, st.Offered.Load(), st.Acked.Load(), st.DropBuffer.Load(), st.DropFailed.Load(), st.DropInvalid.Load())
}

// serveKafkaMetrics serves gather on addr/metrics when addr is set; the
// returned function stops the server.
func serveKafkaMetrics(e *env, addr string, gather func() []metrics.Family) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(gather))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(e.stderr, "netvet: egress: metrics on http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}

// newEgressKafkaCmds returns the Kafka stages, to hang under netvet egress.
func newEgressKafkaCmds(e *env) []*cobra.Command {
	return []*cobra.Command{newEgressCollectCmd(e), newEgressDecodeCmd(e), newEgressAnalyseCmd(e)}
}

const kafkaLong = `
Kafka spreads egress watch over several processes (docs/egress-scale.md):
collect publishes raw export datagrams keyed by exporter, decode turns
them into flow records keyed by element, analyse raises the alerts. Run
as many decode and analyse processes as there are partitions to share;
each consumer group hands every partition to one member at a time.`

func newEgressCollectCmd(e *env) *cobra.Command {
	var k kafkaFlags
	var exporters []string
	var listen, metricsAddr string
	cmd := &cobra.Command{
		Use:   "collect --listen udp://:2055 --exporter CIDR --kafka BROKERS",
		Short: "Publish flow export datagrams to Kafka, unchanged (raw stage)",
		Long: `Receive NetFlow, IPFIX and sFlow datagrams and publish those from --exporter
addresses, unchanged, to the raw topic, keyed by exporter so that one
exporter's datagrams and templates stay in one partition, in order. Nothing
is decoded here. When Kafka is slow the datagrams beyond --kafka-buffer are
dropped and counted; the socket is never blocked.` + kafkaLong,
		Example: `  netvet egress collect --listen udp://:2055 --exporter 10.9.0.0/24 --kafka kafka1:9092,kafka2:9092
  netvet egress collect --listen udp://:4739 --exporter 10.9.0.0/24 --kafka kafka1:9093 \
      --kafka-ca ca.pem --kafka-sasl-user netvet --kafka-sasl-password-file kafka.pass`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := egressFlags{exporters: exporters}
			if len(exporters) == 0 {
				return &UsageError{errors.New("--exporter is required: flow export is unauthenticated, so say which exporters to trust")}
			}
			exps, err := fl.exporterPrefixes(nil)
			if err != nil {
				return err
			}
			network, addr, err := parseListen(listen)
			if err != nil {
				return &UsageError{fmt.Errorf("--listen: %w", err)}
			}
			p, err := k.producer(e)
			if err != nil {
				return err
			}
			defer k.closeProducer(e, p)
			conn, err := net.ListenPacket(network, addr)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			defer conn.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(e.stderr, "netvet: egress: listening on %s %s, publishing to Kafka topic %s\n", network, conn.LocalAddr(), k.rawTopic)
			var st kafka.ForwardStats
			stopMetrics, err := serveKafkaMetrics(e, metricsAddr, func() []metrics.Family { return p.Families(&st) })
			if err != nil {
				return err
			}
			defer stopMetrics()
			accept := func(a netip.Addr) bool {
				return slices.ContainsFunc(exps, func(p netip.Prefix) bool { return p.Contains(a) })
			}
			err = p.Forward(ctx, conn, accept, &st)
			fmt.Fprintf(e.stderr, "netvet: egress: %d datagrams received; %d from exporters not allowed, %d oversize\n",
				st.Datagrams.Load(), st.DropUnknown.Load(), st.DropOversize.Load())
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "udp://:2055", "where to receive export datagrams: udp://[host]:port")
	cmd.Flags().StringArrayVar(&exporters, "exporter", nil, "accept export datagrams only from this address or CIDR (repeatable, required)")
	cmd.Flags().StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics on this address (e.g. :9100), path /metrics")
	k.register(cmd, "raw")
	return cmd
}

func newEgressDecodeCmd(e *env) *cobra.Command {
	var k kafkaFlags
	var fl egressFlags
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "decode --kafka BROKERS --exporter CIDR --elements FILE",
		Short: "Decode raw datagrams from Kafka into flow records per element (decode stage)",
		Long: `Join the decode consumer group, read the raw topic, check each record's
headers (bad ones are dropped and counted), decode the datagrams of the
--exporter addresses with one template store per partition, keep the
records whose source is a known element, and publish them to the flows
topic as JSON keyed by element ID. Offsets are committed once the flows
records are written: at least once.` + kafkaLong,
		Example: `  netvet egress decode --kafka kafka1:9092 --exporter 10.9.0.0/24 --elements elements.csv
  netvet egress decode --kafka kafka1:9092 --exporter 10.9.0.0/24 --inventory inventory.csv --group decode-eu`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(fl.exporters) == 0 {
				return &UsageError{errors.New("--exporter is required: flow export is unauthenticated, so say which exporters to trust")}
			}
			if fl.elements == "" && fl.inventory == "" {
				return &UsageError{errors.New("--elements or --inventory is required: which source addresses are network elements")}
			}
			exps, err := fl.exporterPrefixes(nil)
			if err != nil {
				return err
			}
			c, err := k.conn(e, "netvet-decode")
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			em, err := fl.elementMap(ctx, e)
			if err != nil {
				return err
			}
			s, err := kafka.NewDecodeStage(kafka.DecodeConfig{Conn: c, RawTopic: k.rawTopic, FlowsTopic: k.flowsTopic, Group: k.group,
				Exporters: exps, Elements: em, Log: e.log})
			if err != nil {
				return err
			}
			stopMetrics, err := serveKafkaMetrics(e, metricsAddr, s.Families)
			if err != nil {
				return err
			}
			defer stopMetrics()
			fmt.Fprintf(e.stderr, "netvet: egress: decoding %s into %s as group %s\n", k.rawTopic, k.flowsTopic, k.group)
			runErr := s.Run(ctx)
			st := s.Stats()
			fmt.Fprintf(e.stderr, "netvet: egress: %d raw records, %d datagrams decoded into %d records, %d published, %d from unknown sources; %d decode errors, %d template misses; dropped: %s\n",
				st.Messages.Load(), st.Datagrams.Load(), st.Records.Load(), st.Published.Load(), st.UnknownSource.Load(),
				st.DecodeErrors.Load(), st.TemplateMisses.Load(), st.Drops.String())
			return runErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.elements, "elements", "", "element map, CSV or YAML: address or CIDR → element ID")
	f.StringVar(&fl.inventory, "inventory", "", "inventory with management addresses (adds to --elements)")
	f.StringArrayVar(&fl.exporters, "exporter", nil, "decode datagrams only from this address or CIDR (repeatable, required)")
	f.StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics on this address (e.g. :9100), path /metrics")
	k.register(cmd, "decode")
	return cmd
}

func newEgressAnalyseCmd(e *env) *cobra.Command {
	var k kafkaFlags
	var fl egressFlags
	var interval time.Duration
	var metricsAddr string
	cmd := &cobra.Command{
		Use:     "analyse --kafka BROKERS --elements FILE",
		Aliases: []string{"analyze"},
		Short:   "Raise egress alerts from the flow records in Kafka (analyse stage)",
		Long: `Join the analyse consumer group and run the egress checks over the flows
partitions this member owns: one pipeline per partition, so each element's
state lives in one process. Alerts are collected every --interval and
written like watch writes them; offsets are committed after the alerts are
handed over. When partitions move to another member (a member joins or
leaves), their elements' history, beacon timing and volume baseline start
again there; the log names the elements. --elements must match the decode
stage's: records whose source maps to another element are dropped.` + kafkaLong,
		Example: `  netvet egress analyse --kafka kafka1:9092 --elements elements.csv --allow allow.yaml --asn ip2asn-v4.tsv
  netvet egress analyse --kafka kafka1:9093 --kafka-tls --elements elements.csv --allow allow.yaml \
      -f json -o alerts.jsonl --webhook https://soc.example/hook`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if fl.history != "" {
				return &UsageError{errors.New("--history is not supported by analyse: each partition keeps its own state (see docs/egress-scale.md)")}
			}
			if interval <= 0 {
				return &UsageError{fmt.Errorf("--interval %s: must be positive", interval)}
			}
			c, err := k.conn(e, "netvet-analyse")
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := fl.config(ctx, e)
			if err != nil {
				return err
			}
			if _, err := egress.New(cfg); err != nil {
				return err
			}
			sinks, err := fl.sinks(e)
			if err != nil {
				return err
			}
			s, err := kafka.NewAnalyseStage(kafka.AnalyseConfig{Conn: c, FlowsTopic: k.flowsTopic, Group: k.group, Elements: cfg.Elements,
				NewPipeline: func() (*egress.Pipeline, error) { return egress.New(cfg) },
				Emit:        sinks.Send, Interval: interval, Log: e.log})
			if err != nil {
				sinks.Close(context.Background())
				return err
			}
			stopMetrics, err := serveKafkaMetrics(e, metricsAddr, s.Families)
			if err != nil {
				sinks.Close(context.Background())
				return err
			}
			defer stopMetrics()
			fmt.Fprintf(e.stderr, "netvet: egress: analysing %s as group %s\n", k.flowsTopic, k.group)
			runErr := s.Run(ctx)
			st := s.Stats()
			fmt.Fprintf(e.stderr, "netvet: egress: %d flows records, %d analysed, %d alerts; element states started %d, dropped %d; dropped records: %s\n",
				st.Messages.Load(), st.Records.Load(), st.Alerts.Load(), st.Started.Load(), st.Dropped.Load(), st.Drops.String())
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return errors.Join(runErr, sinks.Close(cctx))
		},
	}
	fl.register(cmd, true)
	k.register(cmd, "analyse")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Second, "how often alerts are collected and offsets committed")
	cmd.Flags().StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics on this address (e.g. :9100), path /metrics")
	return cmd
}
