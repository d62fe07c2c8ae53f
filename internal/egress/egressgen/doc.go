// Package egressgen generates a month (or any period) of management-plane
// traffic for about a hundred network elements, as flow records seen by one
// independent, unsampled meter at the edge of the management network, and
// the files an operator would have for it: the element map, the allowlist,
// a hosts file and a small IP-to-ASN/country table.
//
// Normal traffic follows what management planes do: NTP polls that back
// off from 64 s to the configured maximum and restart at 64 s after a
// reboot, DNS to the operator's resolvers, syslog streams cut into records
// by the meter's active timeout, bursts of SNMP traps, NETCONF and SSH
// sessions from the management stations in working hours with TACACS+
// for each human login, performance-management file uploads every 15
// minutes, software downloads from the vendors' repositories in
// maintenance windows, day/night and weekday/weekend variation, element
// restarts and elements that are silent for days.
//
// Planted behaviour, each on its own element, is listed by
// (*Month).Planted: a 60 s beacon with jitter, a daily upload, DNS
// tunnelling to a foreign resolver and through the operator's own
// resolver, a volume jump to an allowed destination, and a hard negative
// (NTP every 64 s to an allowed server) that must not alert.
//
// Everything is derived from Config.Seed: the same configuration gives the
// same records and files, byte for byte. The addresses, AS numbers and
// organisations of the IP table are fictional.
package egressgen
