package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress"
)

var at = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func sample(i int) egress.Alert {
	return egress.Alert{
		Rule: egress.RuleNotAllowlisted, Score: 100, Band: "high",
		Element:     egress.Element{ID: "gnb-" + strconv.Itoa(i), Vendor: "acme", Function: "gnb", Site: "S1"},
		Destination: &egress.Destination{Address: "45.0.0.9", Class: "public", ASN: 4134, Country: "CN", Name: `evil"]name`},
		Reason:      "no rule allows it", FirstSeen: at, LastSeen: at.Add(time.Minute), Raised: at,
		Bytes: 512, Packets: 4, Flows: 1,
		Evidence: []egress.Evidence{{Exporter: "10.9.0.1", Protocol: "ipfix", Sampled: true, SamplingRate: 100}},
		Sampled:  true, SamplingRate: 100,
	}
}

func TestWriter(t *testing.T) {
	var b strings.Builder
	w, err := NewWriter(&b, FormatJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send([]egress.Alert{sample(1), sample(2)}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got["self_reported"] != false || got["sampling_rate"] != float64(100) || got["rule"] != "not-allowlisted" {
		t.Errorf("json: %v", got)
	}
	b.Reset()
	w, _ = NewWriter(&b, FormatText, nil)
	w.Send([]egress.Alert{sample(1)})
	want := `2026-03-02T10:00:00Z not-allowlisted score=100 (high) element=gnb-1 [vendor=acme function=gnb site=S1] dst=45.0.0.9 class=public AS4134 country=CN name="evil\"]name" bytes=512 packets=4 flows=1 first=2026-03-02T10:00:00Z last=2026-03-02T10:01:00Z evidence=10.9.0.1/ipfix/sampled-1:100 reason="no rule allows it"` + "\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant\n%s", b.String(), want)
	}
	if _, err := NewWriter(&b, "xml", nil); err == nil {
		t.Error("xml accepted")
	}
}

func TestWebhookDelivers(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n <= 2 { // two server errors, then success
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		var a egress.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, a.Element.ID)
		mu.Unlock()
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Backoff: time.Millisecond, MaxRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	w.Send([]egress.Alert{sample(1), sample(2)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Sent.Load() != 2 || st.Retries.Load() != 2 || st.Failed.Load() != 0 {
		t.Errorf("sent %d retries %d failed %d", st.Sent.Load(), st.Retries.Load(), st.Failed.Load())
	}
	if strings.Join(got, ",") != "gnb-1,gnb-2" {
		t.Errorf("order %v", got)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if strings.Contains(r.URL.Path, "bad") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	w, _ := NewWebhook(WebhookConfig{URL: srv.URL + "/down", Backoff: time.Millisecond, MaxRetries: 2})
	w.Send([]egress.Alert{sample(1)})
	w.Close(context.Background())
	if w.Stats().Failed.Load() != 1 || calls.Load() != 3 {
		t.Errorf("5xx: failed %d calls %d", w.Stats().Failed.Load(), calls.Load())
	}
	calls.Store(0)
	w, _ = NewWebhook(WebhookConfig{URL: srv.URL + "/bad", Backoff: time.Millisecond, MaxRetries: 2})
	w.Send([]egress.Alert{sample(1)})
	w.Close(context.Background())
	if w.Stats().Failed.Load() != 1 || calls.Load() != 1 {
		t.Errorf("4xx is not retried: failed %d calls %d", w.Stats().Failed.Load(), calls.Load())
	}
}

func TestWebhookSlowServerQueue(t *testing.T) {
	release := make(chan struct{})
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		served.Add(1)
	}))
	defer srv.Close()
	defer close(release)
	w, _ := NewWebhook(WebhookConfig{URL: srv.URL, QueueSize: 3, Timeout: 50 * time.Millisecond, Backoff: time.Millisecond, MaxRetries: 1})
	batch := make([]egress.Alert, 10)
	for i := range batch {
		batch[i] = sample(i)
	}
	start := time.Now()
	w.Send(batch) // must not block on the slow server
	if time.Since(start) > time.Second {
		t.Error("Send blocked")
	}
	if d := w.Stats().Dropped.Load(); d < 6 {
		t.Errorf("dropped %d, want at least 6 of 10 with a queue of 3", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	w.Close(ctx)
	st := w.Stats()
	if st.Sent.Load() != 0 || st.Failed.Load()+st.Dropped.Load() != 10 {
		t.Errorf("sent %d failed %d dropped %d", st.Sent.Load(), st.Failed.Load(), st.Dropped.Load())
	}
	if err := w.Send(batch); err == nil {
		t.Error("send after close accepted")
	}
}

func TestWebhookURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/", "http://", "::"} {
		if _, err := NewWebhook(WebhookConfig{URL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

var re5424 = regexp.MustCompile(`^<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) (\S+) (\d+) (\S+) \[netvet@32473( [a-z_]+="(?:[^"\\\]]|\\["\\\]])*")+\] (.*)$`)

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := NewSyslog(SyslogConfig{URL: "udp://" + pc.LocalAddr().String(), Hostname: "collector 1", Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	a := sample(1)
	a.Score = 75
	if err := s.Send([]egress.Alert{a}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	m := re5424.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("not RFC 5424: %q", msg)
	}
	if m[1] != "132" || m[2] != "2026-03-02T10:00:00.000000Z" || m[3] != "collector_1" || m[4] != "netvet" || m[6] != "not-allowlisted" {
		t.Errorf("header %q", m[1:7])
	}
	for _, want := range []string{`name="evil\"\]name"`, `element="gnb-1"`, `sampling_rate="100"`, `self_reported="false"`, `evidence="10.9.0.1/ipfix/sampled-1:100"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %s in %q", want, msg)
		}
	}
}

func TestSyslogTCPFraming(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	msgs := make(chan string, 4)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			lenStr, err := br.ReadString(' ')
			if err != nil {
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(lenStr))
			if err != nil {
				msgs <- "bad length " + lenStr
				return
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(br, b); err != nil {
				return
			}
			msgs <- string(b)
		}
	}()
	s, err := NewSyslog(SyslogConfig{URL: "tcp://" + ln.Addr().String(), Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	a := sample(1)
	a.Reason = strings.Repeat("é", 6000) // forces the cut inside the message
	if err := s.Send([]egress.Alert{sample(1), a}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case m := <-msgs:
			if !re5424.MatchString(m) {
				t.Errorf("message %d not RFC 5424: %.200q", i, m)
			}
			if len(m) > maxTCPMessage {
				t.Errorf("message %d is %d bytes", i, len(m))
			}
			if !strings.HasPrefix(m, "<131>1 ") {
				t.Errorf("priority: %.10q", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no message")
		}
	}
	s.Close(context.Background())
}

func TestSyslogURL(t *testing.T) {
	for _, u := range []string{"", "http://x:1", "udp://", "tcp://h:1/path"} {
		if _, err := NewSyslog(SyslogConfig{URL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
