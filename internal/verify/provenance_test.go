package verify

import (
	"encoding/base64"
	"strings"
	"testing"
)

const slsa02Statement = `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2",
"subject":[{"name":"fw.bin","digest":{"sha256":"` + "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB" + `"}}],
"predicate":{"builder":{"id":"https://builder.example/v0"},"buildType":"https://example/make@v1",
"metadata":{"buildStartedOn":"2024-05-01T10:00:00Z"},
"materials":[{"uri":"git+https://z.example/b","digest":{"sha1":"aa"}},{"uri":"git+https://a.example/a","digest":{"sha256":"bb"}}]}}`

var provenanceCases = []struct {
	name      string
	in        string
	n         int
	builder   string
	buildType string
	materials int
	signed    bool
	errPart   string
}{
	{name: "slsa v0.2 statement", in: slsa02Statement, n: 1, builder: "https://builder.example/v0", buildType: "https://example/make@v1", materials: 2},
	{name: "slsa v1 statement", in: string(slsaStatement(map[string]string{"fw.bin": h256})), n: 1, builder: "https://ci.example.net/builder/v1", buildType: "https://example.net/firmware-build/v1", materials: 1},
	{name: "dsse envelope", in: `{"payloadType":"application/vnd.in-toto+json","payload":"` + base64.StdEncoding.EncodeToString([]byte(slsa02Statement)) + `","signatures":[{"keyid":"k","sig":"AAAA"}]}`,
		n: 1, builder: "https://builder.example/v0", buildType: "https://example/make@v1", materials: 2, signed: true},
	{name: "json lines", in: slsa02Statement + "\n" + string(slsaStatement(map[string]string{"a": h256})) + "\n", n: 2, builder: "https://builder.example/v0", buildType: "https://example/make@v1", materials: 2},
	{name: "other predicate", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document","subject":[{"name":"a","digest":{"sha512":"` + h512 + `"}}],"predicate":{"x":1}}`, n: 1},
	{name: "sigstore bundle", in: `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`, errPart: "--bundle"},
	{name: "wrong payload type", in: `{"payloadType":"text/plain","payload":"","signatures":[]}`, errPart: "payload type"},
	{name: "payload not base64", in: `{"payloadType":"application/vnd.in-toto+json","payload":"%%%","signatures":[]}`, errPart: "base64"},
	{name: "unknown statement type", in: `{"_type":"https://example/x","subject":[{"name":"a","digest":{"sha256":"aa"}}]}`, errPart: "statement type"},
	{name: "no subject", in: `{"_type":"https://in-toto.io/Statement/v1","subject":[]}`, errPart: "without a subject"},
	{name: "subject without digest", in: `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}]}`, errPart: "no digest"},
	{name: "neither", in: `{"a":1}`, errPart: "neither"},
	{name: "not json", in: `hello`, errPart: "not JSON"},
	{name: "empty", in: ``, errPart: "empty"},
	{name: "bad predicate", in: `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"name":"a","digest":{"sha256":"aa"}}],"predicate":{"buildDefinition":7}}`, errPart: "predicate"},
}

func TestParseProvenance(t *testing.T) {
	for _, tc := range provenanceCases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := ParseProvenance([]byte(tc.in))
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v, want one with %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != tc.n {
				t.Fatalf("%d statements, want %d", len(ps), tc.n)
			}
			p := ps[0]
			if p.BuilderID != tc.builder || p.BuildType != tc.buildType || len(p.Materials) != tc.materials || p.Signed != tc.signed {
				t.Errorf("got builder %q type %q materials %d signed %v", p.BuilderID, p.BuildType, len(p.Materials), p.Signed)
			}
			if len(p.Subjects) == 0 {
				t.Fatal("no subjects")
			}
			for i := 1; i < len(p.Materials); i++ {
				if p.Materials[i-1].URI > p.Materials[i].URI {
					t.Errorf("materials not sorted: %v", p.Materials)
				}
			}
			for i, q := range ps {
				if q.Index != i {
					t.Errorf("statement %d has index %d", i, q.Index)
				}
			}
		})
	}
}

func TestSubjectDigestLowercased(t *testing.T) {
	ps, err := ParseProvenance([]byte(slsa02Statement))
	if err != nil {
		t.Fatal(err)
	}
	alg, d := ps[0].Subjects[0].SubjectDigest()
	if alg != SHA256 || d != h256 {
		t.Errorf("digest %s %s", alg, d)
	}
}

func FuzzParseProvenance(f *testing.F) {
	for _, tc := range provenanceCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParseProvenance(b)
		if err != nil {
			if ps != nil {
				t.Fatal("statements and an error")
			}
			return
		}
		if len(ps) == 0 || len(ps) > maxStatements {
			t.Fatalf("%d statements", len(ps))
		}
		for _, p := range ps {
			if len(p.Subjects) == 0 {
				t.Fatal("statement without subjects")
			}
			for _, s := range p.Subjects {
				if len(s.Digest) == 0 {
					t.Fatal("subject without digest")
				}
			}
			if p.Signed && p.Envelope == nil {
				t.Fatal("signed without an envelope")
			}
		}
	})
}
