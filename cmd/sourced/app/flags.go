package app

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
			return helpRequest{fs}
		}
		return usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected arguments %v", fs.Name(), fs.Args())}
	}
	return nil
}

// applyEnv sets every flag not given on the command line from its
// environment variable, when that is set.
func applyEnv(fs *flag.FlagSet) error {
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
	return err
}

// parseWithPositionals parses flags that may come before, between or after
// positional arguments, applies the environment, and returns the
// positional arguments.
func parseWithPositionals(fs *flag.FlagSet, args []string, help io.Writer) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return nil, helpRequest{fs}
			}
			return nil, usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	return pos, applyEnv(fs)
}
