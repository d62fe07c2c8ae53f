package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/alert"
	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/ipinfo"
	"github.com/netvet/netvet/internal/egress/metrics"
	"github.com/netvet/netvet/internal/egress/pcap"
	"github.com/netvet/netvet/internal/inventory"
)

func newEgressCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "egress",
		Short: "Watch what network elements send, and to whom",
		Long: `Map flows to inventory elements and alert when an element talks to a
destination outside its allowlist, calls a destination back on a schedule
(beacon), tunnels through DNS, or sends far more than its baseline for that
hour of the week. Elements are known by the inventory's management
addresses (--inventory) or an element map (--elements, CSV or YAML).
--history keeps first-seen destinations and baselines between runs.
collect, decode and analyse spread the work over Kafka (docs/egress-scale.md).

Flows an element exports about itself cannot be trusted: a compromised
element can leave its own exfiltration out. Meter the management network
at its edge with an independent, unsampled exporter (a TAP or SPAN port,
softflowd or pmacctd). Every alert names the exporter or capture its
evidence came from, whether it was sampled, and flags self_reported when
only the element itself reported the flows.`,
		Example: `  netvet egress replay mgmt.pcapng --elements elements.csv --allow allow.yaml
  netvet egress replay export.pcap --mode export --exporter 10.9.0.0/24 --inventory inventory.csv -f json
  netvet egress watch --listen udp://:2055 --exporter 10.9.0.1/32 --elements elements.yaml \
      --allow allow.yaml --asn ip2asn-v4.tsv --metrics :9100 --syslog udp://siem:514 \
      --history egress-history.jsonl`,
	}
	cmd.AddCommand(newEgressReplayCmd(e), newEgressWatchCmd(e), newEgressReportCmd(e))
	cmd.AddCommand(newEgressKafkaCmds(e)...)
	return cmd
}

// egressFlags are the inputs and outputs every egress command shares.
type egressFlags struct {
	inventory string
	elements  string
	allow     string
	hosts     string
	asn       []string
	country   []string
	format    string
	output    string
	webhook   string
	syslog    string
	beaconMin int
	repeat    time.Duration
	exporters []string
	history   string
}

func (fl *egressFlags) register(cmd *cobra.Command, alerts bool) {
	f := cmd.Flags()
	fl.format, fl.beaconMin, fl.repeat = "text", egress.DefaultBeaconMin, egress.DefaultRepeat
	f.StringVar(&fl.inventory, "inventory", "", "inventory (CSV, netvet JSON, TMF639): vendor, function, domain and site of each element")
	f.StringVar(&fl.elements, "elements", "", "element map, CSV or YAML: address or CIDR → element ID (or use --inventory with management addresses; see docs/egress.md)")
	f.StringVar(&fl.allow, "allow", "", "allowlist policy YAML (without it no not-allowlisted alerts are raised)")
	f.StringVar(&fl.hosts, "hosts", "", "hosts-style file naming destinations in alerts")
	f.StringArrayVar(&fl.asn, "asn", nil, "IP-to-ASN table: MMDB or CSV/TSV ranges (repeatable)")
	f.StringArrayVar(&fl.country, "country", nil, "IP-to-country table: MMDB or CSV ranges (repeatable)")
	f.StringArrayVar(&fl.exporters, "exporter", nil, "accept export datagrams only from this address or CIDR (repeatable)")
	f.StringVar(&fl.history, "history", "", "first-seen history kept between runs: read at start (a missing file is empty), written back at the end")
	if !alerts {
		return
	}
	f.StringVarP(&fl.format, "format", "f", "text", "alert lines: text or json")
	f.StringVarP(&fl.output, "output", "o", "", "append alerts to this file instead of stdout")
	f.StringVar(&fl.webhook, "webhook", "", "also POST each alert as JSON to this URL")
	f.StringVar(&fl.syslog, "syslog", "", "also send each alert as RFC 5424 syslog to udp://host:514 or tcp://host:514")
	f.IntVar(&fl.beaconMin, "beacon-min", egress.DefaultBeaconMin, "lowest beacon score (0-100) that alerts")
	f.DurationVar(&fl.repeat, "repeat", egress.DefaultRepeat, "hold back repeats of an alert for the same element, destination and rule this long (flow time)")
}

