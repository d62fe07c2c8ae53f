package metrics

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	fams := []Family{
		{Name: "netvet_b_total", Help: "B with \\ and\nnewline", Type: Counter, Samples: []Sample{
			{Labels: []Label{{"reason", "z"}}, Value: 2},
			{Labels: []Label{{"reason", `a"q\`}}, Value: 1},
		}},
		{Name: "netvet_a", Help: "A", Type: Gauge, Samples: []Sample{{Value: math.Inf(1)}}},
		{Name: "bad name", Help: "skipped", Samples: []Sample{{Value: 1}}},
	}
	var b strings.Builder
	if err := Write(&b, fams); err != nil {
		t.Fatal(err)
	}
	want := `# HELP netvet_a A
# TYPE netvet_a gauge
netvet_a +Inf
# HELP netvet_b_total B with \\ and\nnewline
# TYPE netvet_b_total counter
netvet_b_total{reason="a\"q\\"} 1
netvet_b_total{reason="z"} 2
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler(func() []Family {
		return []Family{{Name: "netvet_packets_total", Help: "p", Type: Counter, Samples: []Sample{{Value: 12345678901}}}}
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	if !strings.Contains(string(body), "netvet_packets_total 1.2345678901e+10\n") {
		t.Errorf("body %q", body)
	}
	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}
