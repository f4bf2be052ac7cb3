// Package broker is the embedded Kafka-protocol broker that `sourced dev`
// and `sourced broker` run, and that tests start (brokertest): franz-go's
// kfake persisting to a data directory, with what sourced adds around it
// for behaviour of kfake that Apache Kafka does not have (a clean-shutdown
// marker that drops stale producer state after a crash, and a group
// janitor that times members out as Kafka does). See Broker.
package broker
