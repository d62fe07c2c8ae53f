// Package all is the one list of netvet's firmware analysers.
package all

import (
	"log/slog"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/analyze/accounts"
	"github.com/netvet/netvet/internal/firmware/analyze/backdoor"
	"github.com/netvet/netvet/internal/firmware/analyze/elfcheck"
	"github.com/netvet/netvet/internal/firmware/analyze/endpoints"
	"github.com/netvet/netvet/internal/firmware/analyze/fsperm"
	"github.com/netvet/netvet/internal/firmware/analyze/keys"
	"github.com/netvet/netvet/internal/firmware/analyze/secrets"
	"github.com/netvet/netvet/internal/firmware/analyze/services"
)

// Config is what the analysers share.
type Config struct {
	// Now is the time certificates are judged at; zero means the time of
	// the scan. A scan passes its as-of date so that reports reproduce.
	Now    time.Time
	Logger *slog.Logger
}

// Registry returns every analyser, configured.
func Registry(c Config) *firmware.AnalyzerRegistry {
	return firmware.NewAnalyzerRegistry(
		accounts.New(),
		backdoor.NewWithOptions(backdoor.Options{Logger: c.Logger}),
		elfcheck.New(),
		endpoints.New(),
		fsperm.NewWithOptions(fsperm.Options{Logger: c.Logger}),
		keys.NewWithOptions(keys.Options{Now: c.Now, Logger: c.Logger}),
		secrets.NewWithOptions(secrets.Options{Logger: c.Logger}),
		services.NewWithOptions(services.Options{Logger: c.Logger}),
	)
}
