package state

import (
	"strings"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb/opt"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config { return Config{Dir: "/data"} }
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // "" for valid
	}{
		{"the zero value with a Dir is valid", func(*Config) {}, ""},
		{"no Dir", func(c *Config) { c.Dir = "" }, "Dir is required"},
		{"a negative block cache", func(c *Config) { c.BlockCacheCapacity = -1 }, "BlockCacheCapacity"},
		{"a negative write buffer", func(c *Config) { c.WriteBuffer = -1 }, "WriteBuffer"},
		{"a negative compaction table size", func(c *Config) { c.CompactionTableSize = -1 }, "CompactionTableSize"},
		{"an unknown compression", func(c *Config) { c.Compression = "zstd" }, `Compression "zstd"`},
		{"a negative flush interval", func(c *Config) { c.FlushInterval = -time.Second }, "FlushInterval"},
		{"negative flush bytes", func(c *Config) { c.FlushBytes = -1 }, "FlushBytes"},
		{"a negative ack wait", func(c *Config) { c.AckWait = -time.Second }, "AckWait"},
		{"no compression", func(c *Config) { c.Compression = CompressionNone }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(&cfg)
			_, err := NewBuilder(cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("NewBuilder: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("NewBuilder error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigValidateJoinsEveryProblem(t *testing.T) {
	err := (&Config{WriteBuffer: -1, FlushBytes: -1}).Validate()
	for _, want := range []string{"Dir", "WriteBuffer", "FlushBytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to report %s", err, want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	b, err := NewBuilder(Config{Dir: "/data"})
	must(t, err)
	c := b.cfg
	if c.BlockCacheCapacity != 8<<20 || c.WriteBuffer != 4<<20 || c.Compression != CompressionSnappy ||
		c.FlushInterval != time.Second || c.FlushBytes != 4<<20 || c.AckWait != 10*time.Second || c.Logger == nil {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if b.opts.Compression != opt.SnappyCompression || b.opts.BlockCacheCapacity != 8<<20 {
		t.Fatalf("LevelDB options %+v do not follow the config", b.opts)
	}
}
