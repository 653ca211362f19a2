package filters

import (
	"fmt"
	"regexp"

	"github.com/containerd/errdefs"
)

// Bounds on what one request may ask to match: containerd has none, but
// every term is evaluated against every record a List walks, so a client
// could otherwise make each List cost millions of comparisons.
const (
	MaxTerms = 1024
	MaxBytes = 64 << 10
)

// Parse parses filter strings; any one of them matching makes a match. With
// none, or with an empty one among them, everything matches (as containerd's
// ParseAll).
func Parse(exprs ...string) (Filter, error) {
	out := any{}
	matchAll := false
	size, terms := 0, 0
	for _, e := range exprs {
		size += len(e)
		if size > MaxBytes {
			return nil, fmt.Errorf("filters longer than %d bytes: %w", MaxBytes, errdefs.ErrInvalidArgument)
		}
		if e == "" {
			matchAll = true
			continue
		}
		f, err := parseOne(e)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %v: %w", e, err, errdefs.ErrInvalidArgument)
		}
		if terms += len(f); terms > MaxTerms {
			return nil, fmt.Errorf("filters with more than %d terms: %w", MaxTerms, errdefs.ErrInvalidArgument)
		}
		out = append(out, f)
	}
	if matchAll {
		return Always, nil
	}
	return out, nil
}

// The grammar, containerd's:
//
//	selectors := selector ("," selector)*
//	selector  := fieldpath (operator value)?
//	fieldpath := field ("." field)*
//	field     := [A-Za-z0-9_]+ | "quoted"
//	operator  := "==" | "!=" | "~="
//	value     := [^\s,]+ | "quoted" | /quoted/ | |quoted|   (/ and | after ~= only)
type parser struct {
	sc scanner
}

func parseOne(in string) (all, error) {
	p := &parser{sc: scanner{in: in}}
	sel, err := p.selector()
	if err != nil {
		return nil, err
	}
	f := all{sel}
	for {
		switch r := p.sc.peek(); r {
		case eof:
			return f, nil
		case ',':
			p.sc.scan()
			sel, err := p.selector()
			if err != nil {
				return nil, err
			}
			f = append(f, sel)
		default:
			return nil, p.errorf(p.sc.pos, "unexpected input %q", p.sc.in[p.sc.pos:])
		}
	}
}

func (p *parser) selector() (selector, error) {
	var sel selector
	field, err := p.field()
	if err != nil {
		return sel, err
	}
	sel.path = []string{field}
	for p.sc.peek() == '.' {
		p.sc.scan()
		if field, err = p.field(); err != nil {
			return sel, err
		}
		sel.path = append(sel.path, field)
	}
	if r := p.sc.peek(); r == ',' || r == eof {
		return sel, nil // presence
	}
	if sel.op, err = p.operator(); err != nil {
		return sel, err
	}
	if sel.value, err = p.value(sel.op == opMatches); err != nil {
		return sel, err
	}
	if sel.op == opMatches {
		// containerd leaves a bad expression to fail every match; Berth
		// tells the client instead.
		if sel.re, err = regexp.Compile(sel.value); err != nil {
			return sel, fmt.Errorf("regexp %q: %v", sel.value, err)
		}
	}
	return sel, nil
}

func (p *parser) field() (string, error) {
	t := p.sc.scan()
	switch t.kind {
	case tokField:
		return t.text, nil
	case tokQuoted:
		return p.unquoted(t, false)
	case tokIllegal:
		return "", p.errorf(t.pos, "%v", t.err)
	}
	return "", p.errorf(t.pos, "field name or quoted field expected")
}

func (p *parser) operator() (operator, error) {
	t := p.sc.scan()
	switch t.kind {
	case tokOperator:
		switch t.text {
		case "==":
			return opEqual, nil
		case "!=":
			return opNotEqual, nil
		case "~=":
			return opMatches, nil
		}
		return 0, p.errorf(t.pos, "unsupported operator %q", t.text)
	case tokIllegal:
		return 0, p.errorf(t.pos, "%v", t.err)
	}
	return 0, p.errorf(t.pos, `operator ("==", "!=" or "~=") expected`)
}

// value reads a selector's value; /.../ and |...| quote only regular
// expressions.
func (p *parser) value(regexpQuotes bool) (string, error) {
	t := p.sc.scan()
	switch t.kind {
	case tokValue, tokField:
		return t.text, nil
	case tokQuoted:
		return p.unquoted(t, regexpQuotes)
	case tokIllegal:
		return "", p.errorf(t.pos, "%v", t.err)
	}
	return "", p.errorf(t.pos, "value or quoted value expected")
}

func (p *parser) unquoted(t token, regexpQuotes bool) (string, error) {
	if t.quote != '"' && !regexpQuotes {
		return "", p.errorf(t.pos, "%c...%c quotes only a regular expression (after ~=)", t.quote, t.quote)
	}
	return t.text, nil
}

func (p *parser) errorf(pos int, format string, args ...interface{}) error {
	return fmt.Errorf("at %d: %s", pos, fmt.Sprintf(format, args...))
}
