package esyaml

import (
	"encoding/xml"
	"fmt"
	"io"
)

// junitSuites is the JUnit XML report layout understood by CI systems.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Time    string        `xml:"time,attr"`
	Failure *junitMessage `xml:"failure,omitempty"`
	Skipped *junitMessage `xml:"skipped,omitempty"`
	Output  string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes results as a JUnit XML report, one testsuite per
// Suite. A failed section counts as a failure only when inScope says so;
// out-of-scope failures are recorded in the case's output instead.
func WriteJUnit(w io.Writer, results []Result, inScope func(Result) bool) error {
	var out junitSuites
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Suite]
		if !ok {
			i = len(out.Suites)
			index[r.Suite] = i
			out.Suites = append(out.Suites, junitSuite{Name: r.Suite})
		}
		s := &out.Suites[i]
		c := junitCase{Class: r.Suite + "." + r.File, Name: r.Section, Time: fmt.Sprintf("%.3f", r.Duration.Seconds())}
		s.Tests++
		switch {
		case r.Outcome == Skipped:
			s.Skipped++
			c.Skipped = &junitMessage{Message: r.Reason}
		case r.Outcome == Fail && inScope(r):
			s.Failures++
			c.Failure = &junitMessage{Message: "in-scope section failed", Text: r.Failure}
		case r.Outcome == Fail:
			c.Output = "out-of-scope section failed (reported only):\n" + r.Failure
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}
