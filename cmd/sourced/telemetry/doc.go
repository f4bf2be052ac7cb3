// Package telemetry is the HTTP endpoint every sourced role serves on
// --http: Prometheus metrics on /metrics from one registry passed in,
// liveness on /healthz, readiness on /readyz (200 only while every
// registered check passes), goka's web monitor under /goka/, and whatever
// routes other code mounts with Server.Handle (the gateway's /v1/).
//
// Every request through the Server is counted in
// sourced_http_requests_total{route,method,status} and timed in
// sourced_http_request_duration_seconds{route,method}. The route label is
// the ServeMux pattern that matched (r.Pattern), never the raw path, so
// random paths cannot create new series: a request no pattern matches is
// counted as route "unmatched".
package telemetry
