// Package viewstest is the contract test suite of views.Store: every store
// (views/bleve, views/elastic) runs Run against itself, so views behave the
// same on each. The suite uses only the views.Store interface and
// Elasticsearch's documented behaviour; it creates its indices and aliases
// under a random prefix per test, so it can share a store (or a cluster)
// with other users.
package viewstest
