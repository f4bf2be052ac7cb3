package app

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/b2dc4357/sourced/state"
)

// runStateDump prints every snapshot of a stopped replica's data dir as JSON
// lines, without changing anything on disk.
func runStateDump(args []string, stdout io.Writer) error {
	fs := newFlagSet("state dump")
	dataDir := fs.String("data-dir", ".sourced", "data directory of a stopped replica")
	topic := fs.String("topic", "", "only stores of this table topic (e.g. invoice-table)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	infos, err := state.List(filepath.Join(*dataDir, "state"))
	if err != nil {
		return fmt.Errorf("list stores (is the replica still running?): %w", err)
	}
	enc := json.NewEncoder(stdout)
	for _, in := range infos {
		if *topic != "" && in.Topic != *topic {
			continue
		}
		err := state.Read(in.Path, func(key string, value []byte) error {
			line := struct {
				Topic     string          `json:"topic"`
				Partition int32           `json:"partition"`
				Clean     bool            `json:"clean"`
				Key       string          `json:"key"`
				Value     json.RawMessage `json:"value,omitempty"`
				Raw       string          `json:"raw,omitempty"`
			}{Topic: in.Topic, Partition: in.Partition, Clean: in.Clean, Key: key}
			if json.Valid(value) {
				line.Value = value
			} else {
				line.Raw = string(value)
			}
			return enc.Encode(line)
		})
		if err != nil {
			return fmt.Errorf("read store %s: %w", in.Path, err)
		}
	}
	return nil
}
