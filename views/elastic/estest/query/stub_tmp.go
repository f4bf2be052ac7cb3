package query

import "net/url"

type searchRequest struct{}

func parseSearch(body []byte, params url.Values, opts Options) (*searchRequest, error) {
	return nil, parsingErr("estest/query: not implemented yet")
}
func (r *searchRequest) run(targets []Target, opts Options) ([]byte, error) { return nil, nil }
func parseCount(body []byte, params url.Values, opts Options) (Query, error) {
	return nil, parsingErr("estest/query: not implemented yet")
}
func countMatches(q Query, targets []Target, opts Options) (int64, error) { return 0, nil }

// Query is a parsed query.
type Query interface{}
