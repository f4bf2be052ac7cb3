package kfake

// This file is sourced's patch to kfake (see ../README.md): bounded
// residency of the per-segment batch indexes.
//
// Upstream kfake keeps a batchMeta (72 bytes) for every batch of every
// segment in memory for as long as the batch exists, so a log kept for
// ever (retention.ms -1) grows the broker's heap with its history. With
// ResidentSealedIndexes(n), a partition keeps the index of its active
// segment and of at most n recently used sealed segments; the index of
// any other sealed segment is dropped (index == nil while count > 0) and
// read back from the segment's .dat and .idx files by segIndex when a
// request needs it. What the partition needs without reading batches
// (batch counts, the segment's timestamp bounds, the running max
// timestamp before it) stays in segmentInfo. Like every other use of the
// index, all of this runs on the cluster's run goroutine, or on a
// partition's own loader before the cluster starts.

import (
	"encoding/binary"
	"path/filepath"
)

// recordBatchMetaHeaderSize is the size of a RecordBatch header up to and
// including NumRecords, the fields a batchMeta takes from the batch.
const recordBatchMetaHeaderSize = 61

// segIndex returns segment si's batch index, reading it back from the
// segment's files if it was evicted. Callers keep the returned slice,
// not a pointer into pd.segments: reading one segment back may evict
// another.
func (pd *partData) segIndex(si int) []batchMeta {
	seg := &pd.segments[si]
	pd.indexUses++
	seg.lastUse = pd.indexUses
	if seg.index == nil && seg.count > 0 {
		pd.c.reloadIndex(pd, si)
		pd.c.evictIndexes(pd)
	}
	return seg.index
}

// scannedIndexes holds, by segment base offset, the indexes a retention
// pass read back without keeping them, so that the trim that follows
// does not read them again.
type scannedIndexes map[int64][]batchMeta

// scanIndex returns segment si's index for a pass over the log that does
// not serve a client (time-based retention and its trim). An evicted
// index is read back for the pass but not kept (scanned, when not nil,
// remembers it for the rest of the pass): resident reports whether the
// segment still holds it. Retention trims the oldest segment of every
// expiring partition once a minute; keeping what it read made those
// segments the most recently used, so they displaced the index of the
// segment sealed last, which consumers near the head read, and each
// partition held a whole sealed segment's index for retention alone.
// The index is nil, with resident false, if it could not be read back.
func (pd *partData) scanIndex(si int, scanned scannedIndexes) (idx []batchMeta, resident bool) {
	seg := &pd.segments[si]
	if seg.index != nil || seg.count == 0 {
		return seg.index, true
	}
	if idx, ok := scanned[seg.base]; ok {
		return idx, false
	}
	pd.c.reloadIndex(pd, si)
	idx = seg.index
	if si < len(pd.segments)-1 {
		seg.index = nil
	}
	if scanned != nil && idx != nil && seg.index == nil {
		scanned[seg.base] = idx
	}
	return idx, seg.index != nil
}

// startEpoch returns the leader epoch of the batch at the log start
// offset without reading an evicted index, when the first segment that
// holds batches was written in one epoch (its segmentInfo keeps the
// range); ok is false otherwise, and when the log start is at the end.
// Clients list the earliest offsets of every partition all the time
// (lag, a reset to the start), and answering that from the oldest
// segment's index read that segment back and made it resident.
func (pd *partData) startEpoch() (epoch int32, ok bool) {
	if !pd.hasBatches() {
		return 0, false
	}
	for si := range pd.segments {
		seg := &pd.segments[si]
		if seg.count == 0 {
			continue
		}
		// A segment whose every batch is below the log start (the log
		// start at the end, or a segment kept by a trim that could not
		// read its index back) does not hold the batch asked for.
		if seg.nextOffset <= pd.logStartOffset {
			return 0, false
		}
		return seg.minEpoch, seg.minEpoch == seg.maxEpoch
	}
	return 0, false
}

// appendMeta adds m to the segment's index, keeping its count, epoch
// range and timestamp bounds.
func (si *segmentInfo) appendMeta(m batchMeta) {
	si.index = append(si.index, m)
	si.count++
	si.nextOffset = max(si.nextOffset, m.firstOffset+int64(m.lastOffsetDelta)+1)
	si.updateEpochRange(m.epoch)
	if si.count == 1 {
		si.idxMaxTimestamp, si.idxMinMaxTimestamp = m.maxTimestamp, m.maxTimestamp
		return
	}
	si.idxMaxTimestamp = max(si.idxMaxTimestamp, m.maxTimestamp)
	si.idxMinMaxTimestamp = min(si.idxMinMaxTimestamp, m.maxTimestamp)
}

