package kafka

import (
	"hash/fnv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Partitioner returns the franz-go partitioner that places a key on the
// partition goka expects: goka's producers hash keys with FNV-1a through
// sarama's hash partitioner. Clients that write commands with franz-go must
// use it, or commands land on partitions whose processor does not own their
// aggregate's snapshot.
func Partitioner() kgo.Partitioner {
	return kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(fnv32a))
}

// PartitionOf returns the partition of key among n partitions, as
// Partitioner places it. n must be positive.
func PartitionOf(key string, n int32) int32 {
	return int32(kgo.SaramaCompatHasher(fnv32a)([]byte(key), int(n)))
}

func fnv32a(b []byte) uint32 {
	h := fnv.New32a()
	_, _ = h.Write(b)
	return h.Sum32()
}
