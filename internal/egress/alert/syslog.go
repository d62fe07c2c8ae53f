package alert

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/netvet/netvet/internal/egress"
)

// Syslog facility local0; severities by score.
const (
	facilityLocal0 = 16
	sevError       = 3
	sevWarning     = 4
	sevNotice      = 5
	// sdID names netvet's structured data element. 32473 is the private
	// enterprise number reserved for documentation (RFC 5612); netvet has
	// none of its own.
	sdID = "netvet@32473"
	// Message size caps: RFC 5426 receivers must take 480 bytes and should
	// take 2048 over UDP; over TCP we allow 8 KiB.
	maxUDPMessage = 2048
	maxTCPMessage = 8192
)

// SyslogConfig sets up a Syslog sink.
type SyslogConfig struct {
	URL      string // udp://host:514 or tcp://host:514
	Hostname string // [os.Hostname]
	AppName  string // [netvet]
	Timeout  time.Duration
	Now      func() time.Time
}

// Syslog sends each alert as an RFC 5424 message: over UDP one per
// datagram, over TCP with octet-counting framing (RFC 6587).
type Syslog struct {
	mu      sync.Mutex
	cfg     SyslogConfig
	network string
	addr    string
	conn    net.Conn
	Sent    atomic.Uint64 // messages written
	Errors  atomic.Uint64 // messages that could not be written
}

// NewSyslog checks the URL and connects.
func NewSyslog(cfg SyslogConfig) (*Syslog, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "udp" && u.Scheme != "tcp") || u.Host == "" || u.Path != "" {
		return nil, fmt.Errorf("alert: syslog %q: want udp://host:port or tcp://host:port", cfg.URL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "514")
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.AppName == "" {
		cfg.AppName = "netvet"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Syslog{cfg: cfg, network: u.Scheme, addr: host}
	if err := s.dial(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Syslog) dial() error {
	c, err := net.DialTimeout(s.network, s.addr, s.cfg.Timeout)
	if err != nil {
		return fmt.Errorf("alert: syslog %s://%s: %w", s.network, s.addr, err)
	}
	s.conn = c
	return nil
}

// Send writes one message per alert; over TCP a broken connection is
// redialled once.
func (s *Syslog) Send(alerts []egress.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for i := range alerts {
		limit := maxUDPMessage
		if s.network == "tcp" {
			limit = maxTCPMessage
		}
		msg := Format5424(&alerts[i], s.cfg.Hostname, s.cfg.AppName, os.Getpid(), s.cfg.Now(), limit)
		if s.network == "tcp" {
			msg = strconv.Itoa(len(msg)) + " " + msg
		}
		err := s.write(msg)
		if err != nil && s.network == "tcp" {
			s.conn.Close()
			if err = s.dial(); err == nil {
				err = s.write(msg)
			}
		}
		if err == nil {
			s.Sent.Add(1)
		} else {
			s.Errors.Add(1)
			if first == nil {
				first = fmt.Errorf("alert: syslog: %w", err)
			}
		}
	}
	return first
}

func (s *Syslog) write(msg string) error {
	if s.conn == nil {
		return fmt.Errorf("not connected to %s", s.addr)
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeout))
	_, err := s.conn.Write([]byte(msg))
	return err
}

// Close closes the connection.
func (s *Syslog) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// Format5424 renders an alert as an RFC 5424 message (without transport
// framing) of at most limit bytes: the MSG part is cut to fit.
func Format5424(a *egress.Alert, hostname, app string, pid int, now time.Time, limit int) string {
	sev := sevNotice
	switch {
	case a.Score >= 90:
		sev = sevError
	case a.Score >= 70:
		sev = sevWarning
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %d %s ", facilityLocal0*8+sev, now.UTC().Format("2006-01-02T15:04:05.000000Z"),
		headerField(hostname, 255), headerField(app, 48), pid, headerField(a.Rule, 32))
	b.WriteString("[" + sdID)
	param := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + `="` + sdEscape(v) + `"`)
		}
	}
	param("rule", a.Rule)
	param("score", strconv.Itoa(a.Score))
	param("element", a.Element.ID)
	param("vendor", a.Element.Vendor)
	param("function", a.Element.Function)
	param("site", a.Element.Site)
	if d := a.Destination; d != nil {
		param("dst", d.Address)
		if d.ASN != 0 {
			param("asn", strconv.FormatUint(uint64(d.ASN), 10))
		}
		param("country", d.Country)
		param("name", d.Name)
	}
	param("bytes", strconv.FormatUint(a.Bytes, 10))
	param("flows", strconv.FormatUint(a.Flows, 10))
	param("first", a.FirstSeen.UTC().Format(time.RFC3339))
	param("last", a.LastSeen.UTC().Format(time.RFC3339))
	param("evidence", a.EvidenceText())
	param("sampled", strconv.FormatBool(a.Sampled))
	param("sampling_rate", strconv.FormatUint(uint64(a.SamplingRate), 10))
	param("self_reported", strconv.FormatBool(a.SelfReported))
	b.WriteString("] ")
	head := b.String()
	msg := a.Text()
	if len(head)+len(msg) > limit {
		n := max(0, limit-len(head))
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		msg = msg[:n]
	}
	return head + msg
}

// headerField makes a header field of printable US-ASCII without spaces,
// at most max bytes; empty becomes the nil value "-".
func headerField(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		if c > 32 && c < 127 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// sdEscape escapes '"', '\' and ']' in a PARAM-VALUE and replaces
// invalid UTF-8 and control characters.
func sdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError || r < 32 || r == 127:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
