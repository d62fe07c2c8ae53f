// Package detect finds software components in the content of firmware
// files and in package metadata, with the byte offset of each piece of
// evidence: version strings in programs, libraries and kernels (Scan),
// kernel module information (ParseModinfo), opkg databases (ParseControl)
// and os-release files (ParseOSRelease). It also knows the products it
// detects: their NVD CPE names (CPEs), how package names map to them
// (ProductName), how packaged versions map to upstream releases
// (UpstreamVersion), and the support calendars of those that publish one
// (EndOfLife).
//
// It reads bytes only through the readers it is given, never allocates
// from a size found in the data, and links nothing but the standard
// library, so that its parsers can be fuzzed quickly.
package detect
