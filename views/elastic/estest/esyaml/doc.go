// Package esyaml runs Elasticsearch's YAML REST tests (the "rest-api-spec"
// format shared by Elasticsearch and OpenSearch) against any HTTP endpoint
// that speaks the Elasticsearch REST API: the in-memory test server of
// package estest, or a real cluster.
//
// The pieces follow the upstream runners:
//
//   - LoadSpecs reads the rest-api-spec JSON files (api/*.json) that map an
//     API name such as "indices.put_alias" onto URL paths, methods and
//     parameters.
//   - LoadFile parses one YAML test file into its setup, teardown and test
//     sections, keeping YAML scalar types (1 is a number, "1" a string).
//   - A Runner executes sections one after another against a base URL: it
//     builds each request from the spec, resolves stashed values, checks
//     catch clauses, evaluates the assertions (match, is_true, length, gt,
//     set, ...) and cleans up the indices a section created.
//   - Skip decisions (version ranges, runner features, requires, and a
//     project skip list) are made by Suite.SkipReason before anything runs.
//
// The package has no global state. A Runner is not safe for concurrent use:
// sections share cluster state and must run sequentially.
package esyaml
