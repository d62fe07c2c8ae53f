package report

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The schemas under testdata/schema are the published ones (see
// testdata/schema/README.md); nothing is fetched at test time.
var (
	schemaOnce sync.Map // main file -> *schemaResult
)

type schemaResult struct {
	once sync.Once
	s    *jsonschema.Schema
	err  error
}

// loadSchema compiles testdata/schema/main, with the other files it
// refers to, asserting formats (uri, date-time, ...).
func loadSchema(t *testing.T, main string, others ...string) *jsonschema.Schema {
	t.Helper()
	v, _ := schemaOnce.LoadOrStore(main, &schemaResult{})
	res := v.(*schemaResult)
	res.once.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		var mainID string
		for _, f := range append([]string{main}, others...) {
			b, err := os.ReadFile(filepath.Join("testdata", "schema", f))
			if err != nil {
				res.err = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				res.err = err
				return
			}
			m, _ := doc.(map[string]any)
			id, _ := m["$id"].(string)
			if id == "" {
				id, _ = m["id"].(string)
			}
			if err := c.AddResource(id, doc); err != nil {
				res.err = err
				return
			}
			if f == main {
				mainID = id
			}
		}
		res.s, res.err = c.Compile(mainID)
	})
	if res.err != nil {
		t.Fatalf("schema %s: %v", main, res.err)
	}
	return res.s
}

// validate checks out against a schema.
func validate(t *testing.T, s *jsonschema.Schema, out []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("output does not validate:\n%v", err)
	}
}

// TestSchemaRejects makes sure the validators can fail: a document with a
// wrong field must not pass.
func TestSchemaRejects(t *testing.T) {
	for _, tc := range []struct {
		main   string
		others []string
		doc    string
	}{
		{"sarif-schema-2.1.0.json", nil, `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`},
		{"bom-1.6.schema.json", []string{"spdx.schema.json", "jsf-0.82.schema.json"}, `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"gadget","name":"x"}]}`},
		{"spdx-schema-2.3.json", nil, `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","dataLicense":"CC0-1.0","name":"x","documentNamespace":"https://x/y","creationInfo":{"created":"2020-01-01T00:00:00Z","creators":["Tool: x"]},"packages":[{"SPDXID":"SPDXRef-a","name":"a","downloadLocation":"NOASSERTION","primaryPackagePurpose":"GADGET"}]}`},
	} {
		s := loadSchema(t, tc.main, tc.others...)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(tc.doc)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); err == nil {
			t.Errorf("%s accepts an invalid document", tc.main)
		}
	}
}
