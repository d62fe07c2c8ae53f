package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Limits on a provenance file.
const (
	MaxProvenanceSize = 16 << 20 // bytes of the file
	maxStatements     = 64       // envelopes or statements in one file (JSON Lines)
	maxSubjects       = 1 << 16  // subjects of one statement
	maxMaterials      = 1 << 12  // materials kept for the report
)

// In-toto and DSSE identifiers.
const (
	InTotoPayloadType = "application/vnd.in-toto+json"
	StatementV01      = "https://in-toto.io/Statement/v0.1"
	StatementV1       = "https://in-toto.io/Statement/v1"
	SLSAv01           = "https://slsa.dev/provenance/v0.1"
	SLSAv02           = "https://slsa.dev/provenance/v0.2"
	SLSAv1            = "https://slsa.dev/provenance/v1"
)

// Envelope is a DSSE envelope.
type Envelope struct {
	PayloadType string        `json:"payloadType"`
	Payload     string        `json:"payload"`
	Signatures  []EnvelopeSig `json:"signatures"`
}

// EnvelopeSig is one signature of a DSSE envelope.
type EnvelopeSig struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Subject is an artifact an in-toto statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Material is a build input named by a SLSA provenance predicate.
type Material struct {
	URI    string            `json:"uri,omitempty"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// Provenance is one in-toto statement read from a provenance file, with
// the SLSA fields a reader wants to see.
type Provenance struct {
	// Index is the statement's position in the file (0 for a single one).
	Index         int        `json:"index"`
	Signed        bool       `json:"signed"` // inside a DSSE envelope with signatures
	StatementType string     `json:"statement_type"`
	PredicateType string     `json:"predicate_type"`
	Subjects      []Subject  `json:"subjects"`
	BuilderID     string     `json:"builder_id,omitempty"`
	BuildType     string     `json:"build_type,omitempty"`
	StartedOn     string     `json:"started_on,omitempty"`
	FinishedOn    string     `json:"finished_on,omitempty"`
	Materials     []Material `json:"materials,omitempty"`
	// MoreMaterials counts materials beyond the kept ones.
	MoreMaterials int `json:"more_materials,omitempty"`

	// Envelope is the DSSE envelope the statement came in, nil for a bare
	// statement.
	Envelope *Envelope `json:"-"`
	// Payload is the exact statement bytes (the decoded DSSE payload).
	Payload []byte `json:"-"`
}

// ParseProvenance reads a provenance file: one in-toto statement, one DSSE
// envelope holding a statement, or several of either as JSON Lines (the
// .intoto.jsonl form).
func ParseProvenance(data []byte) ([]*Provenance, error) {
	if len(data) > MaxProvenanceSize {
		return nil, fmt.Errorf("provenance of %d bytes is larger than the %d-byte limit", len(data), MaxProvenanceSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []*Provenance
	for i := 0; ; i++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("statement %d: not JSON: %w", i+1, err)
		}
		if i >= maxStatements {
			return nil, fmt.Errorf("more than %d statements in one file", maxStatements)
		}
		p, err := parseOne(raw)
		if err != nil {
			if i == 0 && !dec.More() {
				return nil, err
			}
			return nil, fmt.Errorf("statement %d: %w", i+1, err)
		}
		p.Index = i
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no statement: the file is empty")
	}
	return out, nil
}

// probe holds the keys that tell an envelope, a statement and a Sigstore
// bundle apart.
type probe struct {
	PayloadType *string         `json:"payloadType"`
	Type        *string         `json:"_type"`
	MediaType   *string         `json:"mediaType"`
	DSSE        json.RawMessage `json:"dsseEnvelope"`
}

func parseOne(raw []byte) (*Provenance, error) {
	var pr probe
	if err := json.Unmarshal(raw, &pr); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	switch {
	case pr.MediaType != nil && strings.HasPrefix(*pr.MediaType, "application/vnd.dev.sigstore.bundle"):
		return nil, errors.New("this is a Sigstore bundle: give it with --bundle (its statement is read from there)")
	case pr.PayloadType != nil:
		var env Envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			return nil, fmt.Errorf("DSSE envelope: %w", err)
		}
		return ParseEnvelope(&env)
	case pr.Type != nil:
		return parseStatement(raw)
	}
	return nil, errors.New("neither an in-toto statement (\"_type\") nor a DSSE envelope (\"payloadType\")")
}

// ParseEnvelope decodes the statement a DSSE envelope carries.
func ParseEnvelope(env *Envelope) (*Provenance, error) {
	if env.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("DSSE payload type %q is not %s", shorten(env.PayloadType, 80), InTotoPayloadType)
	}
	payload, err := decodeBase64(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("DSSE payload: %w", err)
	}
	p, err := parseStatement(payload)
	if err != nil {
		return nil, fmt.Errorf("DSSE payload: %w", err)
	}
	p.Envelope = env
	p.Signed = len(env.Signatures) > 0
	return p, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, as
// DSSE implementations write both.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

type statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

func parseStatement(raw []byte) (*Provenance, error) {
	var st statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if st.Type != StatementV01 && st.Type != StatementV1 {
		return nil, fmt.Errorf("statement type %q is not %s or %s", shorten(st.Type, 80), StatementV01, StatementV1)
	}
	if len(st.Subject) == 0 {
		return nil, errors.New("in-toto statement without a subject")
	}
	if len(st.Subject) > maxSubjects {
		return nil, fmt.Errorf("in-toto statement with %d subjects (limit %d)", len(st.Subject), maxSubjects)
	}
	p := &Provenance{StatementType: st.Type, PredicateType: st.PredicateType, Payload: raw}
	for i, s := range st.Subject {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("subject %d (%q) has no digest", i+1, shorten(s.Name, 80))
		}
		d := make(map[string]string, len(s.Digest))
		for alg, v := range s.Digest {
			d[strings.ToLower(alg)] = strings.ToLower(v)
		}
		p.Subjects = append(p.Subjects, Subject{Name: s.Name, Digest: d})
	}
	sort.SliceStable(p.Subjects, func(i, j int) bool { return p.Subjects[i].Name < p.Subjects[j].Name })
	if len(st.Predicate) > 0 && !bytes.Equal(st.Predicate, []byte("null")) {
		if err := p.readPredicate(st.Predicate); err != nil {
			return nil, fmt.Errorf("predicate %s: %w", shorten(st.PredicateType, 80), err)
		}
	}
	return p, nil
}

// SLSA predicates, the fields netvet reports.
type slsa01 struct {
	Builder struct {
		ID string `json:"id"`
	} `json:"builder"`
	Recipe struct {
		Type string `json:"type"`
	} `json:"recipe"`
	Metadata struct {
		Started  string `json:"buildStartedOn"`
		Finished string `json:"buildFinishedOn"`
	} `json:"metadata"`
	Materials []Material `json:"materials"`
}

type slsa02 struct {
	Builder struct {
		ID string `json:"id"`
	} `json:"builder"`
	BuildType string `json:"buildType"`
	Metadata  struct {
		Started  string `json:"buildStartedOn"`
		Finished string `json:"buildFinishedOn"`
	} `json:"metadata"`
	Materials []Material `json:"materials"`
}

type slsa1 struct {
	BuildDefinition struct {
		BuildType            string     `json:"buildType"`
		ResolvedDependencies []Material `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Metadata struct {
			Started  string `json:"startedOn"`
			Finished string `json:"finishedOn"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

func (p *Provenance) readPredicate(raw json.RawMessage) error {
	var mats []Material
	switch p.PredicateType {
	case SLSAv01:
		var s slsa01
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		p.BuilderID, p.BuildType, p.StartedOn, p.FinishedOn = s.Builder.ID, s.Recipe.Type, s.Metadata.Started, s.Metadata.Finished
		mats = s.Materials
	case SLSAv02:
		var s slsa02
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		p.BuilderID, p.BuildType, p.StartedOn, p.FinishedOn = s.Builder.ID, s.BuildType, s.Metadata.Started, s.Metadata.Finished
		mats = s.Materials
	case SLSAv1:
		var s slsa1
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		p.BuilderID, p.BuildType = s.RunDetails.Builder.ID, s.BuildDefinition.BuildType
		p.StartedOn, p.FinishedOn = s.RunDetails.Metadata.Started, s.RunDetails.Metadata.Finished
		mats = s.BuildDefinition.ResolvedDependencies
	default:
		return nil
	}
	sort.SliceStable(mats, func(i, j int) bool {
		if mats[i].URI != mats[j].URI {
			return mats[i].URI < mats[j].URI
		}
		return mats[i].Name < mats[j].Name
	})
	if len(mats) > maxMaterials {
		p.MoreMaterials = len(mats) - maxMaterials
		mats = mats[:maxMaterials]
	}
	p.Materials = mats
	return nil
}

// SubjectDigest returns the subject's digest in the strongest algorithm
// netvet checks, or "" when it has none of them.
func (s Subject) SubjectDigest() (alg, hex string) {
	for _, a := range []string{SHA512, SHA384, SHA256} {
		if v := s.Digest[a]; v != "" {
			return a, v
		}
	}
	return "", ""
}
