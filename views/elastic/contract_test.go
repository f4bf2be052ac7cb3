package elastic_test

import (
	"testing"

	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic/estest"
	"github.com/b2dc4357/sourced/views/viewstest"
)

// TestContract runs the store contract suite against estest, or against
// the shared real Elasticsearch under SOURCED_TEST_ES (the suite names its
// indices with a random prefix and deletes them).
func TestContract(t *testing.T) {
	url, _ := stacktest.ES(t, estest.Options{})
	viewstest.Run(t, func(t *testing.T) views.Store {
		return open(t, fastRetries(url))
	})
}
