package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

const (
	testRaw   = "raw"
	testFlows = "flows"
	nElements = 8
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func testElements(t testing.TB) *egress.ElementMap {
	t.Helper()
	var b strings.Builder
	b.WriteString("address,element,vendor,function,domain,site\n")
	for i := 1; i <= nElements; i++ {
		fmt.Fprintf(&b, "10.1.0.%d,el-%d,acme,gnb,ran,S%d\n", i, i, i%2)
	}
	em, err := egress.ParseElements("elements.csv", strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return em
}

const testPolicy = `version: 1
rules:
  - id: mgmt
    cidrs: [10.20.0.0/16]
`

var testExporters = []netip.Prefix{netip.MustParsePrefix("10.9.0.0/29")}

// exporter i (0..2) reports elements i+1, i+4, i+7; each uses a different
// export protocol and time layout, and only its first datagram carries the
// template, so a datagram decoded out of order or by a decoder that did not
// see the template loses its records.
type testExporter struct {
	addr  netip.Addr
	ipfix bool
	mode  flowtest.TimeMode
	seq   uint32
	boot  time.Time
	sent  bool
}

func newTestExporters() []*testExporter {
	return []*testExporter{
		{addr: netip.MustParseAddr("10.9.0.1"), mode: flowtest.TimeUptime, boot: t0.Add(-time.Hour)},
		{addr: netip.MustParseAddr("10.9.0.2"), ipfix: true, mode: flowtest.TimeMillis},
		{addr: netip.MustParseAddr("10.9.0.3"), ipfix: true, mode: flowtest.TimeNanos},
	}
}

func (x *testExporter) elements(i int) []netip.Addr {
	var out []netip.Addr
	for k := i + 1; k <= nElements; k += 3 {
		out = append(out, netip.AddrFrom4([4]byte{10, 1, 0, byte(k)}))
	}
	return out
}

// datagram encodes one flow per element of exporter i to dst at time at.
func (x *testExporter) datagram(i int, dst netip.Addr, at time.Time) []byte {
	x.seq++
	var m *flowtest.Msg
	if x.ipfix {
		m = flowtest.NewIPFIX(at.Add(time.Second), x.seq, 1)
	} else {
		m = flowtest.NewV9(x.boot, at.Add(time.Second), x.seq, 1)
	}
	if !x.sent {
		m.Template(300, flowtest.Fields(x.mode, false))
		x.sent = true
	}
	var recs [][]byte
	for _, src := range x.elements(i) {
		f := flowtest.Flow{Src: src, Dst: dst, SrcPort: 40000, DstPort: 443, Proto: 6, Bytes: 900, Packets: 6, Start: at, End: at.Add(500 * time.Millisecond)}
		recs = append(recs, flowtest.Record(x.mode, false, f, x.boot))
	}
	return m.Data(300, recs...).Bytes()
}

type alertLog struct {
	mu     sync.Mutex
	alerts []egress.Alert
}

func (l *alertLog) emit(a []egress.Alert) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts = append(l.alerts, a...)
	return nil
}

// count returns how often each (element, destination) not-allowlisted
// alert arrived, and the other alerts.
func (l *alertLog) count() (map[string]int, []egress.Alert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := map[string]int{}
	var other []egress.Alert
	for _, a := range l.alerts {
		if a.Rule != egress.RuleNotAllowlisted || a.Destination == nil {
			other = append(other, a)
			continue
		}
		n[a.Element.ID+">"+a.Destination.Address]++
	}
	return n, other
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// owners checks that no element's records reach two analyse members at
// the same time: a member holds an element from its first record until it
// drops the partition's state.
type owners struct {
	mu         sync.Mutex
	holder     map[string]string
	byMember   map[string]map[string]int
	violations []string
}

func (o *owners) record(member, element string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if h := o.holder[element]; h != "" && h != member {
		o.violations = append(o.violations, fmt.Sprintf("%s got a record of %s while %s held it", member, element, h))
	}
	o.holder[element] = member
	if o.byMember[member] == nil {
		o.byMember[member] = map[string]int{}
	}
	o.byMember[member][element]++
}

func (o *owners) drop(member string, elements []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range elements {
		if o.holder[e] == member {
			delete(o.holder, e)
		}
	}
}

func (o *owners) records(member string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, v := range o.byMember[member] {
		n += v
	}
	return n
}

func TestPipelineThroughKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, testRaw), kfake.SeedTopics(6, testFlows))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fast := []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(200 * time.Millisecond)}
	conn := func(id string) Conn { return Conn{Brokers: c.ListenAddrs(), ClientID: id, Opts: fast} }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := testLog(t)

	prod, err := NewRawProducer(ProducerConfig{Conn: conn("collector"), Topic: testRaw, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(context.Background())
	exps := newTestExporters()
	publish := func(dst netip.Addr, start time.Time, n int) {
		for k := 0; k < n; k++ {
			at := start.Add(time.Duration(k) * time.Minute)
			for i, x := range exps {
				if !prod.Publish(x.addr, x.datagram(i, dst, at), at.Add(2*time.Second)) {
					t.Fatal("publish refused a datagram")
				}
			}
		}
		if err := prod.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	x1, x2 := netip.MustParseAddr("45.0.0.1"), netip.MustParseAddr("45.0.0.2")
	allowed := netip.MustParseAddr("10.20.0.2")
	publish(allowed, t0, 2) // carries the templates
	publish(x1, t0.Add(5*time.Minute), 3)

	em := testElements(t)
	pol, err := allow.Parse("allow.yaml", []byte(testPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	newPipeline := func() (*egress.Pipeline, error) { return egress.New(egress.Config{Elements: em, Policy: pol}) }

	dec, err := NewDecodeStage(DecodeConfig{Conn: conn("decode"), RawTopic: testRaw, FlowsTopic: testFlows, Group: "dec",
		Exporters: testExporters, Elements: em, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	dctx, dstop := context.WithCancel(ctx)
	defer dstop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := dec.Run(dctx); err != nil {
			t.Errorf("decode: %v", err)
		}
	}()

	var alerts alertLog
	own := &owners{holder: map[string]string{}, byMember: map[string]map[string]int{}}
	member := func(name string) *AnalyseStage {
		a, err := NewAnalyseStage(AnalyseConfig{Conn: conn(name), FlowsTopic: testFlows, Group: "ana", Elements: em,
			NewPipeline: newPipeline, Emit: alerts.emit, Interval: 200 * time.Millisecond, Log: log.With("member", name)})
		if err != nil {
			t.Fatal(err)
		}
		a.onRecord = func(_ int32, el string) { own.record(name, el) }
		a.onDrop = func(_ int32, els []string) { own.drop(name, els) }
		return a
	}
	actx, astop := context.WithCancel(ctx)
	defer astop()
	a := member("A")
	run("A", func(context.Context) error { return a.Run(actx) })

	allAlerts := func(dst netip.Addr) func() bool {
		return func() bool {
			n, _ := alerts.count()
			for i := 1; i <= nElements; i++ {
				if n[fmt.Sprintf("el-%d>%s", i, dst)] == 0 {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "phase 1 alerts", 30*time.Second, allAlerts(x1))
	perPhase := uint64(nElements * 5)
	waitFor(t, "phase 1 commit", 10*time.Second, func() bool { return a.Stats().Records.Load() == perPhase && a.Stats().Commits.Load() > 0 })

	// A second member joins: A must give up some partitions (committing
	// first) and B must take them over from the committed offsets.
	b := member("B")
	run("B", func(context.Context) error { return b.Run(actx) })
	waitFor(t, "A to give up partitions", 30*time.Second, func() bool { return a.Stats().Dropped.Load() > 0 })

	publish(x2, t0.Add(10*time.Minute), 2)
	waitFor(t, "phase 2 alerts", 30*time.Second, allAlerts(x2))
	total := perPhase + nElements*2
	waitFor(t, "phase 2 records", 10*time.Second, func() bool { return a.Stats().Records.Load()+b.Stats().Records.Load() == total })
	if own.records("B") == 0 {
		t.Error("B analysed no records after the rebalance")
	}

	// hostile raw records
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	good := flowtest.V5(t0, t0.Add(time.Minute), 0, []flowtest.Flow{{Src: netip.MustParseAddr("10.1.0.1"), Dst: x1, Proto: 6, Bytes: 1, Packets: 1, Start: t0, End: t0}})
	e1 := netip.MustParseAddr("10.9.0.1")
	hdr := func(mut func([]kgo.RecordHeader) []kgo.RecordHeader) []kgo.RecordHeader {
		return mut(RawHeaders(e1, t0))
	}
	same := func(h []kgo.RecordHeader) []kgo.RecordHeader { return h }
	badRaw := []struct {
		key     []byte
		headers []kgo.RecordHeader
		value   []byte
		reason  Reason
	}{
		{e1.AsSlice(), nil, good, ReasonHeaders},
		{e1.AsSlice(), hdr(func(h []kgo.RecordHeader) []kgo.RecordHeader { h[0].Value = []byte{2}; return h }), good, ReasonVersion},
		{e1.AsSlice(), hdr(func(h []kgo.RecordHeader) []kgo.RecordHeader { h[1].Value = []byte{10, 9, 0, 1, 0}; return h }), good, ReasonExporter},
		{[]byte{10, 9, 0, 2}, hdr(same), good, ReasonExporter},
		{e1.AsSlice(), hdr(func(h []kgo.RecordHeader) []kgo.RecordHeader { h[2].Value = make([]byte, 8); return h }), good, ReasonRecvTime},
		{e1.AsSlice(), hdr(same), good[:2], ReasonSize},
		{[]byte{10, 66, 0, 1}, RawHeaders(netip.MustParseAddr("10.66.0.1"), t0), good, ReasonNotConfigured},
		{e1.AsSlice(), append(hdr(same), kgo.RecordHeader{Key: HeaderVersion, Value: []byte{1}}), good, ReasonHeaders},
		{e1.AsSlice(), RawHeaders(e1, time.Now().Add(48*time.Hour)), good, ReasonRecvTime},
	}
	want := map[Reason]uint64{}
	for _, r := range badRaw {
		want[r.reason]++
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: testRaw, Key: r.key, Headers: r.headers, Value: r.value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "hostile raw records counted", 10*time.Second, func() bool { return dec.Stats().Drops.Total() == uint64(len(badRaw)) })
	for r, n := range want {
		if got := dec.Stats().Drops.Get(r); got != n {
			t.Errorf("raw drops %s = %d, want %d (all: %s)", r, got, n, dec.Stats().Drops.String())
		}
	}

	// hostile flows records
	okRec := flow.Record{Exporter: e1, Protocol: flow.ProtoIPFIX, Src: netip.MustParseAddr("10.1.0.1"), Dst: x1, Proto: 6,
		SamplingRate: 1, Start: t0, End: t0, TimeSource: flow.TimeAbsoluteMs}
	enc := func(el string, r flow.Record) []byte {
		b, err := AppendFlow(nil, el, &r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stranger := okRec
	stranger.Src = netip.MustParseAddr("10.77.0.1")
	badFlows := []struct {
		key, value string
		reason     Reason
	}{
		{"el-1", "not json", ReasonMalformed},
		{"el-1", strings.Replace(string(enc("el-1", okRec)), `"v":1`, `"v":2`, 1), ReasonVersion},
		{"el-2", string(enc("el-1", okRec)), ReasonKey},
		{"el-x", string(enc("el-x", stranger)), ReasonUnknownElement},
		{"el-2", string(enc("el-2", okRec)), ReasonElementMismatch},
		{"el-1", strings.Repeat(" ", MaxFlowMessage+1), ReasonSize},
		{"el-1", strings.Replace(string(enc("el-1", okRec)), `"bytes":0`, `"bytes":-1`, 1), ReasonMalformed},
	}
	wantF := map[Reason]uint64{}
	for _, r := range badFlows {
		wantF[r.reason]++
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: testFlows, Key: []byte(r.key), Value: []byte(r.value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	flowDrops := func(r Reason) uint64 { return a.Stats().Drops.Get(r) + b.Stats().Drops.Get(r) }
	waitFor(t, "hostile flows records counted", 10*time.Second, func() bool {
		return a.Stats().Drops.Total()+b.Stats().Drops.Total() == uint64(len(badFlows))
	})
	for r, n := range wantF {
		if got := flowDrops(r); got != n {
			t.Errorf("flows drops %s = %d, want %d", r, got, n)
		}
	}

	astop()
	dstop()
	wg.Wait()

	n, other := alerts.count()
	for i := 1; i <= nElements; i++ {
		for _, dst := range []netip.Addr{x1, x2} {
			if k := fmt.Sprintf("el-%d>%s", i, dst); n[k] != 1 {
				t.Errorf("alert %s arrived %d times, want once", k, n[k])
			}
		}
	}
	if len(n) != 2*nElements || len(other) != 0 {
		t.Errorf("unexpected alerts: %v, other %+v", n, other)
	}
	for _, v := range own.violations {
		t.Error(v)
	}
	ds := dec.Stats()
	if ds.TemplateMisses.Load() != 0 || ds.DecodeErrors.Load() != 0 {
		t.Errorf("decode stage: %d template misses, %d decode errors; want none", ds.TemplateMisses.Load(), ds.DecodeErrors.Load())
	}
	if got := ds.Published.Load(); got != total {
		t.Errorf("decode stage published %d flows records, want %d", got, total)
	}
	if got := a.Stats().Records.Load() + b.Stats().Records.Load(); got != total {
		t.Errorf("analysed %d records, want %d (a record lost or analysed twice)", got, total)
	}
	if ps := prod.Stats(); ps.DropBuffer.Load()+ps.DropFailed.Load()+ps.DropInvalid.Load() != 0 {
		t.Errorf("producer dropped datagrams: %d buffer, %d failed, %d invalid", ps.DropBuffer.Load(), ps.DropFailed.Load(), ps.DropInvalid.Load())
	}
	t.Logf("A analysed %d records, B %d; drops: decode %s, analyse A %s, B %s", own.records("A"), own.records("B"),
		ds.Drops.String(), a.Stats().Drops.String(), b.Stats().Drops.String())
}

// TestAnalyseAtLeastOnce: when the alert output fails, offsets are not
// committed, so the next member analyses the same records again and the
// alerts are not lost.
func TestAnalyseAtLeastOnce(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, testFlows))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	em := testElements(t)
	pol, err := allow.Parse("allow.yaml", []byte(testPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := 1; i <= nElements; i++ {
		r := flow.Record{Exporter: netip.MustParseAddr("10.9.0.1"), Protocol: flow.ProtoIPFIX, Src: netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}),
			Dst: netip.MustParseAddr("45.0.0.7"), Proto: 17, DstPort: 53, Bytes: 100, Packets: 1, SamplingRate: 1, Start: t0, End: t0,
			TimeSource: flow.TimeAbsoluteMs}
		el := fmt.Sprintf("el-%d", i)
		v, err := AppendFlow(nil, el, &r)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: testFlows, Key: []byte(el), Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	fast := []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(200 * time.Millisecond)}
	member := func(name string, emit func([]egress.Alert) error) *AnalyseStage {
		a, err := NewAnalyseStage(AnalyseConfig{Conn: Conn{Brokers: c.ListenAddrs(), ClientID: name, Opts: fast}, FlowsTopic: testFlows,
			Group: "ana", Elements: em, Interval: 100 * time.Millisecond, Log: testLog(t),
			NewPipeline: func() (*egress.Pipeline, error) { return egress.New(egress.Config{Elements: em, Policy: pol}) }, Emit: emit})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	var tries int
	var mu sync.Mutex
	broken := member("broken", func([]egress.Alert) error {
		mu.Lock()
		defer mu.Unlock()
		tries++
		return fmt.Errorf("webhook down")
	})
	bctx, bstop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- broken.Run(bctx) }()
	waitFor(t, "the broken member to try its output", 30*time.Second, func() bool { return broken.Stats().EmitErrors.Load() > 0 })
	bstop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if broken.Stats().Records.Load() != nElements || broken.Stats().Commits.Load() != 0 {
		t.Fatalf("broken member: %d records, %d commits", broken.Stats().Records.Load(), broken.Stats().Commits.Load())
	}

	// the next member's output fails once, then works: the pending alerts
	// are sent on the next round, once
	var alerts alertLog
	failed := false
	good := member("good", func(a []egress.Alert) error {
		if !failed {
			failed = true
			return fmt.Errorf("syslog down")
		}
		return alerts.emit(a)
	})
	gctx, gstop := context.WithCancel(ctx)
	go func() { done <- good.Run(gctx) }()
	waitFor(t, "the alerts on the next member", 30*time.Second, func() bool {
		n, _ := alerts.count()
		return len(n) == nElements
	})
	gstop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n, other := alerts.count()
	for k, v := range n {
		if v != 1 {
			t.Errorf("alert %s arrived %d times", k, v)
		}
	}
	if len(n) != nElements || len(other) != 0 {
		t.Errorf("alerts after the retry: %v %v", n, other)
	}
	if good.Stats().EmitErrors.Load() != 1 || good.Stats().Commits.Load() == 0 {
		t.Errorf("next member: %d output errors, %d commits", good.Stats().EmitErrors.Load(), good.Stats().Commits.Load())
	}
	if good.Stats().Records.Load() != nElements {
		t.Errorf("the next member analysed %d records, want %d again", good.Stats().Records.Load(), nElements)
	}
}

// TestDecodeRebalanceTemplates: when a second decode member joins, the raw
// partitions that move take their exporters with them; the new owner has
// no templates for them until each exporter resends its templates, and
// counts the data it could not decode as template misses. Exporters on the
// partitions that stayed are not affected.
func TestDecodeRebalanceTemplates(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, testRaw), kfake.SeedTopics(1, testFlows))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fast := []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(200 * time.Millisecond)}
	prod, err := NewRawProducer(ProducerConfig{Conn: Conn{Brokers: c.ListenAddrs()}, Topic: testRaw})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(context.Background())
	exps := newTestExporters()
	dst := netip.MustParseAddr("45.0.0.1")
	perExporter := map[netip.Addr]uint64{}
	var all uint64
	for i, x := range exps {
		perExporter[x.addr] = uint64(len(x.elements(i)))
		all += uint64(len(x.elements(i)))
	}
	publish := func(at time.Time, templates bool) {
		for i, x := range exps {
			if templates {
				x.sent = false
			}
			prod.Publish(x.addr, x.datagram(i, dst, at), at)
		}
		if err := prod.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	em := testElements(t)
	member := func(name string) *DecodeStage {
		d, err := NewDecodeStage(DecodeConfig{Conn: Conn{Brokers: c.ListenAddrs(), ClientID: name, Opts: fast}, RawTopic: testRaw,
			FlowsTopic: testFlows, Group: "dec", Exporters: testExporters, Elements: em, Log: testLog(t).With("member", name)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	var wg sync.WaitGroup
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	run := func(d *DecodeStage) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Run(rctx); err != nil {
				t.Error(err)
			}
		}()
	}
	published := func(ds ...*DecodeStage) uint64 {
		var n uint64
		for _, d := range ds {
			n += d.Stats().Published.Load()
		}
		return n
	}

	publish(t0, true)
	d1 := member("D1")
	var moved []netip.Addr
	d1.onDrop = func(_ int32, exps []netip.Addr) { moved = append(moved, exps...) }
	run(d1)
	waitFor(t, "phase 1 published", 30*time.Second, func() bool { return published(d1) == all })
	d1.mu.Lock()
	for p, part := range d1.parts {
		if len(part.exporters) == 0 {
			t.Errorf("raw partition %d holds no exporter: the test keys do not spread", p)
		}
	}
	d1.mu.Unlock()

	d2 := member("D2")
	run(d2)
	waitFor(t, "D1 to give up a partition", 30*time.Second, func() bool { return d1.Stats().PartsDropped.Load() > 0 })
	d1.mu.Lock()
	gone := append([]netip.Addr(nil), moved...)
	d1.mu.Unlock()
	var movedRecs uint64
	for _, a := range gone {
		movedRecs += perExporter[a]
	}
	if len(gone) == 0 || movedRecs == all {
		t.Fatalf("moved exporters %v: want some but not all", gone)
	}

	publish(t0.Add(time.Minute), false) // data only
	waitFor(t, "phase 2: data of moved exporters missed, others decoded", 30*time.Second, func() bool {
		return d2.Stats().TemplateMisses.Load() == uint64(len(gone)) && published(d1, d2) == 2*all-movedRecs
	})
	publish(t0.Add(2*time.Minute), true) // templates again: all decode
	waitFor(t, "phase 3 published", 30*time.Second, func() bool { return published(d1, d2) == 3*all-movedRecs })
	stop()
	wg.Wait()
	if d1.Stats().TemplateMisses.Load() != 0 {
		t.Errorf("D1 missed %d templates; it kept its partitions' state", d1.Stats().TemplateMisses.Load())
	}
	if got := published(d1, d2); got != 3*all-movedRecs {
		t.Errorf("published %d, want %d", got, 3*all-movedRecs)
	}
	t.Logf("moved exporters %v; D2 template misses %d", gone, d2.Stats().TemplateMisses.Load())
}
