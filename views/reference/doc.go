// Package reference defines the views of the reference aggregates:
// invoice-search (invoice state), invoice-history (invoice events, monthly
// indices) and profile (profile state). They decode the aggregates' state
// and event JSON, which is public API, so they do not import the
// aggregates' packages.
package reference
