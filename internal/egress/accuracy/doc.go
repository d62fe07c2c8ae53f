// Package accuracy measures the egress detectors on a generated month of
// management traffic (package egressgen): every planted behaviour must be
// found by the right rule, for the right element and destination, and the
// alerts on normal elements are counted as false positives. The package
// holds only tests besides this comment; see docs/egress-detection.md for
// the figures and bench/egress-month.sh for the same measurement through
// the CLI.
package accuracy
