package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/b2dc4357/sourced/views"
)

// Store is a views.Store on an Elasticsearch 8 cluster. Every method is
// safe for concurrent use.
type Store struct {
	es  *elasticsearch.Client
	log *slog.Logger
	// owned is the transport New built, whose idle connections Close
	// releases; nil when Config.Transport was used as is.
	owned *http.Transport
	// targets remembers which names Bulk writes to are aliases.
	targets targets
}

var _ views.Store = (*Store)(nil)

// New returns a Store for the cluster. It does no I/O: call Ping at
// startup to check that the cluster is reachable and is Elasticsearch.
func New(cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := cfg.httpTransport()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	minB, maxB := cfg.RetryBackoffMin, cfg.RetryBackoffMax
	ec := elasticsearch.Config{
		Addresses:           cfg.URLs,
		Username:            cfg.Username,
		Password:            cfg.Password,
		APIKey:              cfg.APIKey,
		CompressRequestBody: cfg.CompressRequestBody,
		PoolCompressor:      cfg.CompressRequestBody,
		RetryOnStatus:       []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		MaxRetries:          max(cfg.MaxRetries, 0),
		DisableRetry:        cfg.MaxRetries < 0,
		RetryBackoff: func(attempt int) time.Duration {
			d := backoff(minB, maxB, attempt)
			log.Debug("elastic: retrying request", slog.Int("attempt", attempt), slog.Duration("backoff", d))
			return d
		},
		AutoDrainBody: true,
		Transport:     &roundTripper{next: base, timeout: max(cfg.RequestTimeout, 0), log: log},
	}
	es, err := elasticsearch.NewClient(ec)
	if err != nil {
		return nil, fmt.Errorf("elastic: new client: %w", err)
	}
	s := &Store{es: es, log: log}
	if t, ok := base.(*http.Transport); ok && base != cfg.Transport {
		s.owned = t
	}
	return s, nil
}

// Close releases the client's connections. Calls after Close fail.
func (s *Store) Close() error {
	err := s.es.Close(context.Background())
	if s.owned != nil {
		s.owned.CloseIdleConnections()
	}
	if errors.Is(err, elasticsearch.ErrAlreadyClosed) {
		return nil
	}
	return err
}

