package elastic_test

import (
	"testing"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic/estest"
	"github.com/b2dc4357/sourced/views/viewstest"
)

func TestContract(t *testing.T) {
	_, ts := server(t, estest.Options{})
	viewstest.Run(t, func(t *testing.T) views.Store {
		return open(t, fastRetries(ts.URL))
	})
}
