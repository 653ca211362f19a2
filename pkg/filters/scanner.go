package filters

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The scanner splits a filter into the tokens of containerd's filter
// syntax, with its rules: '/', '|' and '"' all open a quoted literal, ',' and
// '.' separate, runs of '=', '!' and '~' are operators, a bare value follows
// an operator and runs to the next ',' or space, and a field name is
// [A-Za-z0-9_]+. Space between tokens is skipped, but a selector's value
// ends at the first space.

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIllegal
	tokField
	tokValue
	tokQuoted
	tokSeparator
	tokOperator
	tokOther // any other character: an error wherever it appears
)

type token struct {
	kind tokenKind
	pos  int
	// text is the token as written, except for a quoted literal: its value,
	// quotes removed and escapes decoded.
	text  string
	quote rune
	err   error
}

// Runes peek and decode return besides real characters. A NUL, invalid
// UTF-8 and U+FFFD itself are illegal anywhere, as in containerd.
const (
	eof     rune = -1
	illegal rune = -2
)

type scanner struct {
	in  string
	pos int // the next byte to read
	// inValue is set by an operator and cleared by a separator: a bare
	// value may then begin with any character a field could not.
	inValue bool
}

func (s *scanner) decode(at int) (rune, int) {
	if at >= len(s.in) {
		return eof, 0
	}
	r, w := utf8.DecodeRuneInString(s.in[at:])
	if r == utf8.RuneError || r == 0 {
		return illegal, w
	}
	return r, w
}

// peek returns the next character without consuming it (no space skipped).
func (s *scanner) peek() rune {
	r, _ := s.decode(s.pos)
	return r
}

// skipWhile consumes characters while ok holds.
func (s *scanner) skipWhile(ok func(rune) bool) {
	for {
		r, w := s.decode(s.pos)
		if r < 0 || !ok(r) {
			return
		}
		s.pos += w
	}
}

func (s *scanner) scan() token {
	for {
		start := s.pos
		r, w := s.decode(start)
		switch r {
		case eof:
			return token{kind: tokEOF, pos: start}
		case illegal:
			return token{kind: tokIllegal, pos: start, err: errors.New("invalid character (NUL, U+FFFD or bad UTF-8)")}
		}
		s.pos += w
		switch {
		case isQuote(r):
			v, err := s.quoted(r)
			if err != nil {
				return token{kind: tokIllegal, pos: start, err: err}
			}
			return token{kind: tokQuoted, pos: start, text: v, quote: r}
		case r == ',' || r == '.':
			s.inValue = false
			return token{kind: tokSeparator, pos: start, text: string(r)}
		case isOperator(r):
			s.skipWhile(isOperator)
			s.inValue = true
			return token{kind: tokOperator, pos: start, text: s.in[start:s.pos]}
		case unicode.IsSpace(r):
			continue
		case s.inValue:
			s.skipWhile(isValueRune)
			s.inValue = false
			return token{kind: tokValue, pos: start, text: s.in[start:s.pos]}
		case isFieldRune(r):
			s.skipWhile(isFieldRune)
			return token{kind: tokField, pos: start, text: s.in[start:s.pos]}
		}
		return token{kind: tokOther, pos: start, text: string(r)}
	}
}

// quoted reads the rest of a literal opened by q. Escapes are Go's (\a \b
// \f \n \r \t \v \\, octal \NNN up to \377, \xHH, \uHHHH, \UHHHHHHHH) plus
// the quote itself; escaping another quote character is an error, so a
// regular expression /.../ cannot hold \d and |...| cannot hold \/.
func (s *scanner) quoted(q rune) (string, error) {
	var b strings.Builder
	for {
		r, w := s.decode(s.pos)
		switch {
		case r == eof || r == illegal || r == '\n':
			return "", errors.New("quoted literal not terminated")
		case r == q:
			s.pos += w
			return b.String(), nil
		case r != '\\':
			s.pos += w
			b.WriteRune(r)
			continue
		}
		s.pos += w
		if err := s.escape(q, &b); err != nil {
			return "", err
		}
	}
}

var simpleEscapes = map[rune]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\'}

func (s *scanner) escape(q rune, b *strings.Builder) error {
	r, w := s.decode(s.pos)
	s.pos += w
	if c, ok := simpleEscapes[r]; ok {
		b.WriteByte(c)
		return nil
	}
	switch {
	case r == q:
		b.WriteRune(q)
		return nil
	case r == 'x':
		v, err := s.digits(16, 2)
		b.WriteByte(byte(v)) // one byte, maybe not UTF-8, as in Go
		return err
	case r == 'u' || r == 'U':
		n := 4
		if r == 'U' {
			n = 8
		}
		v, err := s.digits(16, n)
		if err == nil && v > utf8.MaxRune {
			err = errors.New("escaped code point out of range")
		}
		b.WriteRune(v)
		return err
	case r >= '0' && r <= '7':
		s.pos-- // the first of three octal digits
		v, err := s.digits(8, 3)
		if err == nil && v > 255 {
			err = errors.New("octal escape above \\377")
		}
		b.WriteByte(byte(v))
		return err
	}
	return errors.New("illegal escape sequence")
}

// digits reads exactly n digits in base.
func (s *scanner) digits(base, n int) (rune, error) {
	var v rune
	for ; n > 0; n-- {
		if s.pos >= len(s.in) {
			return 0, errors.New("illegal numeric escape sequence")
		}
		d := digitValue(s.in[s.pos])
		if d >= base {
			return 0, errors.New("illegal numeric escape sequence")
		}
		v = v*rune(base) + rune(d)
		s.pos++
	}
	return v, nil
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 16
}

func isQuote(r rune) bool    { return r == '/' || r == '|' || r == '"' }
func isOperator(r rune) bool { return r == '=' || r == '!' || r == '~' }

func isFieldRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isValueRune(r rune) bool {
	return r != ',' && !unicode.IsSpace(r) &&
		(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsGraphic(r) || unicode.IsPunct(r))
}
