package estest

import (
	"encoding/binary"
	"math/bits"
)

// routingNumShards is index.number_of_routing_shards, defaulting as ES 8
// does: the shard count doubled up to 1024 (at least once).
func (ix *index) routingNumShards() int {
	n := ix.shards()
	if v := ix.intSetting("index.number_of_routing_shards", 0); v >= n && v%n == 0 {
		return v
	}
	log2 := 32 - bits.LeadingZeros32(uint32(n-1))
	splits := max(1, 10-log2)
	return n << splits
}

// shardOf is the shard a document lives on: ES's
// floorMod(murmur3(routing), routingNumShards) / routingFactor, where
// routing defaults to the id. Placement only matters for which writes a
// shard-level refresh makes visible.
func (ix *index) shardOf(id, routing string) int {
	if ix.shards() == 1 {
		return 0
	}
	if routing == "" {
		routing = id
	}
	rn := ix.routingNumShards()
	h := int64(int32(murmur3UTF16(routing)))
	m := h % int64(rn)
	if m < 0 {
		m += int64(rn)
	}
	return int(m) / (rn / ix.shards())
}

// murmur3UTF16 is ES's Murmur3HashFunction.hash(String): murmur3 x86 32
// (seed 0) over the string's UTF-16LE code units.
func murmur3UTF16(s string) uint32 {
	var b []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			b = binary.LittleEndian.AppendUint16(b, uint16(0xD800+(r>>10)))
			b = binary.LittleEndian.AppendUint16(b, uint16(0xDC00+(r&0x3FF)))
			continue
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return murmur3(b, 0)
}

func murmur3(data []byte, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(data) / 4
	for i := 0; i < n; i++ {
		k := binary.LittleEndian.Uint32(data[i*4:])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	tail := data[n*4:]
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
