package sbfilter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseError is an expression Service Bus would refuse. Its message has the shape of
// Azure's ("There was an error parsing the SQL expression. [Token line=1, column=7, ...]").
type ParseError struct {
	Offset int    // byte offset of the offending token in the expression
	Line   int    // 1-based
	Column int    // 0-based, in characters, as Azure counts
	Token  string // the offending token as written ("" at the end)
	Detail string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("There was an error parsing the SQL expression. [Token line=%d, column=%d, Token in error= %s, Additional details= %s]",
		e.Line, e.Column, e.Token, e.Detail)
}

func parseErrorf(expr string, offset int, tok string, format string, args ...any) *ParseError {
	offset = min(max(offset, 0), len(expr))
	before := expr[:offset]
	line := strings.Count(before, "\n") + 1
	column := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	const maxToken = 40
	if utf8.RuneCountInString(tok) > maxToken {
		tok = string([]rune(tok)[:maxToken]) + "…"
	}
	return &ParseError{Offset: offset, Line: line, Column: column, Token: tok, Detail: fmt.Sprintf(format, args...)}
}

// EvalError is an expression that parsed but cannot be computed for a message: operands
// of types its operator does not take, a division by zero, an escape that is not one
// character. Azure raises these as filter exceptions (a subscription may dead-letter the
// message on them); they are not the unknown of a missing property.
type EvalError struct {
	Detail string
}

func (e *EvalError) Error() string { return "The SQL expression cannot be evaluated: " + e.Detail }

func evalErrorf(format string, args ...any) error {
	return &EvalError{Detail: fmt.Sprintf(format, args...)}
}
