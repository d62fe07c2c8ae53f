// Package policies embeds the policy packs shipped with netvet: one YAML
// file per jurisdiction, in the format described in docs/policy.md.
package policies

import "embed"

// FS holds the shipped packs, named <id>.yaml.
//
//go:embed *.yaml
var FS embed.FS