func (fl *egressFlags) pipeline(ctx context.Context, e *env) (*egress.Pipeline, error) {
	cfg, err := fl.config(ctx, e)
	if err != nil {
		return nil, err
	}
	return egress.New(cfg)
}

// config checks the flags and loads what a pipeline needs, once, so that
// analyse can start one pipeline per partition from it.
func (fl *egressFlags) config(ctx context.Context, e *env) (egress.Config, error) {
	var cfg egress.Config
	if fl.format != alert.FormatText && fl.format != alert.FormatJSON {
		return cfg, &UsageError{fmt.Errorf("-f %q: use text or json", fl.format)}
	}
	if fl.elements == "" && fl.inventory == "" {
		return cfg, &UsageError{errors.New("--elements or --inventory is required: which source addresses are network elements (an element map, or an inventory with management addresses)")}
	}
	if fl.beaconMin <= 0 || fl.beaconMin > 100 {
		return cfg, &UsageError{fmt.Errorf("--beacon-min %d: use 1..100", fl.beaconMin)}
	}
	if fl.repeat <= 0 {
		return cfg, &UsageError{fmt.Errorf("--repeat %s: must be positive", fl.repeat)}
	}
	em, err := fl.elementMap(ctx, e)
	if err != nil {
		return cfg, err
	}
	cfg = egress.Config{Elements: em, BeaconMin: fl.beaconMin, Repeat: fl.repeat}
	if fl.allow != "" {
		if cfg.Policy, err = allow.Load(fl.allow); err != nil {
			return cfg, fmt.Errorf("--allow: %w", err)
		}
	} else {
		fmt.Fprintln(e.stderr, "netvet: egress: no --allow policy: only beacon and volume alerts are raised, and beacons to any destination alert")
	}
	if fl.hosts != "" {
		if cfg.Hosts, err = allow.LoadHosts(fl.hosts); err != nil {
			return cfg, fmt.Errorf("--hosts: %w", err)
		}
	}
	if len(fl.asn)+len(fl.country) > 0 {
		db := ipinfo.New(ipinfo.Limits{})
		for _, path := range append(slices.Clone(fl.asn), fl.country...) {
			st, err := db.LoadFile(ctx, path)
			if err != nil {
				return cfg, fmt.Errorf("ip table %s: %w", path, err)
			}
			if st.Errors > 0 {
				fmt.Fprintf(e.stderr, "netvet: egress: %s: %d bad lines skipped\n", path, st.Errors)
			}
		}
		cfg.Geo = db
	}
	if fl.history != "" {
		if cfg.History, err = egress.LoadHistory(fl.history); err != nil {
			return cfg, fmt.Errorf("--history: %w", err)
		}
	}
	return cfg, nil
}

// elementMap reads --elements (CSV or YAML) and adds the management
// addresses --inventory lists; the file wins where both map an address.
func (fl *egressFlags) elementMap(ctx context.Context, e *env) (*egress.ElementMap, error) {
	var inv *inventory.Inventory
	if fl.inventory != "" {
		var err error
		inv, err = inventory.Load(ctx, fl.inventory, inventory.LoadOptions{})
		if err != nil {
			return nil, fmt.Errorf("--inventory: %w", err)
		}
	}
	var em *egress.ElementMap
	if fl.elements != "" {
		var err error
		if em, err = egress.LoadElementMap(fl.elements, inv); err != nil {
			return nil, fmt.Errorf("--elements: %w", err)
		}
	}
	em, added, err := egress.ElementsFromInventory(em, inv)
	if err != nil {
		return nil, fmt.Errorf("--inventory: %w", err)
	}
	if n, _ := em.Len(); n == 0 {
		return nil, fmt.Errorf("--inventory %s: no element has a management address (column management_addresses, NetBox primary_ip4/primary_ip6/oob_ip); give --elements", fl.inventory)
	}
	if inv != nil {
		e.log.Info("egress element map", "from_inventory", added)
	}
	return em, nil
}

