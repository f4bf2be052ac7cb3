package query

import (
	"strings"
)

// parseQueryString parses the basic Lucene query syntax of query_string and
// the q URL parameter: bare terms, field:value, "phrases", field:prefix*,
// field:*, field:[a TO b] ranges ({} for exclusive bounds), parentheses,
// the AND/OR/NOT (&&, ||, !) operators and the +/- modifiers. Terms without
// a field search fields (all leaf fields of each doc when empty or "*").
func parseQueryString(text string, fields []fieldBoost, and, lenient bool) (node, error) {
	p := &qsParser{s: text, fields: fields, and: and, lenient: lenient}
	q, err := p.parseSeq(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, p.fail("unexpected [%c]", p.s[p.i])
	}
	return q, nil
}

type qsParser struct {
	s       string
	i       int
	fields  []fieldBoost
	and     bool
	lenient bool
}

type occur int

const (
	occurShould occur = iota
	occurMust
	occurMustNot
)

type qsClause struct {
	q   node
	occ occur
}

func (p *qsParser) fail(format string, args ...any) error {
	e := parsingErr(format, args...)
	e.Type = "query_shard_exception"
	e.Reason = "Failed to parse query [" + p.s + "]: " + e.Reason
	return shardFailure(e)
}

func (p *qsParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// word reads a bare word if the input continues with one of ops.
func (p *qsParser) op(ops ...string) string {
	for _, o := range ops {
		if !strings.HasPrefix(p.s[p.i:], o) {
			continue
		}
		end := p.i + len(o)
		if o[0] >= 'A' && o[0] <= 'Z' && end < len(p.s) && !isQSSpace(p.s[end]) && p.s[end] != '(' {
			continue // "ANDROID" is a term
		}
		p.i = end
		return o
	}
	return ""
}

func isQSSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseSeq parses clauses until the end or a closing parenthesis.
func (p *qsParser) parseSeq(depth int) (node, error) {
	if depth > 32 {
		return nil, p.fail("too deeply nested")
	}
	var clauses []qsClause
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] == ')' {
			break
		}
		conj := p.op("AND", "&&", "OR", "||")
		if conj != "" {
			p.skipSpace()
			if len(clauses) == 0 || p.i >= len(p.s) {
				return nil, p.fail("operator [%s] without operands", conj)
			}
		}
		occ := occurShould
		if p.and {
			occ = occurMust
		}
		if p.op("NOT", "!") != "" {
			occ = occurMustNot
			p.skipSpace()
		} else if p.i < len(p.s) && p.s[p.i] == '+' {
			occ = occurMust
			p.i++
		} else if p.i < len(p.s) && p.s[p.i] == '-' {
			occ = occurMustNot
			p.i++
		}
		q, err := p.parsePrimary(depth)
		if err != nil {
			return nil, err
		}
		switch conj {
		case "AND", "&&":
			if last := &clauses[len(clauses)-1]; last.occ != occurMustNot {
				last.occ = occurMust
			}
			if occ != occurMustNot {
				occ = occurMust
			}
		case "OR", "||":
			if last := &clauses[len(clauses)-1]; last.occ == occurMust && p.and {
				last.occ = occurShould
			}
			if occ == occurMust && p.and {
				occ = occurShould
			}
		}
		clauses = append(clauses, qsClause{q: q, occ: occ})
	}
	if len(clauses) == 1 && clauses[0].occ != occurMustNot {
		return clauses[0].q, nil
	}
	var b boolQ
	b.boost = 1
	for _, c := range clauses {
		switch c.occ {
		case occurMust:
			b.must = append(b.must, c.q)
		case occurMustNot:
			b.mustNot = append(b.mustNot, c.q)
		default:
			b.should = append(b.should, c.q)
		}
	}
	if len(clauses) == 0 {
		return matchNoneQ{}, nil
	}
	return b, nil
}

