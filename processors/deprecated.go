package processors

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/processors/kafka"
)

// Partitioner is kafka.Partitioner.
//
// Deprecated: use kafka.Partitioner; this forwarder goes once no caller
// is left.
func Partitioner() kgo.Partitioner { return kafka.Partitioner() }
