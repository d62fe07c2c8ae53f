package kafka

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
)

// Reason is why a Kafka record was dropped.
type Reason int

// Drop reasons. The first six apply to raw records, the rest to flows
// records; ReasonVersion and ReasonSize apply to both.
const (
	ReasonSize            Reason = iota // value too short or too long
	ReasonHeaders                       // raw headers missing, repeated, mis-sized or too many
	ReasonVersion                       // unknown format version
	ReasonExporter                      // exporter header invalid or not the record key
	ReasonRecvTime                      // receive time outside 2000..2200
	ReasonNotConfigured                 // exporter not in the configured prefixes
	ReasonMalformed                     // flows record is not a valid FlowMessage
	ReasonKey                           // flows record key is not its element
	ReasonUnknownElement                // flows record source is not in the element map
	ReasonElementMismatch               // flows record names another element than the map gives
	numReasons
)

var reasonNames = [numReasons]string{"size", "headers", "version", "exporter", "recv_time",
	"exporter_not_configured", "malformed", "key", "unknown_element", "element_mismatch"}

func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return fmt.Sprintf("reason-%d", int(r))
	}
	return reasonNames[r]
}

// Drops counts dropped records by reason; safe for concurrent use.
type Drops [numReasons]atomic.Uint64

func (d *Drops) add(r Reason) {
	if r >= 0 && r < numReasons {
		d[r].Add(1)
	}
}

// Get returns the count for one reason.
func (d *Drops) Get(r Reason) uint64 {
	if r < 0 || r >= numReasons {
		return 0
	}
	return d[r].Load()
}

// Total returns the sum over all reasons.
func (d *Drops) Total() uint64 {
	var n uint64
	for i := range d {
		n += d[i].Load()
	}
	return n
}

// String lists the non-zero counts as "reason=n", sorted by reason name.
func (d *Drops) String() string {
	var parts []string
	for i := range d {
		if v := d[i].Load(); v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", Reason(i), v))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
