package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// snapshotDir returns the names, sizes and modification times of the files
// in dir, to show that an inspection changed nothing.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files[rel] = fmt.Sprintf("%d bytes, modified %s", fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		}
		return nil
	})
	must(t, err)
	return files
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	b, err := NewBuilder(Config{
		Dir:           dir,
		FlushInterval: time.Hour,
		Changelog: func(topic string, _ int32) (Changelog, error) {
			return Changelog{ID: "id-" + topic, End: 100}, nil
		},
	})
	must(t, err)

	// A clean store whose topic has dots, a dirty one with unflushed writes,
	// and entries that are not stores.
	clean, err := b.Build("a.b-table", 3)
	must(t, err)
	for _, k := range []string{"inv-2", "inv-1", "inv-3"} {
		must(t, clean.Set(k, []byte("v-"+k)))
	}
	must(t, clean.SetOffset(42))
	must(t, clean.Close())

	dirty, err := b.Build("invoice-table", 0)
	must(t, err)
	must(t, dirty.Set("inv-9", []byte("flushed")))
	must(t, dirty.SetOffset(7))
	must(t, dirty.MarkRecovered())
	must(t, dirty.Set("inv-10", []byte("lost")))
	must(t, dirty.(*store).crash())

	must(t, os.Mkdir(filepath.Join(dir, "empty-table.1"), 0o755)) // crashed before LevelDB started
	must(t, os.Mkdir(filepath.Join(dir, "notastore"), 0o755))
	must(t, os.Mkdir(filepath.Join(dir, "table.x"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "file.1"), nil, 0o644))

	before := snapshotDir(t, dir)

	infos, err := List(dir)
	must(t, err)
	want := []StoreInfo{
		{Topic: "a.b-table", Partition: 3, Path: filepath.Join(dir, "a.b-table.3"), Clean: true, Changelog: "id-a.b-table", Offset: 42, Keys: 3},
		{Topic: "empty-table", Partition: 1, Path: filepath.Join(dir, "empty-table.1"), Offset: -1},
		{Topic: "invoice-table", Partition: 0, Path: filepath.Join(dir, "invoice-table.0"), Changelog: "id-invoice-table", Offset: 7, Keys: 1},
	}
	if diff := cmp.Diff(want, infos); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	type kv struct{ Key, Value string }
	var got []kv
	must(t, Read(want[0].Path, func(key string, value []byte) error {
		got = append(got, kv{key, string(value)})
		return nil
	}))
	wantKVs := []kv{{"inv-1", "v-inv-1"}, {"inv-2", "v-inv-2"}, {"inv-3", "v-inv-3"}}
	if diff := cmp.Diff(wantKVs, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}

	stop := errors.New("stop")
	if err := Read(want[0].Path, func(string, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Read returned %v, want the callback's error", err)
	}

	v, err := Get(want[0].Path, "inv-2")
	if err != nil || string(v) != "v-inv-2" {
		t.Errorf("Get(inv-2) = %q, %v; want v-inv-2", v, err)
	}
	if _, err := Get(want[0].Path, "inv-10"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if _, err := Get(filepath.Join(dir, "nothing.0"), "inv-1"); err == nil {
		t.Error("Get on a missing store succeeded")
	}

	if diff := cmp.Diff(before, snapshotDir(t, dir)); diff != "" {
		t.Errorf("inspection changed the data dir (-before +after):\n%s", diff)
	}

	// The markers still decide: the clean store is reused, the dirty one wiped.
	var wipes []string
	b2, err := NewBuilder(Config{Dir: dir, Hooks: Hooks{OnWipe: func(topic string, _ int32, reason string) {
		wipes = append(wipes, topic+": "+reason)
	}}})
	must(t, err)
	for _, topic := range []string{"a.b-table", "invoice-table"} {
		p := int32(3)
		if topic == "invoice-table" {
			p = 0
		}
		st, err := b2.Build(topic, p)
		must(t, err)
		must(t, st.Close())
	}
	if diff := cmp.Diff([]string{"invoice-table: dirty"}, wipes); diff != "" {
		t.Errorf("wipes after inspection (-want +got):\n%s", diff)
	}
}

func TestListFailsOnAStoreInUse(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, Config{Dir: dir}, "invoice-table", 0)
	t.Cleanup(func() { _ = st.Close() })
	must(t, st.MarkRecovered())
	if _, err := List(dir); err == nil {
		t.Fatal("List of a store held open succeeded")
	}
}

func TestParseStoreName(t *testing.T) {
	tests := []struct {
		name      string
		topic     string
		partition int32
		ok        bool
	}{
		{"invoice-table.0", "invoice-table", 0, true},
		{"a.b-table.12", "a.b-table", 12, true},
		{"table", "", 0, false},
		{".3", "", 0, false},
		{"table.", "", 0, false},
		{"table.-1", "", 0, false},
		{"table.x", "", 0, false},
		{"table.99999999999", "", 0, false},
	}
	for _, tc := range tests {
		topic, partition, ok := parseStoreName(tc.name)
		if topic != tc.topic || partition != tc.partition || ok != tc.ok {
			t.Errorf("parseStoreName(%q) = %q, %d, %v; want %q, %d, %v",
				tc.name, topic, partition, ok, tc.topic, tc.partition, tc.ok)
		}
	}
}