// sinks opens the outputs.
func (fl *egressFlags) sinks(e *env) (alert.Multi, error) {
	var out alert.Multi
	if fl.output == "" || fl.output == "-" {
		w, err := alert.NewWriter(e.stdout, fl.format, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	} else {
		f, err := os.OpenFile(fl.output, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("-o: %w", err)
		}
		w, err := alert.NewWriter(f, fl.format, f)
		if err != nil {
			f.Close()
			return nil, err
		}
		out = append(out, w)
	}
	if fl.webhook != "" {
		w, err := alert.NewWebhook(alert.WebhookConfig{URL: fl.webhook, Log: e.log})
		if err != nil {
			out.Close(context.Background())
			return nil, &UsageError{fmt.Errorf("--webhook: %w", err)}
		}
		out = append(out, w)
	}
	if fl.syslog != "" {
		s, err := alert.NewSyslog(alert.SyslogConfig{URL: fl.syslog})
		if err != nil {
			out.Close(context.Background())
			return nil, fmt.Errorf("--syslog: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// saveHistory writes the pipeline's history back when --history is set.
func (fl *egressFlags) saveHistory(e *env, p *egress.Pipeline) error {
	if fl.history == "" {
		return nil
	}
	h := p.History()
	if err := h.Save(fl.history); err != nil {
		return fmt.Errorf("--history: %w", err)
	}
	e.log.Info("egress history saved", "file", fl.history, "pairs", len(h.Pairs))
	return nil
}

func (fl *egressFlags) exporterPrefixes(def []netip.Prefix) ([]netip.Prefix, error) {
	if len(fl.exporters) == 0 {
		return def, nil
	}
	var out []netip.Prefix
	for _, s := range fl.exporters {
		p, err := parseCIDR(s)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("--exporter: %w", err)}
		}
		out = append(out, p)
	}
	return out, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not an address or CIDR", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// summary prints the counters and the evidence sources on stderr.
func egressSummary(e *env, p *egress.Pipeline, alerts int) {
	st := p.Stats()
	fmt.Fprintf(e.stderr, "netvet: egress: %d records, %d from known elements, %d from unknown sources dropped; %d alerts\n",
		st.Records.Load(), st.Accepted.Load(), st.DropUnknownSource.Load(), alerts)
	for _, s := range p.Sources() {
		src := "exporter " + s.Exporter
		if s.Exporter == "" {
			src = "capture " + strconv.Quote(s.Capture)
		}
		samp := "unsampled"
		if s.Sampled {
			samp = fmt.Sprintf("sampled 1:%d", s.SamplingRate)
		}
		self := ""
		if s.SelfReported {
			self = ", reports on itself (cannot be trusted to show everything it sends)"
		}
		fmt.Fprintf(e.stderr, "netvet: egress: evidence from %s (%s, %s): %d records%s\n", src, s.Protocol, samp, s.Records, self)
	}
}

func newEgressReplayCmd(e *env) *cobra.Command {
	var fl egressFlags
	var mode string
	var portList []uint
	var failOn bool
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Run a capture or a JSON-lines flow file through the egress checks",
		Long: `Replay a pcap/pcapng capture or a JSON-lines file of flow records and print
the alerts. A capture holds either the packets themselves (metered into
unidirectional flows, no sampling) or flow export datagrams (NetFlow v5/v9,
IPFIX, sFlow to UDP ports 2055, 4739, 6343, 9995, 9996, decoded with the
capture's IP source as exporter). --mode auto picks export when one of the
first 1000 packets is a UDP datagram to an export port, else meter.`,
		Example: `  netvet egress replay mgmt.pcapng --elements elements.csv --allow allow.yaml
  netvet egress replay netflow.pcap --mode export --exporter 10.9.0.1 --elements elements.csv -f json -o alerts.jsonl
  netvet egress replay flows.jsonl --elements elements.csv --inventory inventory.csv --allow allow.yaml --asn ip2asn.tsv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			switch mode {
			case "auto", "meter", "export":
			default:
				return &UsageError{fmt.Errorf("--mode %q: use auto, meter or export", mode)}
			}
			var ports []uint16
			for _, v := range portList {
				if v == 0 || v > 65535 {
					return &UsageError{fmt.Errorf("--port %d: not a UDP port", v)}
				}
				ports = append(ports, uint16(v))
			}
			p, err := fl.pipeline(ctx, e)
			if err != nil {
				return err
			}
			sinks, err := fl.sinks(e)
			if err != nil {
				return err
			}
			n, runErr := replay(ctx, e, &fl, p, args[0], mode, ports, sinks)
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			closeErr := sinks.Close(cctx)
			if err := errors.Join(runErr, closeErr); err != nil {
				return err
			}
			if failOn && n > 0 {
				return ErrFindings
			}
			return nil
		},
	}
	fl.register(cmd, true)
	cmd.Flags().StringVar(&mode, "mode", "auto", "capture contents: auto, meter (packets) or export (flow export datagrams)")
	cmd.Flags().UintSliceVar(&portList, "port", nil, "UDP ports of export datagrams in the capture (default 2055,4739,6343,9995,9996)")
	cmd.Flags().BoolVar(&failOn, "fail-on-alert", false, "exit with status 3 when any alert is raised")
	return cmd
}

func replay(ctx context.Context, e *env, fl *egressFlags, p *egress.Pipeline, path, mode string, ports []uint16, sinks alert.Multi) (int, error) {
	if err := feed(ctx, e, fl, p, path, mode, ports); err != nil {
		return 0, err
	}
	alerts := p.Finish()
	egressSummary(e, p, len(alerts))
	return len(alerts), errors.Join(sinks.Send(alerts), fl.saveHistory(e, p))
}

// feed runs a capture or a JSON-lines file through the pipeline.
func feed(ctx context.Context, e *env, fl *egressFlags, p *egress.Pipeline, path, mode string, ports []uint16) error {
	kind, err := sniffReplay(path)
	if err != nil {
		return err
	}
	add := func(r flow.Record) { p.Add(&r) }
	if kind == "jsonl" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		_, rerr := egress.ReadRecords(path, f, 50, p.Add)
		f.Close()
		if rerr != nil {
			fmt.Fprintf(e.stderr, "netvet: egress: %v\n", rerr)
		}
		return nil
	}
	if mode == "auto" {
		if mode, err = sniffCapture(path, ports); err != nil {
			return err
		}
		e.log.Info("egress replay", "file", path, "mode", mode)
	}
	if mode == "meter" {
		st, err := pcap.MeterFile(ctx, path, pcap.Limits{}, pcap.MeterConfig{}, add)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(e.stderr, "netvet: egress: %s: metered %d packets into %d flows (unsampled, from the capture itself)\n", path, st.Packets, st.Flows)
		return nil
	}
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	exps, err := fl.exporterPrefixes(all)
	if err != nil {
		return err
	}
	dec, err := flow.NewDecoder(flow.Config{Exporters: exps})
	if err != nil {
		return err
	}
	st, err := pcap.ExtractFile(ctx, path, pcap.Limits{}, pcap.ExtractConfig{Ports: ports}, dec, add)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ds := dec.Stats()
	fmt.Fprintf(e.stderr, "netvet: egress: %s: %d export datagrams, %d records; %d from exporters not allowed, %d decode errors, %d template misses\n",
		path, st.Datagrams, st.Records, ds.DropUnknownExporter.Load(), ds.DecodeErrors.Load(), ds.TemplateMisses.Load())
	return nil
}

func newEgressReportCmd(e *env) *cobra.Command {
	var fl egressFlags
	var mode, format, output, since string
	var top int
	cmd := &cobra.Command{
		Use:   "report FILE",
		Short: "Summarise a capture or a JSON-lines flow file per element",
		Long: `Per element: destinations by bytes (with AS, country, name and whether
the allowlist covers them), destinations first seen since --new-since, and
beacon scores of 50 or more, allowed destinations included. The report
lists every exporter or capture the flows came from, whether it sampled,
and whether an element reported on itself.`,
		Example: `  netvet egress report mgmt.pcapng --elements elements.csv --allow allow.yaml
  netvet egress report flows.jsonl --elements elements.csv --inventory inventory.csv --allow allow.yaml -f html -o egress.html
  netvet egress report flows.jsonl --elements elements.csv --new-since 2026-03-01T00:00:00Z -f json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "text", "json", "html":
			default:
				return &UsageError{fmt.Errorf("-f %q: use text, json or html", format)}
			}
			switch mode {
			case "auto", "meter", "export":
			default:
				return &UsageError{fmt.Errorf("--mode %q: use auto, meter or export", mode)}
			}
			var newSince time.Time
			var rel time.Duration
			if since != "" {
				if d, err := time.ParseDuration(since); err == nil && d > 0 {
					rel = d
				} else if t, err := time.Parse(time.RFC3339, since); err == nil {
					newSince = t
				} else {
					return &UsageError{fmt.Errorf("--new-since %q: give a duration before the end of the data (72h) or an RFC 3339 time", since)}
				}
			}
			p, err := fl.pipeline(cmd.Context(), e)
			if err != nil {
				return err
			}
			if err := feed(cmd.Context(), e, &fl, p, args[0], mode, nil); err != nil {
				return err
			}
			p.Finish()
			if err := fl.saveHistory(e, p); err != nil {
				return err
			}
			if rel > 0 && !p.Now().IsZero() {
				newSince = p.Now().Add(-rel)
			}
			r := p.Report(newSince, top)
			return writeOutput(e, output, func(w io.Writer) error {
				switch format {
				case "json":
					return r.WriteJSON(w)
				case "html":
					return r.WriteHTML(w)
				}
				return r.WriteText(w)
			})
		},
	}
	fl.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&mode, "mode", "auto", "capture contents: auto, meter (packets) or export (flow export datagrams)")
	f.StringVarP(&format, "format", "f", "text", "report: text, json or html")
	f.StringVarP(&output, "output", "o", "", "write the report to this file instead of stdout")
	f.StringVar(&since, "new-since", "24h", "destinations first seen after this are new: a duration before the end of the data, or an RFC 3339 time")
	f.IntVar(&top, "top", 10, "destinations listed per element, by bytes")
	return cmd
}

