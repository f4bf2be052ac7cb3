package app

import (
	"io"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/profile"
	"github.com/b2dc4357/sourced/views/reference"
)

// referenceCatalog is the catalog cmd/sourced runs, which the binary the
// tests build (TestMain) also runs.
func referenceCatalog() Catalog {
	return Catalog{Aggregates: []processors.Definition{invoice.New(), profile.New()}, Views: reference.All()}
}

// run runs the command line of the reference catalog in this process.
func run(args []string, stdout, stderr io.Writer) int {
	return referenceCatalog().run(args, stdout, stderr)
}
