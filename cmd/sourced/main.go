// Command sourced runs the reference aggregates, invoice and profile, and
// their views with the whole sourced command line (package app): the
// embedded broker, every role, the HTTP gateway and the tools. Run
// `sourced -h` for the commands.
package main

import (
	"os"

	"github.com/b2dc4357/sourced/cmd/sourced/app"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/profile"
	"github.com/b2dc4357/sourced/views/reference"
)

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=1.2.3" ./cmd/sourced
//
// Unstamped builds report the VCS revision Go recorded, if any.
var version = ""

func main() {
	os.Exit(app.Main(app.Catalog{
		Aggregates: []processors.Definition{invoice.New(), profile.New()},
		Views:      reference.All(),
		Version:    version,
	}))
}
