// Package sbom lists the software components of an unpacked firmware image.
//
// Two sources feed it. syft, used as a library, catalogues every filesystem
// of the image (package databases, language ecosystems, its binary
// classifiers). netvet's own detectors cover what syft misses in network
// equipment: version strings inside daemons and libraries (dropbear,
// dnsmasq, hostapd, OpenSSL's libcrypto, libcurl, the C library, ...), Linux
// kernel banners in kernel images that are in no filesystem, kernel modules
// (.modinfo), and opkg package databases, which syft reads as Debian
// packages without a package URL.
//
// Every component carries its evidence: the file's manifest path, the byte
// offset of the version string (or -1 when the whole file is the evidence),
// the matched text, and the detector in FoundBy. The same image always
// gives the same components, in the same order, with the same IDs.
//
// Hygiene turns a component list into findings: several versions of one
// library, several copies of it, and versions past their upstream end of
// life.
//
// The detectors and parsers live in the detect subpackage, which links
// only the standard library; syft and its dependencies are linked by this
// package alone.
package sbom
