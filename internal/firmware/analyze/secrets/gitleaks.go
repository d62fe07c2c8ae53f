package secrets

import (
	"context"
	"strings"
	"sync"

	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"
)

// The default gitleaks configuration is read once per process: reading it
// goes through viper's global instance, which is not safe to do twice at
// the same time. A detector is not documented as safe for concurrent use,
// so each worker takes its own, built from that configuration, from a pool.
var (
	glOnce sync.Once
	glDet  *detect.Detector
	glErr  error
	glPool = sync.Pool{New: func() any { return detect.NewDetector(glDet.Config) }}
)

func detector() (*detect.Detector, error) {
	glOnce.Do(func() {
		glDet, glErr = detect.NewDetectorDefaultConfig()
	})
	if glErr != nil {
		return nil, glErr
	}
	return glPool.Get().(*detect.Detector), nil
}

// gitleaksRulesSkipped are gitleaks rules another netvet analyser covers
// with better evidence: private keys are the keys analyser's.
var gitleaksRulesSkipped = map[string]bool{"private-key": true}

// gitleaksGeneric is the entropy-gated catch-all rule, reported at a
// lower severity than the rules for known token formats.
const gitleaksGeneric = "generic-api-key"

// runGitleaks runs the default gitleaks rules over one file's content.
func runGitleaks(ctx context.Context, fspath string, data []byte) ([]report.Finding, error) {
	d, err := detector()
	if err != nil {
		return nil, err
	}
	defer glPool.Put(d)
	fs := d.DetectContext(ctx, detect.Fragment{Raw: string(data), FilePath: strings.TrimPrefix(fspath, "/")})
	out := fs[:0]
	for _, f := range fs {
		if !gitleaksRulesSkipped[f.RuleID] {
			out = append(out, f)
		}
	}
	return out, nil
}
