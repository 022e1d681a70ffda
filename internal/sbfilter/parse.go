package sbfilter

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxExpressionLength is Azure's limit on a filter's or an action's SQL expression, in
// characters.
const MaxExpressionLength = 1024

// maxDepth bounds how deeply expressions nest (parentheses, NOT, signs), so neither
// parsing nor evaluation recurses without end.
const maxDepth = 64

// kind is what a parsed node yields: a predicate (true, false or unknown) or a value.
type kind int

const (
	kindValue kind = iota
	kindPredicate
)

type parser struct {
	expr  string
	toks  []token
	i     int
	depth int
}

func newParser(expr string) (*parser, error) {
	if n := utf8.RuneCountInString(expr); n > MaxExpressionLength {
		return nil, parseErrorf(expr, 0, "", "the expression has %d characters; at most %d are allowed", n, MaxExpressionLength)
	}
	if !utf8.ValidString(expr) {
		return nil, parseErrorf(expr, 0, "", "the expression is not valid UTF-8")
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	return &parser{expr: expr, toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errorAt(t token, format string, args ...any) *ParseError {
	return parseErrorf(p.expr, t.pos, t.raw, format, args...)
}

// unexpected is the error for token t where something else was expected.
func (p *parser) unexpected(t token, expecting string) *ParseError {
	what := t.raw
	if t.kind == tokEOF {
		what = "end of expression"
	}
	return p.errorAt(t, "syntax error, unexpected %s, expecting %s", what, expecting)
}

func (p *parser) expectOp(op string) error {
	if t := p.next(); !t.op(op) {
		return p.unexpected(t, "'"+op+"'")
	}
	return nil
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorAt(t, "the expression nests more than %d levels deep", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// predicate parses a whole predicate and checks that it is one.
func (p *parser) predicate() (node, error) {
	t := p.peek()
	n, k, err := p.or()
	if err != nil {
		return nil, err
	}
	if k != kindPredicate {
		return nil, p.errorAt(t, "a condition is expected here, not a value: compare it (=, <>, <, >, LIKE, IN, IS NULL)")
	}
	return n, nil
}

// value parses an expression and checks that it is a value, not a condition.
func (p *parser) value() (node, error) {
	t := p.peek()
	n, k, err := p.additive()
	if err != nil {
		return nil, err
	}
	if k != kindValue {
		return nil, p.errorAt(t, "a value is expected here, not a condition")
	}
	return n, nil
}

func (p *parser) or() (node, kind, error) {
	if err := p.enter(p.peek()); err != nil {
		return nil, 0, err
	}
	defer p.leave()
	left, k, err := p.and()
	if err != nil {
		return nil, 0, err
	}
	for p.peek().keyword("or") {
		t := p.next()
		right, rk, err := p.and()
		if err != nil {
			return nil, 0, err
		}
		if k != kindPredicate || rk != kindPredicate {
			return nil, 0, p.errorAt(t, "OR joins conditions, not values")
		}
		left = orNode{left, right}
	}
	return left, k, nil
}

func (p *parser) and() (node, kind, error) {
	left, k, err := p.not()
	if err != nil {
		return nil, 0, err
	}
	for p.peek().keyword("and") {
		t := p.next()
		right, rk, err := p.not()
		if err != nil {
			return nil, 0, err
		}
		if k != kindPredicate || rk != kindPredicate {
			return nil, 0, p.errorAt(t, "AND joins conditions, not values")
		}
		left = andNode{left, right}
	}
	return left, k, nil
}

func (p *parser) not() (node, kind, error) {
	if !p.peek().keyword("not") {
		return p.comparison()
	}
	t := p.next()
	if err := p.enter(t); err != nil {
		return nil, 0, err
	}
	defer p.leave()
	x, k, err := p.not()
	if err != nil {
		return nil, 0, err
	}
	if k != kindPredicate {
		return nil, 0, p.errorAt(t, "NOT negates a condition, not a value")
	}
	return notNode{x}, kindPredicate, nil
}

var comparisons = map[string]cmpOp{"=": cmpEq, "<>": cmpNe, "!=": cmpNe, ">": cmpGt, ">=": cmpGe, "<": cmpLt, "<=": cmpLe}

// comparison parses EXISTS, or an expression and whatever compares it.
func (p *parser) comparison() (node, kind, error) {
	if p.peek().keyword("exists") {
		p.next()
		if err := p.expectOp("("); err != nil {
			return nil, 0, err
		}
		ref, err := p.property()
		if err != nil {
			return nil, 0, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, 0, err
		}
		return existsNode{ref}, kindPredicate, nil
	}
	start := p.peek()
	left, k, err := p.additive()
	if err != nil {
		return nil, 0, err
	}
	t := p.peek()
	op, isCmp := comparisons[t.text]
	isCmp = isCmp && t.kind == tokOp
	negated := false
	if t.keyword("not") {
		// NOT here belongs to NOT IN or NOT LIKE.
		if nt := p.toks[p.i+1]; nt.keyword("in") || nt.keyword("like") {
			negated = true
			p.next()
			t = p.peek()
		}
	}
	if !isCmp && !t.keyword("is") && !t.keyword("in") && !t.keyword("like") {
		return left, k, nil
	}
	if k != kindValue {
		return nil, 0, p.errorAt(t, "%s compares values, not conditions", strings.ToUpper(t.text))
	}
	p.next()
	switch {
	case isCmp:
		right, err := p.value()
		if err != nil {
			return nil, 0, err
		}
		return compareNode{op, left, right}, kindPredicate, nil
	case t.keyword("is"):
		switch left.(type) {
		case propertyNode, propertyFuncNode:
		default:
			return nil, 0, p.errorAt(start, "IS NULL applies to a property")
		}
		not := false
		if p.peek().keyword("not") {
			p.next()
			not = true
		}
		if nt := p.next(); !nt.keyword("null") {
			return nil, 0, p.unexpected(nt, "NULL")
		}
		return isNullNode{left, not}, kindPredicate, nil
	case t.keyword("in"):
		if err := p.expectOp("("); err != nil {
			return nil, 0, err
		}
		var list []node
		for {
			item, err := p.value()
			if err != nil {
				return nil, 0, err
			}
			list = append(list, item)
			if p.peek().op(",") {
				p.next()
				continue
			}
			if err := p.expectOp(")"); err != nil {
				return nil, 0, err
			}
			return inNode{left, list, negated}, kindPredicate, nil
		}
	default: // LIKE
		pattern, err := p.value()
		if err != nil {
			return nil, 0, err
		}
		var escape node
		if p.peek().keyword("escape") {
			p.next()
			if escape, err = p.value(); err != nil {
				return nil, 0, err
			}
			if lit, ok := escape.(literalNode); ok {
				if s, ok := lit.v.(string); !ok || utf8.RuneCountInString(s) != 1 {
					return nil, 0, p.errorAt(p.toks[p.i-1], "the ESCAPE character must be a string of one character")
				}
			}
		}
		return likeNode{left, pattern, escape, negated}, kindPredicate, nil
	}
}

func (p *parser) additive() (node, kind, error) {
	left, k, err := p.multiplicative()
	if err != nil {
		return nil, 0, err
	}
	for t := p.peek(); t.op("+") || t.op("-"); t = p.peek() {
		p.next()
		right, rk, err := p.multiplicative()
		if err != nil {
			return nil, 0, err
		}
		if k != kindValue || rk != kindValue {
			return nil, 0, p.errorAt(t, "%s works on values, not conditions", t.text)
		}
		left = arithNode{t.text[0], left, right}
	}
	return left, k, nil
}

func (p *parser) multiplicative() (node, kind, error) {
	left, k, err := p.unary()
	if err != nil {
		return nil, 0, err
	}
	for t := p.peek(); t.op("*") || t.op("/") || t.op("%"); t = p.peek() {
		p.next()
		right, rk, err := p.unary()
		if err != nil {
			return nil, 0, err
		}
		if k != kindValue || rk != kindValue {
			return nil, 0, p.errorAt(t, "%s works on values, not conditions", t.text)
		}
		left = arithNode{t.text[0], left, right}
	}
	return left, k, nil
}

func (p *parser) unary() (node, kind, error) {
	t := p.peek()
	if !t.op("+") && !t.op("-") {
		return p.primary()
	}
	p.next()
	// -9223372036854775808 is a long, though 9223372036854775808 alone is not.
	if nt := p.peek(); t.op("-") && nt.kind == tokInteger && nt.text == "9223372036854775808" {
		p.next()
		return literalNode{int64(math.MinInt64)}, kindValue, nil
	}
	if err := p.enter(t); err != nil {
		return nil, 0, err
	}
	defer p.leave()
	x, k, err := p.unary()
	if err != nil {
		return nil, 0, err
	}
	if k != kindValue {
		return nil, 0, p.errorAt(t, "a sign applies to a value, not a condition")
	}
	if lit, ok := x.(literalNode); ok {
		// Fold signed constants, so "-5" is a constant as in Azure's grammar.
		v, err := negate(t.text[0], lit.v)
		if err == nil {
			return literalNode{v}, kindValue, nil
		}
	}
	return unaryNode{t.text[0], x}, kindValue, nil
}

func (p *parser) primary() (node, kind, error) {
	t := p.peek()
	switch t.kind {
	case tokString:
		p.next()
		return literalNode{t.text}, kindValue, nil
	case tokInteger:
		p.next()
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, 0, p.errorAt(t, "the integer %s is out of the range of a long", t.text)
		}
		return literalNode{v}, kindValue, nil
	case tokDecimal:
		p.next()
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(v, 0) {
			return nil, 0, p.errorAt(t, "the number %s is out of the range of a double", t.text)
		}
		return literalNode{v}, kindValue, nil
	case tokOp:
		if !t.op("(") {
			return nil, 0, p.unexpected(t, "an expression")
		}
		p.next()
		n, k, err := p.or()
		if err != nil {
			return nil, 0, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, 0, err
		}
		return n, k, nil
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true":
			p.next()
			return literalNode{true}, kindValue, nil
		case "false":
			p.next()
			return literalNode{false}, kindValue, nil
		case "null":
			p.next()
			return literalNode{nil}, kindValue, nil
		}
		if p.toks[p.i+1].op("(") {
			return p.function()
		}
	}
	if t.kind == tokIdent || t.kind == tokQuotedName {
		ref, err := p.property()
		return ref, kindValue, err
	}
	return nil, 0, p.unexpected(t, "an expression")
}

// function parses newid(), property(name) and p(name).
func (p *parser) function() (node, kind, error) {
	t := p.next()
	p.next() // (
	switch strings.ToLower(t.text) {
	case "newid":
		if err := p.expectOp(")"); err != nil {
			return nil, 0, err
		}
		return newIDNode{}, kindValue, nil
	case "property", "p":
		name, err := p.value()
		if err != nil {
			return nil, 0, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, 0, err
		}
		if lit, ok := name.(literalNode); ok {
			// A constant name is checked now, as a written property would be.
			s, ok := lit.v.(string)
			if !ok {
				return nil, 0, p.errorAt(t, "property() takes the name of a property as a string")
			}
			ref, err := propertyByName(s)
			var ee *EvalError
			if errors.As(err, &ee) {
				return nil, 0, p.errorAt(t, "%s", ee.Detail)
			}
			return ref, kindValue, nil
		}
		return propertyFuncNode{name}, kindValue, nil
	}
	return nil, 0, p.errorAt(t, "'%s' is not a known function: use newid(), property(name) or p(name)", t.text)
}

// property parses [scope .] name.
func (p *parser) property() (propertyNode, error) {
	t := p.next()
	if t.kind != tokIdent && t.kind != tokQuotedName {
		return propertyNode{}, p.unexpected(t, "a property name")
	}
	if t.kind == tokIdent && p.peek().op(".") {
		scope := strings.ToLower(t.text)
		if scope != "sys" && scope != "user" {
			return propertyNode{}, p.errorAt(t, "'%s' is not a scope: use sys or user, or [brackets] around a name with a dot", t.text)
		}
		p.next()
		nt := p.next()
		if nt.kind != tokIdent && nt.kind != tokQuotedName {
			return propertyNode{}, p.unexpected(nt, "a property name")
		}
		if scope == "user" {
			return propertyNode{name: nt.text}, nil
		}
		sp := sysProps[strings.ToLower(nt.text)]
		if sp == nil {
			return propertyNode{}, p.errorAt(nt, "The specified property 'sys.%s' does not exist or is not allowed.", nt.text)
		}
		return propertyNode{name: sp.name, sys: sp}, nil
	}
	if t.kind == tokIdent && reserved[strings.ToLower(t.text)] {
		return propertyNode{}, p.unexpected(t, "a property name (put a reserved word in [brackets])")
	}
	return propertyNode{name: t.text}, nil
}

// propertyByName resolves the name property(name) is given: "sys.X", "user.X" or "X".
func propertyByName(name string) (propertyNode, error) {
	scope, rest, scoped := strings.Cut(name, ".")
	switch {
	case scoped && strings.EqualFold(scope, "sys"):
		sp := sysProps[strings.ToLower(rest)]
		if sp == nil {
			return propertyNode{}, evalErrorf("The specified property 'sys.%s' does not exist or is not allowed.", rest)
		}
		return propertyNode{name: sp.name, sys: sp}, nil
	case scoped && strings.EqualFold(scope, "user"):
		return propertyNode{name: rest}, nil
	}
	return propertyNode{name: name}, nil
}
