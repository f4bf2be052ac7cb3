// Package stack runs the real servers sourced is tested against: Apache
// Kafka (KRaft, broker and controller in one JVM) and a single-node
// Elasticsearch, both fetched from Maven Central with mvn into a cache
// that later runs reuse. The integ-test distribution of Elasticsearch
// lacks analysis-common, whose filters the .security index needs for API
// keys and native users; Fetch builds them as the small sourced-analysis
// plugin (esplugin/) and installs it into the distribution.
//
// The realstack command (scripts/realstack) starts a shared pair for a
// whole test run; tests that crash or reconfigure a server (a broker
// SIGKILLed and restarted, a SASL_SSL listener, a secured node) start
// their own with NewKafka and NewElasticsearch from the same cache.
package stack