func (p *qsParser) parsePrimary(depth int) (node, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, p.fail("unexpected end of query")
	}
	if p.s[p.i] == '(' {
		return p.group("", depth)
	}
	field := ""
	if p.s[p.i] != '"' {
		w := p.term()
		if p.i < len(p.s) && p.s[p.i] == ':' && w != "" {
			p.i++
			field = w
		} else {
			return p.value("", w)
		}
	}
	if p.i >= len(p.s) {
		return nil, p.fail("missing value for field [%s]", field)
	}
	switch p.s[p.i] {
	case '(':
		return p.group(field, depth)
	case '"':
		p.i++
		var b strings.Builder
		for p.i < len(p.s) && p.s[p.i] != '"' {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				p.i++
			}
			b.WriteByte(p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, p.fail("unterminated phrase")
		}
		p.i++
		return p.fieldQuery(field, func(f string) node {
			return matchQ{field: f, query: b.String(), phrase: true, boost: 1, lenient: true}
		}), nil
	case '[', '{':
		return p.rangeValue(field)
	}
	return p.value(field, p.term())
}

// group parses "( ... )"; a field prefix applies to every term inside.
func (p *qsParser) group(field string, depth int) (node, error) {
	p.i++ // (
	saved := p.fields
	if field != "" {
		p.fields = []fieldBoost{{field: field, boost: 1}}
	}
	q, err := p.parseSeq(depth + 1)
	p.fields = saved
	if err != nil {
		return nil, err
	}
	if p.i >= len(p.s) || p.s[p.i] != ')' {
		return nil, p.fail("missing [)]")
	}
	p.i++
	return q, nil
}

// term reads an unquoted term up to whitespace, a parenthesis or an
// unescaped colon; backslash escapes the next byte.
func (p *qsParser) term() string {
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isQSSpace(c) || c == '(' || c == ')' || c == ':' || c == '"' {
			break
		}
		if c == '\\' && p.i+1 < len(p.s) {
			p.i++
			c = p.s[p.i]
		}
		b.WriteByte(c)
		p.i++
	}
	return b.String()
}

func (p *qsParser) value(field, w string) (node, error) {
	switch {
	case w == "":
		return nil, p.fail("empty term")
	case w == "*" && field == "":
		return matchAllQ{boost: 1}, nil
	case w == "*":
		return existsQ{field: field, boost: 1}, nil
	case strings.HasSuffix(w, "*") && !strings.ContainsAny(w[:len(w)-1], "*?"):
		pre := w[:len(w)-1]
		return p.fieldQuery(field, func(f string) node {
			return prefixQ{field: f, value: pre, boost: 1, ci: true}
		}), nil
	case strings.ContainsAny(w, "*?"):
		return p.fieldQuery(field, func(f string) node {
			return prefixQ{field: f, value: w, wildcard: true, boost: 1, ci: true}
		}), nil
	}
	return p.fieldQuery(field, func(f string) node {
		return matchQ{field: f, query: w, boost: 1, and: p.and, lenient: p.lenient || field == ""}
	}), nil
}

func (p *qsParser) rangeValue(field string) (node, error) {
	open := p.s[p.i]
	p.i++
	end := strings.IndexAny(p.s[p.i:], "]}")
	if end < 0 {
		return nil, p.fail("unterminated range")
	}
	body := p.s[p.i : p.i+end]
	closeC := p.s[p.i+end]
	p.i += end + 1
	lo, hi, ok := strings.Cut(body, " TO ")
	if !ok {
		return nil, p.fail("range [%s] needs TO", body)
	}
	lo, hi = strings.Trim(strings.TrimSpace(lo), `"`), strings.Trim(strings.TrimSpace(hi), `"`)
	q := rangeQ{field: field, boost: 1}
	if lo != "*" {
		if open == '[' {
			q.gte = lo
		} else {
			q.gt = lo
		}
	}
	if hi != "*" {
		if closeC == ']' {
			q.lte = hi
		} else {
			q.lt = hi
		}
	}
	if field == "" {
		return nil, p.fail("ranges need a field")
	}
	return q, nil
}

// fieldQuery applies mk to the explicit field, or to the default fields.
func (p *qsParser) fieldQuery(field string, mk func(string) node) node {
	if field != "" {
		return mk(field)
	}
	if len(p.fields) == 0 || (len(p.fields) == 1 && p.fields[0].field == "*") {
		return allFieldsQ{mk: mk}
	}
	if len(p.fields) == 1 {
		return boosted(mk(p.fields[0].field), p.fields[0].boost)
	}
	d := disMaxQ{boost: 1}
	for _, f := range p.fields {
		d.queries = append(d.queries, boosted(mk(f.field), f.boost))
	}
	return d
}

// boosted wraps q to multiply its score by b (identity for 1).
func boosted(q node, b float64) node {
	if b == 1 {
		return q
	}
	return boolQ{must: []node{q}, boost: b}
}