var captureMagics = [][]byte{{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, {0x0a, 0x0d, 0x0d, 0x0a}}

// sniffReplay tells a capture from a JSON-lines file.
func sniffReplay(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && n == 0 {
		return "", fmt.Errorf("%s: empty file", path)
	}
	for _, m := range captureMagics {
		if n == 4 && string(head) == string(m) {
			return "capture", nil
		}
	}
	return "jsonl", nil
}

// sniffCapture looks at the first 1000 packets for flow export datagrams.
func sniffCapture(path string, ports []uint16) (string, error) {
	if len(ports) == 0 {
		ports = pcap.DefaultExportPorts
	}
	r, err := pcap.Open(path, pcap.Limits{})
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	for i := 0; i < 1000; i++ {
		pkt, err := r.Next()
		if err != nil {
			break
		}
		gp := gopacket.NewPacket(pkt.Data, pkt.LinkType, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		if u, ok := gp.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && slices.Contains(ports, uint16(u.DstPort)) {
			return "export", nil
		}
	}
	return "meter", nil
}

func newEgressWatchCmd(e *env) *cobra.Command {
	var fl egressFlags
	var kf kafkaFlags
	var listen, metricsAddr string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "watch --listen udp://:2055 --exporter CIDR --elements FILE",
		Short: "Collect NetFlow v5/v9, IPFIX and sFlow v5 and alert as flows arrive",
		Long: `Listen for flow export datagrams, decode them, and alert. Flow export is
unauthenticated UDP: only datagrams from --exporter addresses are decoded
(the flag is required); others are dropped and counted. Alerts are
collected every --interval and written to stdout or -o, and to --webhook and
--syslog. --metrics serves Prometheus counters on /metrics. Ctrl-C stops
the collector after a last collection.`,
		Example: `  netvet egress watch --listen udp://:2055 --exporter 10.9.0.0/24 --elements elements.csv --allow allow.yaml
  netvet egress watch --listen udp://[::]:4739 --exporter 10.9.0.1 --elements elements.csv \
      --inventory inventory.csv --allow allow.yaml --asn ip2asn-v4.tsv --metrics :9100 \
      --webhook https://soc.example/hook --syslog tcp://siem.example:514 -f json -o alerts.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(fl.exporters) == 0 {
				return &UsageError{errors.New("--exporter is required: flow export is unauthenticated, so say which exporters to trust")}
			}
			network, addr, err := parseListen(listen)
			if err != nil {
				return &UsageError{fmt.Errorf("--listen: %w", err)}
			}
			exps, err := fl.exporterPrefixes(nil)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			p, err := fl.pipeline(ctx, e)
			if err != nil {
				return err
			}
			dec, err := flow.NewDecoder(flow.Config{Exporters: exps})
			if err != nil {
				return err
			}
			conn, err := net.ListenPacket(network, addr)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			defer conn.Close()
			tee, stopKafka, err := kf.tee(e, conn, dec.Allowed)
			if err != nil {
				return err
			}
			defer stopKafka()
			if uc, ok := conn.(*net.UDPConn); ok {
				// Exporters send in bursts: ask for 8 MiB; the kernel
				// caps it at net.core.rmem_max (docs/egress.md).
				_ = uc.SetReadBuffer(8 << 20)
			}
			sinks, err := fl.sinks(e)
			if err != nil {
				return err
			}
			if metricsAddr != "" {
				ln, err := net.Listen("tcp", metricsAddr)
				if err != nil {
					sinks.Close(context.Background())
					return fmt.Errorf("--metrics: %w", err)
				}
				mux := http.NewServeMux()
				mux.Handle("/metrics", metrics.Handler(func() []metrics.Family {
					return slices.Concat(egress.DecoderFamilies(dec.Stats()), p.Families(), sinks.Families(), kf.families())
				}))
				srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
				go func() { _ = srv.Serve(ln) }()
				defer srv.Close()
				fmt.Fprintf(e.stderr, "netvet: egress: metrics on http://%s/metrics\n", ln.Addr())
			}
			fmt.Fprintf(e.stderr, "netvet: egress: listening on %s %s\n", network, conn.LocalAddr())
			total := 0
			saved := time.Now()
			c := &egress.Collector{Conn: tee, Decoder: dec, Pipeline: p, Interval: interval, Emit: func(a []egress.Alert) {
				total += len(a)
				if err := sinks.Send(a); err != nil {
					fmt.Fprintf(e.stderr, "netvet: egress: %v\n", err)
				}
				if time.Since(saved) >= historyEvery {
					saved = time.Now()
					if err := fl.saveHistory(e, p); err != nil {
						fmt.Fprintf(e.stderr, "netvet: egress: %v\n", err)
					}
				}
			}}
			runErr := c.Run(ctx)
			egressSummary(e, p, total)
			runErr = errors.Join(runErr, fl.saveHistory(e, p))
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return errors.Join(runErr, sinks.Close(cctx))
		},
	}
	fl.register(cmd, true)
	kf.register(cmd, "raw")
	cmd.Flags().StringVar(&listen, "listen", "udp://:2055", "where to receive export datagrams: udp://[host]:port")
	cmd.Flags().StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics on this address (e.g. :9100), path /metrics")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Second, "how often alerts are collected")
	return cmd
}

// historyEvery is how often watch writes --history while running.
const historyEvery = 10 * time.Minute

func parseListen(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Path != "" {
		return "", "", fmt.Errorf("%q: want udp://[host]:port", s)
	}
	switch u.Scheme {
	case "udp", "udp4", "udp6":
	default:
		return "", "", fmt.Errorf("%q: only udp is supported", s)
	}
	if u.Port() == "" {
		return "", "", fmt.Errorf("%q: no port", s)
	}
	return u.Scheme, u.Host, nil
}
