package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"v2 limited", map[string]string{"memory.max": "1073741824\n"}, 1 << 30},
		{"v2 unlimited", map[string]string{"memory.max": "max\n"}, 0},
		{"v1 limited", map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, 512 << 20},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"no cgroup files", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := cgroupMemoryLimit(root)
			if err != nil || got != tc.want {
				t.Fatalf("cgroupMemoryLimit = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "memory.max"), []byte("lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cgroupMemoryLimit(root); err == nil {
		t.Fatal("an unreadable memory.max gave no error")
	}
}

// TestApplyMemoryLimit checks that a container's limit becomes Go's soft
// limit (90% of it), and that GOMEMLIMIT, when set, is left to Go.
func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "memory.max"), []byte("1000000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)

	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	if got := applyMemoryLimit(root, logger); got != 900000000 || debug.SetMemoryLimit(-1) != 900000000 {
		t.Fatalf("soft limit %d (Go's: %d), want 900000000", got, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(before)

	t.Setenv("GOMEMLIMIT", "2GiB")
	if got := applyMemoryLimit(root, logger); got != 0 || debug.SetMemoryLimit(-1) != before {
		t.Fatalf("with GOMEMLIMIT set: soft limit %d (Go's: %d), want it left alone", got, debug.SetMemoryLimit(-1))
	}
}
