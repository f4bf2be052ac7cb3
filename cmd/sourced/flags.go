package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlagSet returns a flag set whose flags default to SOURCED_<NAME>
// environment variables when set.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// envName is the environment variable of a flag: data-dir → SOURCED_DATA_DIR.
func envName(flagName string) string {
	return "SOURCED_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse applies environment variables for flags not given on the command
// line, then the command line itself.
func parse(fs *flag.FlagSet, args []string, help io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(help)
			fs.PrintDefaults()
		}
		return usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usageError{fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)}
			}
		}
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected arguments %v", fs.Name(), fs.Args())}
	}
	return nil
}