// setIndex replaces the segment's (resident) index with idx, recounting
// its timestamp bounds.
func (si *segmentInfo) setIndex(idx []batchMeta) {
	si.index = idx
	si.count = len(idx)
	for i := range idx {
		if i == 0 {
			si.idxMaxTimestamp, si.idxMinMaxTimestamp = idx[i].maxTimestamp, idx[i].maxTimestamp
			continue
		}
		si.idxMaxTimestamp = max(si.idxMaxTimestamp, idx[i].maxTimestamp)
		si.idxMinMaxTimestamp = min(si.idxMinMaxTimestamp, idx[i].maxTimestamp)
	}
}

// reloadIndex reads segment si's index back from its files: the batch
// headers of the .dat file, and the epoch and transaction flag of each
// batch from the parallel .idx file. Batches trimmed from the front of
// the segment before the index was evicted stay out, and each batch's
// maxEarlierTimestamp continues the running max from the segments
// before (segmentInfo.runBefore).
func (c *Cluster) reloadIndex(pd *partData, si int) {
	seg := &pd.segments[si]
	pdir := partDir(c.storageDir, pd.t, pd.p)
	raw, err := c.fs.ReadFile(filepath.Join(pdir, segmentFileName(seg.base)))
	if err != nil {
		c.cfg.logger.Logf(LogLevelError, "reload index %s-%d segment %d: %v", pd.t, pd.p, seg.base, err)
		return
	}
	idxRaw, _ := c.fs.ReadFile(filepath.Join(pdir, indexFileName(seg.base)))

	var index []batchMeta
	pos := 0
	for n := 0; pos+recordBatchMetaHeaderSize <= len(raw); n++ {
		h := raw[pos:]
		length := int(int32(binary.BigEndian.Uint32(h[8:12])))
		size := 12 + length
		if length < recordBatchMetaHeaderSize-12 || pos+size > len(raw) {
			break
		}
		m := batchMeta{
			firstOffset:     int64(binary.BigEndian.Uint64(h[0:8])),
			segPos:          int64(pos),
			epoch:           int32(binary.BigEndian.Uint32(h[12:16])),
			lastOffsetDelta: int32(binary.BigEndian.Uint32(h[23:27])),
			firstTimestamp:  int64(binary.BigEndian.Uint64(h[27:35])),
			maxTimestamp:    int64(binary.BigEndian.Uint64(h[35:43])),
			producerID:      int64(binary.BigEndian.Uint64(h[43:51])),
			numRecords:      int32(binary.BigEndian.Uint32(h[57:61])),
			nbytes:          int32(size),
		}
		if off := n * indexEntrySize; off+indexEntrySize <= len(idxRaw) {
			if epoch, _, inTx, ok := decodeIndexEntry(idxRaw[off : off+indexEntrySize]); ok {
				m.epoch, m.inTx = epoch, inTx
			}
		}
		index = append(index, m)
		pos += size
	}
	// Trimming only ever removes batches from the front of a segment,
	// so the evicted index was the file's last count batches.
	if len(index) < seg.count {
		c.cfg.logger.Logf(LogLevelError, "reload index %s-%d segment %d: read %d batches back, expected %d",
			pd.t, pd.p, seg.base, len(index), seg.count)
	} else {
		index = index[len(index)-seg.count:]
	}
	running, first := seg.runBefore, !seg.hasRunBefore
	for i := range index {
		if m := &index[i]; first || m.maxTimestamp > running {
			running = m.maxTimestamp
		}
		first = false
		index[i].maxEarlierTimestamp = running
	}
	seg.setIndex(index)
}

// evictIndexes drops the index of the least recently used sealed
// segments of pd until at most ResidentSealedIndexes of them keep one.
// The active (last) segment always keeps its index.
func (c *Cluster) evictIndexes(pd *partData) {
	limit := c.cfg.residentSealedIndexes
	if limit <= 0 || c.cfg.dataDir == "" {
		return
	}
	for {
		resident, oldest := 0, -1
		for si := 0; si < len(pd.segments)-1; si++ {
			seg := &pd.segments[si]
			if seg.index == nil || seg.count == 0 {
				continue
			}
			resident++
			if oldest < 0 || seg.lastUse < pd.segments[oldest].lastUse {
				oldest = si
			}
		}
		if resident <= limit {
			return
		}
		seg := &pd.segments[oldest]
		seg.index = nil
		if seg.readFile != nil {
			seg.readFile.Close()
			seg.readFile = nil
		}
	}
}

// sealed marks the segment before the new active one as used now, so
// that it is the last sealed segment to lose its index, and evicts.
func (c *Cluster) sealed(pd *partData) {
	if n := len(pd.segments); n > 1 {
		pd.indexUses++
		pd.segments[n-2].lastUse = pd.indexUses
	}
	c.evictIndexes(pd)
}
