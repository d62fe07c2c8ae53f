package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
	"github.com/netvet/netvet/internal/egress/kafka"
)

type kafkaTestBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (k *kafkaTestBuf) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.b.Write(p)
}

func (k *kafkaTestBuf) String() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.b.String()
}

func runKafkaCmd(ctx context.Context, mk func(*env) *cobra.Command, args ...string) (string, error) {
	var out, errb kafkaTestBuf
	e := &env{stdout: &out, stderr: &errb, log: slog.New(slog.DiscardHandler)}
	cmd := mk(e)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(ctx)
	return errb.String(), err
}

func TestEgressKafkaUsage(t *testing.T) {
	dir := writeEgressInputs(t)
	el := filepath.Join(dir, "elements.csv")
	pw := filepath.Join(dir, "pass")
	if err := os.WriteFile(pw, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	collect := func(e *env) *cobra.Command { return newEgressKafkaCmds(e)[0] }
	decode := func(e *env) *cobra.Command { return newEgressKafkaCmds(e)[1] }
	analyse := func(e *env) *cobra.Command { return newEgressKafkaCmds(e)[2] }
	for _, c := range []struct {
		name  string
		mk    func(*env) *cobra.Command
		args  []string
		usage bool
		want  string
	}{
		{"collect no exporter", collect, []string{"--kafka", "k:9092"}, true, "--exporter is required"},
		{"collect no kafka", collect, []string{"--exporter", "10.9.0.1"}, true, "--kafka is required"},
		{"collect bad broker", collect, []string{"--exporter", "10.9.0.1", "--kafka", "k"}, true, "want host:port"},
		{"collect bad buffer", collect, []string{"--exporter", "10.9.0.1", "--kafka", "k:1", "--kafka-buffer", "0"}, true, "--kafka-buffer"},
		{"collect bad listen", collect, []string{"--exporter", "10.9.0.1", "--kafka", "k:1", "--listen", "tcp://:1"}, true, "only udp"},
		{"decode no exporter", decode, []string{"--kafka", "k:9092", "--elements", el}, true, "--exporter is required"},
		{"decode no elements", decode, []string{"--kafka", "k:9092", "--exporter", "10.9.0.1"}, true, "--elements or --inventory"},
		{"decode cert without key", decode, []string{"--kafka", "k:9092", "--exporter", "10.9.0.1", "--elements", el, "--kafka-cert", "c.pem"}, true, "go together"},
		{"decode missing ca", decode, []string{"--kafka", "k:9092", "--exporter", "10.9.0.1", "--elements", el, "--kafka-ca", filepath.Join(dir, "nope.pem")}, false, "--kafka-ca"},
		{"decode ca not pem", decode, []string{"--kafka", "k:9092", "--exporter", "10.9.0.1", "--elements", el, "--kafka-ca", el}, false, "no PEM certificate"},
		{"analyse no kafka", analyse, []string{"--elements", el}, true, "--kafka is required"},
		{"analyse history", analyse, []string{"--kafka", "k:9092", "--elements", el, "--history", "h.json"}, true, "--history is not supported"},
		{"analyse sasl without password", analyse, []string{"--kafka", "k:9092", "--elements", el, "--kafka-sasl-user", "u"}, true, "go together"},
		{"analyse sasl empty password", analyse, []string{"--kafka", "k:9092", "--elements", el, "--kafka-sasl-user", "u", "--kafka-sasl-password-file", pw}, false, "empty first line"},
		{"analyse sasl mechanism", analyse, []string{"--kafka", "k:9092", "--elements", el, "--kafka-sasl-user", "u", "--kafka-sasl-password-file", el, "--kafka-sasl-mechanism", "PLAIN"}, true, "SCRAM-SHA-256 or SCRAM-SHA-512"},
		{"analyse format", analyse, []string{"--kafka", "k:9092", "--elements", el, "-f", "xml"}, true, "use text or json"},
		{"analyse interval", analyse, []string{"--kafka", "k:9092", "--elements", el, "--interval", "0s"}, true, "--interval"},
	} {
		_, err := runKafkaCmd(context.Background(), c.mk, c.args...)
		var ue *UsageError
		if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &ue) != c.usage {
			t.Errorf("%s: err %v (usage error %v), want %q (usage %v)", c.name, err, errors.As(err, &ue), c.want, c.usage)
		}
	}
}

