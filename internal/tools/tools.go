//go:build netvetpins

// Package tools pins the libraries the firmware scan and build-equivalence
// packages are built on, so that go.mod keeps them while those packages
// are written.
package tools

import (
	_ "github.com/CycloneDX/cyclonedx-go"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/anchore/grype/grype"
	_ "github.com/anchore/grype/grype/db/v6"
	_ "github.com/anchore/grype/grype/db/v6/testdb"
	_ "github.com/anchore/grype/grype/matcher"
	_ "github.com/anchore/syft/syft"
	_ "github.com/anchore/syft/syft/source/directorysource"
	_ "github.com/gaissmai/bart"
	_ "github.com/glaslos/tlsh"
	_ "github.com/glebarez/go-sqlite"
	_ "github.com/google/gopacket/layers"
	_ "github.com/google/gopacket/pcapgo"
	_ "github.com/maxmind/mmdbwriter"
	_ "github.com/netsampler/goflow2/v2/decoders/netflow"
	_ "github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	_ "github.com/netsampler/goflow2/v2/decoders/sflow"
	_ "github.com/netsampler/goflow2/v2/producer/proto"
	_ "github.com/openvex/go-vex/pkg/vex"
	_ "github.com/oschwald/maxminddb-golang/v2"
	_ "github.com/owenrumney/go-sarif/v2/sarif"
	_ "github.com/sigstore/sigstore-go/pkg/bundle"
	_ "github.com/sigstore/sigstore-go/pkg/root"
	_ "github.com/sigstore/sigstore-go/pkg/verify"
	_ "github.com/smallstep/pkcs7"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/twmb/franz-go/pkg/kgo"
	_ "github.com/zricethezav/gitleaks/v8/detect"
	_ "golang.org/x/term"
)