// Ping asks the cluster for its version (GET /). It fails when the
// server cannot be reached, rejects the credentials, does not send the
// X-Elastic-Product header (it is not Elasticsearch, or a proxy strips the
// header) or is not Elasticsearch 8.
func (s *Store) Ping(ctx context.Context) (version string, err error) {
	const op = "ping"
	res, err := esapi.InfoRequest{}.Do(ctx, s.es)
	if err != nil {
		return "", transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return "", statusError(op, res, false)
	}
	if p := res.Header.Get("X-Elastic-Product"); p != "Elasticsearch" {
		return "", fmt.Errorf("elastic: %s: the server is not Elasticsearch: X-Elastic-Product header is %q, want \"Elasticsearch\"", op, p)
	}
	var info struct {
		Version struct {
			Number       string `json:"number"`
			Distribution string `json:"distribution"`
		} `json:"version"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return "", fmt.Errorf("elastic: %s: decode: %w", op, err)
	}
	v := info.Version.Number
	if info.Version.Distribution != "" || !strings.HasPrefix(v, "8.") {
		return v, fmt.Errorf("elastic: %s: unsupported server version %q (distribution %q): want Elasticsearch 8", op, v, info.Version.Distribution)
	}
	return v, nil
}

// CreateIndex creates a concrete index with the mapping's settings and
// strict mapping. It also sets index.query.default_field to the mapping's
// text fields, so that SearchRequest.Query matches them only. A name
// taken by an index or alias gives an error wrapping views.ErrIndexExists.
func (s *Store) CreateIndex(ctx context.Context, name string, m views.Mapping) error {
	op := "create index " + strconv.Quote(name)
	if err := checkName(name); err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	body, err := indexBody(m)
	if err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	res, err := esapi.IndicesCreateRequest{Index: url.PathEscape(name), Body: strings.NewReader(string(body))}.Do(ctx, s.es)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if !res.IsError() {
		s.targets.store(name, target{checked: time.Now()})
		return nil
	}
	e := responseError(res)
	// A name taken by an alias gives invalid_index_name_exception
	// ("... an alias with the same name already exists").
	if e.Type == "resource_already_exists_exception" ||
		(e.Type == "invalid_index_name_exception" && strings.Contains(e.Reason, "alias")) {
		return fmt.Errorf("elastic: %s: %w: %w", op, views.ErrIndexExists, e)
	}
	if e.Temporary() {
		return views.Retryable(fmt.Errorf("elastic: %s: %w", op, e))
	}
	return fmt.Errorf("elastic: %s: %w", op, e)
}

// indexBody is the mapping's Elasticsearch body with
// index.query.default_field set to its text fields.
func indexBody(m views.Mapping) ([]byte, error) {
	var body map[string]any
	if err := json.Unmarshal(m.ElasticsearchBody(), &body); err != nil {
		return nil, fmt.Errorf("render mapping: %w", err)
	}
	fields := textFields("", m.Properties, nil)
	if len(fields) == 0 {
		return json.Marshal(body)
	}
	sort.Strings(fields)
	settings, _ := body["settings"].(map[string]any)
	index, _ := settings["index"].(map[string]any)
	if index == nil {
		return nil, errors.New("render mapping: no settings.index")
	}
	index["query"] = map[string]any{"default_field": fields}
	return json.Marshal(body)
}

func textFields(prefix string, props map[string]views.Field, out []string) []string {
	for name, f := range props {
		switch f.Type {
		case views.Text:
			out = append(out, prefix+name)
		case views.Object:
			out = textFields(prefix+name+".", f.Properties, out)
		}
	}
	return out
}

// DeleteIndex deletes a concrete index, which also removes it from its
// aliases. A missing index gives an error wrapping views.ErrNotFound; an
// alias name gives an error.
func (s *Store) DeleteIndex(ctx context.Context, name string) error {
	op := "delete index " + strconv.Quote(name)
	if err := checkName(name); err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	s.targets.forget(name)
	res, err := esapi.IndicesDeleteRequest{Index: []string{url.PathEscape(name)}}.Do(ctx, s.es)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return statusError(op, res, true)
	}
	s.targets.forget(name) // a Bulk may have resolved it meanwhile
	return nil
}

// Indices lists the open concrete indices whose names start with prefix,
// sorted, from GET /{prefix}*/_alias. Hidden indices are left out, and so
// are names starting with "." unless prefix does.
func (s *Store) Indices(ctx context.Context, prefix string) ([]string, error) {
	op := "list indices " + strconv.Quote(prefix)
	if prefix != "" {
		if err := checkName(prefix); err != nil {
			// No index name can start with it.
			return nil, nil //nolint:nilerr // a prefix no index can have lists nothing
		}
	}
	res, err := esapi.IndicesGetAliasRequest{Index: []string{url.PathEscape(prefix) + "*"}, ExpandWildcards: "open"}.Do(ctx, s.es)
	if err != nil {
		return nil, transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return nil, statusError(op, res, false)
	}
	var byIndex map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&byIndex); err != nil {
		return nil, fmt.Errorf("elastic: %s: decode: %w", op, err)
	}
	out := make([]string, 0, len(byIndex))
	for name := range byIndex {
		if strings.HasPrefix(name, prefix) && (!strings.HasPrefix(name, ".") || strings.HasPrefix(prefix, ".")) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Refresh makes every write to the index or alias so far visible to
// Search. A missing index gives an error wrapping views.ErrNotFound.
func (s *Store) Refresh(ctx context.Context, index string) error {
	op := "refresh " + strconv.Quote(index)
	if err := checkName(index); err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	res, err := esapi.IndicesRefreshRequest{Index: []string{url.PathEscape(index)}}.Do(ctx, s.es)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return statusError(op, res, true)
	}
	return nil
}

// Get reads a document by id from an index, or from an alias with one
// index, seeing writes before a refresh. A missing document or index
// gives an error wrapping views.ErrNotFound. Source is a copy the caller
// owns.
func (s *Store) Get(ctx context.Context, index, id string) (views.Document, error) {
	op := "get " + strconv.Quote(index) + "/" + strconv.Quote(id)
	if err := checkName(index); err != nil {
		return views.Document{}, fmt.Errorf("elastic: %s: %w", op, err)
	}
	if id == "" {
		return views.Document{}, fmt.Errorf("elastic: %s: empty id", op)
	}
	res, err := esapi.GetRequest{Index: url.PathEscape(index), DocumentID: url.PathEscape(id)}.Do(ctx, s.es)
	if err != nil {
		return views.Document{}, transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		// Either {"found":false} or an index_not_found_exception envelope.
		e := responseError(res)
		if e.Type == "" {
			e.Type, e.Reason = "not_found", "document not found"
		}
		return views.Document{}, fmt.Errorf("elastic: %s: %w: %w", op, views.ErrNotFound, e)
	}
	if res.IsError() {
		return views.Document{}, statusError(op, res, false)
	}
	var doc struct {
		Index   string          `json:"_index"`
		ID      string          `json:"_id"`
		Version uint64          `json:"_version"`
		Found   bool            `json:"found"`
		Source  json.RawMessage `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return views.Document{}, fmt.Errorf("elastic: %s: decode: %w", op, err)
	}
	if !doc.Found {
		return views.Document{}, fmt.Errorf("elastic: %s: %w", op, views.ErrNotFound)
	}
	return views.Document{Index: doc.Index, ID: doc.ID, Version: doc.Version, Source: doc.Source}, nil
}

// checkName refuses names that are empty or that Elasticsearch would read
// as several indices or as another API: wildcards, lists, path
// separators, and leading '_', '-' or '+'.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty index name")
	}
	if strings.ContainsAny(name, "\\/*?\"<>| ,#:") {
		return fmt.Errorf("index name %q has a character Elasticsearch does not allow", name)
	}
	if c := name[0]; c == '_' || c == '-' || c == '+' {
		return fmt.Errorf("index name %q must not start with '_', '-' or '+'", name)
	}
	return nil
}
