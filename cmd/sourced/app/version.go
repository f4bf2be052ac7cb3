package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"
)

// buildVersion returns the stamped version, else the VCS revision recorded
// by the Go toolchain, else "dev".
func buildVersion(version string) string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "-dirty"
				}
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			return "dev-" + rev + modified
		}
	}
	return "dev"
}

// runVersion prints the version and the Go toolchain that built the binary.
func (ct Catalog) runVersion(args []string, stdout io.Writer) error {
	fs := newFlagSet("version")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "sourced %s %s %s/%s\n", buildVersion(ct.Version), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// runProbe requests a URL and succeeds only on a 2xx answer: a health check
// for images that have no shell or curl (the deploy image is built FROM
// scratch), e.g. `sourced probe http://127.0.0.1:8080/readyz`.
func runProbe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("probe")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	pos, err := parseWithPositionals(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("probe: want one URL, got %d arguments", len(pos))}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pos[0], nil)
	if err != nil {
		return usageError{fmt.Errorf("probe: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", pos[0], err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe %s: %s %s", pos[0], resp.Status, body)
	}
	return nil
}
