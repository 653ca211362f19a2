package filters

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
)

// Parse parses filter strings; any one of them matching makes a match.
// Empty strings are ignored, so Parse() and Parse("") match everything.
func Parse(exprs ...string) (Filter, error) {
	var out any
	for _, e := range exprs {
		if strings.TrimSpace(e) == "" {
			continue
		}
		f, err := parseOne(e)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %v: %w", e, err, errdefs.ErrInvalidArgument)
		}
		out = append(out, f)
	}
	return out, nil
}

type parser struct {
	s   string
	pos int
}

func parseOne(s string) (all, error) {
	p := &parser{s: s}
	var f all
	for {
		sel, err := p.selector()
		if err != nil {
			return nil, err
		}
		f = append(f, sel)
		p.skipSpace()
		if p.pos == len(p.s) {
			return f, nil
		}
		if p.s[p.pos] != ',' {
			return nil, fmt.Errorf("unexpected %q at %d", p.s[p.pos], p.pos)
		}
		p.pos++
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) selector() (selector, error) {
	var sel selector
	for {
		p.skipSpace()
		field, err := p.field()
		if err != nil {
			return sel, err
		}
		sel.path = append(sel.path, field)
		if p.pos < len(p.s) && p.s[p.pos] == '.' {
			p.pos++
			continue
		}
		break
	}
	p.skipSpace()
	rest := p.s[p.pos:]
	switch {
	case strings.HasPrefix(rest, "=="):
		sel.op = opEqual
	case strings.HasPrefix(rest, "!="):
		sel.op = opNotEqual
	case strings.HasPrefix(rest, "~="):
		sel.op = opMatches
	default:
		return sel, nil
	}
	p.pos += 2
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return sel, err
	}
	sel.value = v
	if sel.op == opMatches {
		if sel.re, err = regexp.Compile(v); err != nil {
			return sel, fmt.Errorf("regexp %q: %v", v, err)
		}
	}
	return sel, nil
}

func isFieldByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *parser) field() (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		return p.quoted('"')
	}
	start := p.pos
	for p.pos < len(p.s) && isFieldByte(p.s[p.pos]) {
		p.pos++
	}
	if start == p.pos {
		return "", fmt.Errorf("field name expected at %d", start)
	}
	return p.s[start:p.pos], nil
}

func (p *parser) value() (string, error) {
	if p.pos < len(p.s) && (p.s[p.pos] == '"' || p.s[p.pos] == '/') {
		return p.quoted(p.s[p.pos])
	}
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != ',' {
		p.pos++
	}
	v := strings.TrimSpace(p.s[start:p.pos])
	if v == "" {
		return "", fmt.Errorf("value expected at %d", start)
	}
	return v, nil
}

// quoted reads a string between q delimiters. "..." uses Go escapes; /.../
// (for regular expressions) only escapes the slash.
func (p *parser) quoted(q byte) (string, error) {
	start := p.pos
	p.pos++
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '\\':
			p.pos += 2
			continue
		case q:
			p.pos++
			raw := p.s[start:p.pos]
			if q == '"' {
				return strconv.Unquote(raw)
			}
			return strings.ReplaceAll(raw[1:len(raw)-1], `\/`, `/`), nil
		}
		p.pos++
	}
	return "", fmt.Errorf("unterminated quote at %d", start)
}