// TestEgressKafkaStages runs the decode and analyse commands against an
// in-process Kafka and checks the alerts they write.
func TestEgressKafkaStages(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, kafka.DefaultRawTopic), kfake.SeedTopics(3, kafka.DefaultFlowsTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	dir := writeEgressInputs(t)
	out := filepath.Join(dir, "alerts.jsonl")

	p, err := kafka.NewRawProducer(kafka.ProducerConfig{Conn: kafka.Conn{Brokers: []string{broker}}})
	if err != nil {
		t.Fatal(err)
	}
	exp := netip.MustParseAddr("10.9.0.1")
	m := flowtest.NewIPFIX(egressT0.Add(time.Minute), 1, 1).Template(256, flowtest.Fields(flowtest.TimeMillis, false))
	var recs [][]byte
	for i, src := range []string{"10.1.0.1", "10.1.0.2", "10.7.7.7"} {
		f := flowtest.Flow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("45.0.0.9"), SrcPort: 40000 + uint16(i), DstPort: 443,
			Proto: 6, Bytes: 1000, Packets: 8, Start: egressT0, End: egressT0.Add(time.Second)}
		recs = append(recs, flowtest.Record(flowtest.TimeMillis, false, f, egressT0))
	}
	p.Publish(exp, m.Data(256, recs...).Bytes(), egressT0.Add(time.Minute))
	p.Publish(netip.MustParseAddr("10.66.0.1"), m.Bytes(), egressT0.Add(time.Minute)) // not a configured exporter
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var decErr, anaErr error
	var decLog, anaLog string
	runCtx, stop := context.WithCancel(ctx)
	wg.Add(2)
	go func() {
		defer wg.Done()
		decLog, decErr = runKafkaCmd(runCtx, newEgressDecodeCmd, "--kafka", broker, "--exporter", "10.9.0.0/24",
			"--elements", filepath.Join(dir, "elements.csv"))
	}()
	go func() {
		defer wg.Done()
		anaLog, anaErr = runKafkaCmd(runCtx, newEgressAnalyseCmd, "--kafka", broker, "--elements", filepath.Join(dir, "elements.csv"),
			"--allow", filepath.Join(dir, "allow.yaml"), "--asn", filepath.Join(dir, "asn.tsv"), "--interval", "200ms", "-f", "json", "-o", out)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if bytes.Count(b, []byte("\n")) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			stop()
			wg.Wait()
			t.Fatalf("no alerts after 30 s; decode: %v\n%s\nanalyse: %v\n%s", decErr, decLog, anaErr, anaLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if decErr != nil || anaErr != nil {
		t.Fatalf("decode: %v, analyse: %v", decErr, anaErr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	as := jsonAlerts(t, string(b))
	if len(as) != 2 || as[0].Element.ID != "gnb-1" || as[1].Element.ID != "gnb-2" {
		t.Fatalf("alerts: %s", b)
	}
	for _, a := range as {
		if a.Rule != "not-allowlisted" || a.Destination == nil || a.Destination.ASN != 4134 || len(a.Evidence) != 1 || a.Evidence[0].Exporter != "10.9.0.1" {
			t.Errorf("alert %+v", a)
		}
	}
	for _, want := range []string{"2 raw records, 1 datagrams decoded into 3 records, 2 published, 1 from unknown sources", "exporter_not_configured=1"} {
		if !strings.Contains(decLog, want) {
			t.Errorf("decode summary lacks %q:\n%s", want, decLog)
		}
	}
	if !strings.Contains(anaLog, "2 flows records, 2 analysed, 2 alerts") {
		t.Errorf("analyse summary:\n%s", anaLog)
	}
}

// TestEgressKafkaTLSSASL runs analyse against a broker that wants TLS and
// SASL/SCRAM-SHA-512, with the CA and the password given by file.
func TestEgressKafkaTLSSASL(t *testing.T) {
	dir := writeEgressInputs(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafka test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "kafka.pass")
	if err := os.WriteFile(passFile, []byte("s3cret-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srvTLS := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, kafka.DefaultFlowsTopic), kfake.TLS(srvTLS),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "netvet", "s3cret-pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	auth := scram.Auth{User: "netvet", Pass: "s3cret-pass"}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.DialTLSConfig(&tls.Config{RootCAs: pool}), kgo.SASL(auth.AsSha512Mechanism()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := flow.Record{Exporter: netip.MustParseAddr("10.9.0.1"), Protocol: flow.ProtoIPFIX, Src: netip.MustParseAddr("10.1.0.1"),
		Dst: netip.MustParseAddr("45.0.0.9"), DstPort: 443, Proto: 6, Bytes: 10, Packets: 1, SamplingRate: 1, Start: egressT0, End: egressT0,
		TimeSource: flow.TimeAbsoluteMs}
	v, err := kafka.AppendFlow(nil, "gnb-1", &r)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: kafka.DefaultFlowsTopic, Key: []byte("gnb-1"), Value: v}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "alerts.jsonl")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var log string
	go func() {
		var err error
		log, err = runKafkaCmd(runCtx, newEgressAnalyseCmd, "--kafka", broker, "--kafka-ca", caFile, "--kafka-sasl-user", "netvet",
			"--kafka-sasl-password-file", passFile, "--elements", filepath.Join(dir, "elements.csv"), "--allow", filepath.Join(dir, "allow.yaml"),
			"--interval", "200ms", "-f", "json", "-o", out)
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, _ := os.ReadFile(out); bytes.Contains(b, []byte(`"id":"gnb-1"`)) {
			break
		}
		if time.Now().After(deadline) {
			stop()
			<-done
			t.Fatalf("no alert over TLS and SASL after 30 s:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("analyse: %v\n%s", err, log)
	}
	if strings.Contains(log, "travel in clear") {
		t.Errorf("warned about plaintext over TLS:\n%s", log)
	}
}
