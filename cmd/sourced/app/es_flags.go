package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
)

// esFlags are the Elasticsearch connection flags. Secrets can come from
// SOURCED_ES_PASSWORD / SOURCED_ES_API_KEY or files instead of the command
// line.
type esFlags struct {
	url          *string
	username     *string
	password     *string
	passwordFile *string
	apiKey       *string
	apiKeyFile   *string
	caFile       *string
	compress     *bool
}

func addESFlags(fs interface {
	String(name, value, usage string) *string
	Bool(name string, value bool, usage string) *bool
}) esFlags {
	return esFlags{
		url:          fs.String("es-url", "", "Elasticsearch URLs, comma-separated (empty: the embedded bleve store)"),
		username:     fs.String("es-username", "", "Elasticsearch basic-auth user"),
		password:     fs.String("es-password", "", "Elasticsearch password (prefer SOURCED_ES_PASSWORD or --es-password-file)"),
		passwordFile: fs.String("es-password-file", "", "file holding the Elasticsearch password"),
		apiKey:       fs.String("es-api-key", "", "Elasticsearch API key (prefer SOURCED_ES_API_KEY or --es-api-key-file)"),
		apiKeyFile:   fs.String("es-api-key-file", "", "file holding the Elasticsearch API key"),
		caFile:       fs.String("es-ca", "", "PEM CA file for Elasticsearch over HTTPS"),
		compress:     fs.Bool("es-compress", true, "gzip bulk request bodies"),
	}
}

// open connects to Elasticsearch and checks it answers as Elasticsearch.
// Index and alias names get prefix (see indexPrefix).
func (f esFlags) open(ctx context.Context, logger *slog.Logger, prefix string) (views.Store, string, error) {
	password, err := readSecret(*f.password, *f.passwordFile)
	if err != nil {
		return nil, "", err
	}
	apiKey, err := readSecret(*f.apiKey, *f.apiKeyFile)
	if err != nil {
		return nil, "", err
	}
	s, err := elastic.New(elastic.Config{
		URLs: splitList(*f.url), Username: *f.username, Password: password, APIKey: apiKey,
		CAFile: *f.caFile, CompressRequestBody: *f.compress, Logger: logger,
	})
	if err != nil {
		return nil, "", usageError{fmt.Errorf("elasticsearch: %w", err)}
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	version, err := s.Ping(pctx)
	if err != nil {
		s.Close()
		return nil, "", fmt.Errorf("elasticsearch %s: %w", *f.url, err)
	}
	where := fmt.Sprintf("elasticsearch %s (%s)", *f.url, version)
	if prefix != "" {
		where += ", indices prefixed " + indexPrefix(prefix)
	}
	return views.WithIndexPrefix(s, indexPrefix(prefix)), where, nil
}
