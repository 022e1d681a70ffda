package sbfilter

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF        tokenKind = iota
	tokIdent                // a regular identifier, or a keyword
	tokQuotedName           // a [delimited] or "quoted" identifier: never a keyword
	tokString
	tokInteger
	tokDecimal // with a point or an exponent: a float64
	tokOp      // = <> != > >= < <= + - * / % ( ) , . ;
)

type token struct {
	kind tokenKind
	text string // the identifier's name or the string's value, unescaped; the operator
	pos  int    // byte offset into the expression
	raw  string // as written, for error messages
}

// keyword reports whether t is keyword kw (keywords are case-insensitive).
func (t token) keyword(kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (t token) op(op string) bool { return t.kind == tokOp && t.text == op }

// reserved are the words a regular identifier may not be.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "is": true, "null": true, "in": true, "like": true,
	"escape": true, "exists": true, "true": true, "false": true,
}

// lex splits expr into tokens, ending with tokEOF.
func lex(expr string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(expr) {
		r, size := utf8.DecodeRuneInString(expr[i:])
		start := i
		switch {
		case unicode.IsSpace(r):
			i += size
			continue
		case unicode.IsLetter(r):
			i += size
			for i < len(expr) {
				r, size := utf8.DecodeRuneInString(expr[i:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				i += size
			}
			toks = append(toks, token{kind: tokIdent, text: expr[start:i], pos: start, raw: expr[start:i]})
			continue
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(expr) && expr[i+1] >= '0' && expr[i+1] <= '9':
			t, err := lexNumber(expr, start)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.raw)
			continue
		case r == '\'' || r == '"' || r == '[':
			closing := r
			kind := tokQuotedName
			if r == '\'' {
				kind = tokString
			}
			if r == '[' {
				closing = ']'
			}
			text, n, ok := lexDelimited(expr[i:], byte(closing))
			if !ok {
				what := "string"
				if kind == tokQuotedName {
					what = "identifier"
				}
				return nil, parseErrorf(expr, start, expr[start:], "unterminated %s: %q is never closed", what, string(closing))
			}
			toks = append(toks, token{kind: kind, text: text, pos: start, raw: expr[start : i+n]})
			i += n
			continue
		}
		if op := lexOperator(expr[i:]); op != "" {
			toks = append(toks, token{kind: tokOp, text: op, pos: start, raw: op})
			i += len(op)
			continue
		}
		return nil, parseErrorf(expr, start, string(r), "unexpected character %q", r)
	}
	return append(toks, token{kind: tokEOF, pos: len(expr)}), nil
}

var operators = []string{"<>", "!=", ">=", "<=", "=", ">", "<", "+", "-", "*", "/", "%", "(", ")", ",", ".", ";"}

func lexOperator(s string) string {
	for _, op := range operators {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

// lexDelimited reads a string or identifier that s opens, where a doubled closing
// character stands for itself. It returns the unescaped text and how many bytes it took.
func lexDelimited(s string, closing byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != closing {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == closing {
			b.WriteByte(closing)
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// lexNumber reads digits [. digits] [E [+|-] digits] at expr[start:].
func lexNumber(expr string, start int) (token, error) {
	i := start
	digits := func() int {
		n := 0
		for i < len(expr) && expr[i] >= '0' && expr[i] <= '9' {
			i++
			n++
		}
		return n
	}
	kind := tokInteger
	digits()
	if i < len(expr) && expr[i] == '.' {
		kind = tokDecimal
		i++
		digits()
	}
	if i < len(expr) && (expr[i] == 'e' || expr[i] == 'E') {
		kind = tokDecimal
		i++
		if i < len(expr) && (expr[i] == '+' || expr[i] == '-') {
			i++
		}
		if digits() == 0 {
			return token{}, parseErrorf(expr, start, expr[start:i], "the exponent of %s has no digits", expr[start:i])
		}
	}
	// A number running into a name ("12abc") is a mistake, not two tokens.
	if r, _ := utf8.DecodeRuneInString(expr[i:]); i < len(expr) && (unicode.IsLetter(r) || r == '_') {
		return token{}, parseErrorf(expr, start, expr[start:i], "%s is followed by %q", expr[start:i], r)
	}
	return token{kind: kind, text: expr[start:i], pos: start, raw: expr[start:i]}, nil
}

func (k tokenKind) String() string {
	switch k {
	case tokEOF:
		return "end of expression"
	case tokIdent, tokQuotedName:
		return "identifier"
	case tokString:
		return "string"
	case tokInteger, tokDecimal:
		return "number"
	case tokOp:
		return "operator"
	}
	return fmt.Sprintf("token %d", int(k))
}
