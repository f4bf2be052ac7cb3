package app

import (
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitShare is the share of its container's memory limit that a
// sourced process gives Go as its soft memory limit: the garbage
// collector works harder as the heap nears it, instead of letting the
// heap grow to twice the live data and the kernel kill the process. The
// rest is for what Go does not count (mapped bleve segments, the page
// cache charged to the container).
const memoryLimitShare = 0.9

// cgroupMemoryLimit returns the memory limit, in bytes, of the cgroup
// mounted at root (/sys/fs/cgroup inside a container): cgroup v2's
// memory.max, or cgroup v1's memory/memory.limit_in_bytes. It returns 0
// when there is none ("max", v1's page-rounded maximum, or no such file).
func cgroupMemoryLimit(root string) (int64, error) {
	for _, name := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		if n <= 0 || n >= math.MaxInt64/2 { // v1 says "unlimited" with a page-rounded MaxInt64
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
}

// applyMemoryLimit sets Go's soft memory limit to memoryLimitShare of the
// memory limit of the cgroup at root, unless GOMEMLIMIT says otherwise
// (Go applies it itself) or there is no limit. It returns the limit set,
// or 0. The limit it sets is logged at debug level, so that commands
// such as version print nothing but their own output.
func applyMemoryLimit(root string, logger *slog.Logger) int64 {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return 0
	}
	limit, err := cgroupMemoryLimit(root)
	if err != nil {
		logger.Warn("memory limit: cannot read the container's; Go's soft memory limit stays unset", "err", err)
		return 0
	}
	if limit == 0 {
		return 0
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	logger.Debug("memory limit: Go's soft limit set to 90% of the container's (GOMEMLIMIT overrides)", "container_bytes", limit, "soft_limit_bytes", soft)
	return soft
}
