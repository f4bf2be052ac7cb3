package state_test

import (
	"fmt"
	"log"
	"os"

	"github.com/b2dc4357/sourced/state"
)

// A processor passes b.Build to goka (goka.WithStorageBuilder(b.Build)).
// Here the store is driven by hand, closed cleanly, and then inspected
// offline.
func ExampleBuilder() {
	dir, err := os.MkdirTemp("", "state-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	b, err := state.NewBuilder(state.Config{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	st, err := b.Build("invoice-table", 0)
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Open(); err != nil {
		log.Fatal(err)
	}
	if err := st.Set("inv-1", []byte(`{"version":1}`)); err != nil {
		log.Fatal(err)
	}
	if err := st.SetOffset(0); err != nil {
		log.Fatal(err)
	}
	if err := st.Close(); err != nil {
		log.Fatal(err)
	}

	infos, err := state.List(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range infos {
		fmt.Printf("%s/%d clean=%v offset=%d keys=%d\n", in.Topic, in.Partition, in.Clean, in.Offset, in.Keys)
		v, err := state.Get(in.Path, "inv-1")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(v))
	}
	// Output:
	// invoice-table/0 clean=true offset=0 keys=1
	// {"version":1}
}
