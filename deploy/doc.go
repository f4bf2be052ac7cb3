// Package deploy holds no code. It is a module of its own so that the
// schemas its tests check the deployment files against (Kubernetes API
// types, the Prometheus Operator's ServiceMonitor, the Compose
// specification's loader) stay out of sourced's go.mod.
//
// The tests parse deploy/compose/compose.yaml with compose-go (schema
// validation on: unknown fields fail), parse every Kubernetes manifest and
// every `kubectl kustomize` output strictly into the API types, check that
// every image is pinned, and run the real sourced binary (built from
// ../cmd/sourced) to check that every flag and SOURCED_* variable the
// manifests pass exists for the command they run:
//
//	cd deploy && go test ./...
package deploy
