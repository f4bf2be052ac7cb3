// Command bank runs the account aggregate and its balances view with the
// whole sourced command line: dev, the roles, the gateway and the tools.
package main

import (
	"os"

	"example.com/bank/account"
	"github.com/b2dc4357/sourced/cmd/sourced/app"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/views"
)

func main() {
	os.Exit(app.Main(app.Catalog{
		Aggregates: []processors.Definition{account.New()},
		Views:      []*views.View{account.Balances()},
	}))
}
