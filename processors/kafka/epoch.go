package kafka

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
)

// RecordEpoch returns the owner epoch a table record carries in its
// codecs.HeaderEpoch header, 0 when it has none (DESIGN.md guarantee 7).
func RecordEpoch(r *kgo.Record) uint64 {
	for _, h := range r.Headers {
		if h.Key == codecs.HeaderEpoch {
			return codecs.ParseEpoch(h.Value)
		}
	}
	return 0
}
