package rbac

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// This file implements the subset of the Azure ABAC condition language (version 2.0) that
// blob and queue conditions use: ActionMatches, SubOperationMatches, Exists/NotExists,
// the String, Guid, Numeric, Bool and DateTime operators (with IgnoreCase variants where
// Azure has them), the four ForAny/ForAll set prefixes, and AND/OR/NOT with their symbolic
// forms. Anything else fails to compile, and an assignment whose condition does not compile
// or cannot be evaluated for a request never grants: the engine fails closed.

// errUnevaluable marks an attribute the request cannot supply.
var errUnevaluable = errors.New("attribute not available")

// maxConditionDepth bounds nesting so a hostile condition cannot exhaust the stack.
const maxConditionDepth = 64

// condition is a compiled condition expression.
type condition struct {
	root condNode
}

type condNode interface {
	eval(env *condEnv) (bool, error)
}

// ValidateCondition reports whether s is a condition Lanyard can evaluate. Stores call it
// before accepting an assignment so that a condition that would always fail closed is
// refused up front instead.
func ValidateCondition(s string) error {
	_, err := compileCondition(s)
	if err != nil {
		return lanyard.Errorf(lanyard.KindInvalid, "The condition cannot be evaluated by Lanyard: %v.", err).WithCode("InvalidCondition")
	}
	return nil
}

func compileCondition(s string) (*condition, error) {
	if len(s) > MaxRoleConditionLength {
		return nil, fmt.Errorf("longer than %d bytes", MaxRoleConditionLength)
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("not valid UTF-8")
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("unexpected %s after the end of the expression", p.toks[p.i])
	}
	return &condition{root: n}, nil
}

// --- tokens

type tokKind uint8

const (
	tokLParen tokKind = iota
	tokRParen
	tokLBrace
	tokRBrace
	tokComma
	tokNot  // ! or NOT
	tokAnd  // && or AND
	tokOr   // || or OR
	tokStr  // 'quoted'
	tokAttr // @Source[name]
	tokWord // operator, function name, bare value
)

type token struct {
	kind tokKind
	text string // word or string contents; for attributes, the name in brackets
	src  string // attribute source: Resource, Request, Principal, Environment
}

func (t token) String() string {
	switch t.kind {
	case tokStr:
		return strconv.Quote(t.text)
	case tokAttr:
		return "@" + t.src + "[" + t.text + "]"
	case tokWord:
		return strconv.Quote(t.text)
	}
	return map[tokKind]string{tokLParen: "'('", tokRParen: "')'", tokLBrace: "'{'", tokRBrace: "'}'",
		tokComma: "','", tokNot: "NOT", tokAnd: "AND", tokOr: "OR"}[t.kind]
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			out = append(out, token{kind: tokLParen})
			i++
		case c == ')':
			out = append(out, token{kind: tokRParen})
			i++
		case c == '{':
			out = append(out, token{kind: tokLBrace})
			i++
		case c == '}':
			out = append(out, token{kind: tokRBrace})
			i++
		case c == ',':
			out = append(out, token{kind: tokComma})
			i++
		case c == '!':
			out = append(out, token{kind: tokNot})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return nil, fmt.Errorf("lone %q at offset %d", c, i)
			}
			k := tokAnd
			if c == '|' {
				k = tokOr
			}
			out = append(out, token{kind: k})
			i += 2
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			out = append(out, token{kind: tokStr, text: s[i+1 : i+1+j]})
			i += j + 2
		case c == '@':
			open := strings.IndexByte(s[i:], '[')
			if open < 0 {
				return nil, fmt.Errorf("attribute at offset %d has no '['", i)
			}
			src := s[i+1 : i+open]
			end := strings.IndexByte(s[i+open:], ']')
			if end < 0 {
				return nil, fmt.Errorf("attribute at offset %d has no ']'", i)
			}
			switch strings.ToLower(src) {
			case "resource", "request", "principal", "environment":
			default:
				return nil, fmt.Errorf("unknown attribute source @%s", src)
			}
			name := s[i+open+1 : i+open+end]
			if name == "" {
				return nil, fmt.Errorf("empty attribute name at offset %d", i)
			}
			out = append(out, token{kind: tokAttr, src: src, text: name})
			i += open + end + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n(){},!&|'@", rune(s[j])) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
			}
			w := s[i:j]
			switch strings.ToUpper(w) {
			case "AND":
				out = append(out, token{kind: tokAnd})
			case "OR":
				out = append(out, token{kind: tokOr})
			case "NOT":
				out = append(out, token{kind: tokNot})
			default:
				out = append(out, token{kind: tokWord, text: w})
			}
			i = j
		}
	}
	return out, nil
}

// --- parser

type condParser struct {
	toks []token
	i    int
}

func (p *condParser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *condParser) expect(k tokKind, what string) (token, error) {
	t, ok := p.peek()
	if !ok {
		return t, fmt.Errorf("expected %s, found the end of the condition", what)
	}
	if t.kind != k {
		return t, fmt.Errorf("expected %s, found %s", what, t)
	}
	p.i++
	return t, nil
}

// expr parses a chain of operands joined by one kind of connective. Azure requires
// parentheses where AND and OR mix, so a mixed chain is an error, not a precedence guess.
func (p *condParser) expr(depth int) (condNode, error) {
	if depth > maxConditionDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxConditionDepth)
	}
	left, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	var conn tokKind
	for {
		t, ok := p.peek()
		if !ok || (t.kind != tokAnd && t.kind != tokOr) {
			return left, nil
		}
		if conn != 0 && t.kind != conn {
			return nil, errors.New("AND and OR are mixed without parentheses")
		}
		conn = t.kind
		p.i++
		right, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		if conn == tokAnd {
			left = &andNode{left, right}
		} else {
			left = &orNode{left, right}
		}
	}
}

func (p *condParser) unary(depth int) (condNode, error) {
	if depth > maxConditionDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxConditionDepth)
	}
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("unexpected end of the condition")
	}
	switch t.kind {
	case tokNot:
		p.i++
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	case tokLParen:
		p.i++
		x, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return x, nil
	case tokAttr:
		p.i++
		return p.comparison(t)
	case tokWord:
		p.i++
		switch strings.ToLower(t.text) {
		case "actionmatches", "suboperationmatches":
			if _, err := p.expect(tokLBrace, "'{'"); err != nil {
				return nil, err
			}
			s, err := p.expect(tokStr, "a quoted string")
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tokRBrace, "'}'"); err != nil {
				return nil, err
			}
			if strings.EqualFold(t.text, "ActionMatches") {
				return &actionMatchesNode{pattern: s.text}, nil
			}
			return &subOpNode{name: s.text}, nil
		case "exists", "notexists":
			a, err := p.expect(tokAttr, "an attribute")
			if err != nil {
				return nil, err
			}
			return &existsNode{attr: attrRef{src: a.src, name: a.text}, negate: strings.EqualFold(t.text, "NotExists")}, nil
		}
		return nil, fmt.Errorf("unsupported function or operand %s", t)
	}
	return nil, fmt.Errorf("unexpected %s", t)
}

// comparison parses "<attr> [SetOp:]Operator <operand>".
func (p *condParser) comparison(lhs token) (condNode, error) {
	opTok, err := p.expect(tokWord, "an operator")
	if err != nil {
		return nil, err
	}
	n := &compareNode{lhs: attrRef{src: lhs.src, name: lhs.text}}
	opName := opTok.text
	if set, rest, ok := strings.Cut(opName, ":"); ok {
		switch strings.ToLower(set) {
		case "foranyofanyvalues":
			n.set = setAnyAny
		case "forallofanyvalues":
			n.set = setAllAny
		case "foranyofallvalues":
			n.set = setAnyAll
		case "forallofallvalues":
			n.set = setAllAll
		default:
			return nil, fmt.Errorf("unsupported set operator %q", set)
		}
		opName = rest
	}
	op, ok := operators[strings.ToLower(opName)]
	if !ok {
		return nil, fmt.Errorf("unsupported operator %q", opName)
	}
	n.op = op
	t, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("operator %s has no operand", opName)
	}
	switch t.kind {
	case tokStr, tokWord:
		p.i++
		n.rhs = []string{t.text}
	case tokAttr:
		p.i++
		n.rhsAttr = &attrRef{src: t.src, name: t.text}
	case tokLBrace:
		p.i++
		for {
			v, ok := p.peek()
			if !ok || (v.kind != tokStr && v.kind != tokWord) {
				return nil, errors.New("expected a value in the set")
			}
			p.i++
			n.rhs = append(n.rhs, v.text)
			sep, err := p.expect2(tokComma, tokRBrace)
			if err != nil {
				return nil, err
			}
			if sep.kind == tokRBrace {
				break
			}
		}
	default:
		return nil, fmt.Errorf("operator %s has no operand", opName)
	}
	if n.set == setNone && len(n.rhs) > 1 {
		return nil, fmt.Errorf("operator %s compares with a set; prefix it with ForAnyOfAnyValues: or another set operator", opName)
	}
	// Reject values the operator can never accept now rather than fail every request later.
	for i, v := range n.rhs {
		pv, err := op.parse(v)
		if err != nil {
			return nil, fmt.Errorf("value %q for %s: %w", v, opName, err)
		}
		n.rhs[i] = pv
	}
	return n, nil
}

func (p *condParser) expect2(a, b tokKind) (token, error) {
	t, ok := p.peek()
	if !ok || (t.kind != a && t.kind != b) {
		return t, errors.New("expected ',' or '}' in the set")
	}
	p.i++
	return t, nil
}

// --- operators

type operator struct {
	name   string
	negate bool
	// parse checks a literal value and returns it in the form cmp compares.
	parse func(string) (string, error)
	// cmp compares two parsed values.
	cmp func(a, b string) (bool, error)
}

type setOp uint8

const (
	setNone setOp = iota
	setAnyAny
	setAllAny
	setAnyAll
	setAllAll
)

var operators = func() map[string]operator {
	m := map[string]operator{}
	add := func(name string, negName string, parse func(string) (string, error), cmp func(a, b string) (bool, error)) {
		m[strings.ToLower(name)] = operator{name: name, parse: parse, cmp: cmp}
		if negName != "" {
			m[strings.ToLower(negName)] = operator{name: negName, negate: true, parse: parse, cmp: cmp}
		}
	}
	str := func(s string) (string, error) { return s, nil }
	fold := func(s string) (string, error) { return strings.ToLower(s), nil }
	eq := func(a, b string) (bool, error) { return a == b, nil }
	prefix := func(a, b string) (bool, error) { return strings.HasPrefix(a, b), nil }
	like := func(a, b string) (bool, error) { return stringLike(b, a), nil }
	add("StringEquals", "StringNotEquals", str, eq)
	add("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", fold, eq)
	add("StringStartsWith", "StringNotStartsWith", str, prefix)
	add("StringStartsWithIgnoreCase", "StringNotStartsWithIgnoreCase", fold, prefix)
	add("StringLike", "StringNotLike", str, like)
	add("StringLikeIgnoreCase", "StringNotLikeIgnoreCase", fold, like)
	add("GuidEquals", "GuidNotEquals", parseGUID, eq)
	add("BoolEquals", "BoolNotEquals", parseBool, eq)
	num := func(test func(a, b int64) bool) func(a, b string) (bool, error) {
		return func(a, b string) (bool, error) {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return test(x, y), nil
		}
	}
	add("NumericEquals", "NumericNotEquals", parseInt, num(func(a, b int64) bool { return a == b }))
	add("NumericGreaterThan", "", parseInt, num(func(a, b int64) bool { return a > b }))
	add("NumericGreaterThanEquals", "", parseInt, num(func(a, b int64) bool { return a >= b }))
	add("NumericLessThan", "", parseInt, num(func(a, b int64) bool { return a < b }))
	add("NumericLessThanEquals", "", parseInt, num(func(a, b int64) bool { return a <= b }))
	dt := func(test func(a, b time.Time) bool) func(a, b string) (bool, error) {
		return func(a, b string) (bool, error) {
			x, _ := time.Parse(time.RFC3339Nano, a)
			y, _ := time.Parse(time.RFC3339Nano, b)
			return test(x, y), nil
		}
	}
	add("DateTimeEquals", "DateTimeNotEquals", parseDateTime, dt(time.Time.Equal))
	add("DateTimeGreaterThan", "", parseDateTime, dt(time.Time.After))
	add("DateTimeGreaterThanEquals", "", parseDateTime, dt(func(a, b time.Time) bool { return !a.Before(b) }))
	add("DateTimeLessThan", "", parseDateTime, dt(time.Time.Before))
	add("DateTimeLessThanEquals", "", parseDateTime, dt(func(a, b time.Time) bool { return !a.After(b) }))
	return m
}()

// parseGUID accepts a GUID with or without dashes (built-in conditions use both) and
// returns its 32 lower-case hex digits.
func parseGUID(s string) (string, error) {
	h := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	if len(h) != 32 {
		return "", errors.New("not a GUID")
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", errors.New("not a GUID")
		}
	}
	return h, nil
}

func parseBool(s string) (string, error) {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return "", errors.New("not a boolean")
	}
	return strconv.FormatBool(b), nil
}

func parseInt(s string) (string, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", errors.New("not an integer")
	}
	return strconv.FormatInt(n, 10), nil
}

func parseDateTime(s string) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", errors.New("not a date-time (yyyy-mm-ddThh:mm:ss.fffffffZ)")
	}
	return t.UTC().Format(time.RFC3339Nano), nil
}

// stringLike matches s against a StringLike pattern: '*' any run, '?' one character,
// '\*' and '\?' the characters themselves.
func stringLike(pattern, s string) bool {
	type item struct {
		r   rune
		any bool // '*'
		one bool // '?'
	}
	var pat []item
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch {
		case r == '\\' && i < len(pattern) && (pattern[i] == '*' || pattern[i] == '?'):
			pat = append(pat, item{r: rune(pattern[i])})
			i++
		case r == '*':
			pat = append(pat, item{any: true})
		case r == '?':
			pat = append(pat, item{one: true})
		default:
			pat = append(pat, item{r: r})
		}
	}
	str := []rune(s)
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(pat) && pat[pi].any:
			star, mark = pi, si
			pi++
		case pi < len(pat) && (pat[pi].one || pat[pi].r == str[si]):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi].any {
		pi++
	}
	return pi == len(pat)
}

// --- nodes

type andNode struct{ l, r condNode }

func (n *andNode) eval(env *condEnv) (bool, error) {
	l, err := n.l.eval(env)
	if err != nil || !l {
		return false, err
	}
	return n.r.eval(env)
}

type orNode struct{ l, r condNode }

// An unevaluable side does not sink an OR the other side makes true: the result is known
// without it. Otherwise the error stands and the assignment fails closed.
func (n *orNode) eval(env *condEnv) (bool, error) {
	l, lerr := n.l.eval(env)
	if lerr == nil && l {
		return true, nil
	}
	r, rerr := n.r.eval(env)
	if rerr == nil && r {
		return true, nil
	}
	if lerr != nil {
		return false, lerr
	}
	return false, rerr
}

type notNode struct{ x condNode }

func (n *notNode) eval(env *condEnv) (bool, error) {
	v, err := n.x.eval(env)
	if err != nil {
		return false, err
	}
	return !v, nil
}

type actionMatchesNode struct{ pattern string }

func (n *actionMatchesNode) eval(env *condEnv) (bool, error) {
	return MatchAction(n.pattern, env.req.Action), nil
}

type subOpNode struct{ name string }

func (n *subOpNode) eval(env *condEnv) (bool, error) {
	return env.req.SubOperation != "" && strings.EqualFold(env.req.SubOperation, n.name), nil
}

type attrRef struct{ src, name string }

func (a attrRef) String() string { return "@" + a.src + "[" + a.name + "]" }

type existsNode struct {
	attr   attrRef
	negate bool
}

func (n *existsNode) eval(env *condEnv) (bool, error) {
	vs, err := env.lookup(n.attr)
	if err != nil {
		return false, err
	}
	return (len(vs) > 0) != n.negate, nil
}

type compareNode struct {
	lhs     attrRef
	set     setOp
	op      operator
	rhs     []string // literals in parsed form, or nil when rhsAttr is set
	rhsAttr *attrRef
}

func (n *compareNode) eval(env *condEnv) (bool, error) {
	lhs, err := env.lookup(n.lhs)
	if err != nil {
		return false, err
	}
	lv, err := parseAll(n.op, lhs)
	if err != nil {
		return false, fmt.Errorf("%s: %w", n.lhs, err)
	}
	rv := n.rhs // parsed when compiled
	if n.rhsAttr != nil {
		vs, err := env.lookup(*n.rhsAttr)
		if err != nil {
			return false, err
		}
		if rv, err = parseAll(n.op, vs); err != nil {
			return false, fmt.Errorf("%s: %w", *n.rhsAttr, err)
		}
	}
	pair := func(a, b string) (bool, error) {
		v, err := n.op.cmp(a, b)
		return v != n.op.negate, err
	}
	switch n.set {
	case setNone:
		if len(lv) > 1 || len(rv) > 1 {
			return false, fmt.Errorf("%s has several values; the condition needs a set operator", n.lhs)
		}
		if len(lv) == 0 || len(rv) == 0 {
			// An absent attribute satisfies no positive comparison, so its negation holds.
			return n.op.negate, nil
		}
		return pair(lv[0], rv[0])
	case setAnyAny, setAnyAll:
		for _, a := range lv {
			ok, err := quantify(n.set == setAnyAll, a, rv, pair)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	default: // setAllAny, setAllAll
		for _, a := range lv {
			ok, err := quantify(n.set == setAllAll, a, rv, pair)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
}

// quantify applies pair to a and each of bs: all of them when all is set, else any.
func quantify(all bool, a string, bs []string, pair func(a, b string) (bool, error)) (bool, error) {
	for _, b := range bs {
		ok, err := pair(a, b)
		if err != nil {
			return false, err
		}
		if ok != all {
			return ok, nil
		}
	}
	return all, nil
}

func parseAll(op operator, vs []string) ([]string, error) {
	out := make([]string, len(vs))
	for i, v := range vs {
		p, err := op.parse(v)
		if err != nil {
			return nil, fmt.Errorf("value %q for %s: %w", v, op.name, err)
		}
		out[i] = p
	}
	return out, nil
}

// --- attributes

// condEnv is what a condition is evaluated against: the request and attributes derived
// from its scope.
type condEnv struct {
	req *Request
}

// Resource attributes Lanyard derives from the resource scope itself.
const (
	attrContainerName = "Microsoft.Storage/storageAccounts/blobServices/containers:name"
	attrBlobPath      = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path"
	attrQueueName     = "Microsoft.Storage/storageAccounts/queueServices/queues:name"
)

func (e *condEnv) lookup(a attrRef) ([]string, error) {
	if strings.EqualFold(a.src, "Resource") {
		var v string
		var ok bool
		switch {
		case strings.EqualFold(a.name, attrContainerName):
			v, ok = scopeChild(e.req.Scope, "blobServices", "containers")
		case strings.EqualFold(a.name, attrBlobPath):
			v, ok = blobPath(e.req.Scope)
		case strings.EqualFold(a.name, attrQueueName):
			v, ok = scopeChild(e.req.Scope, "queueServices", "queues")
		}
		if ok {
			return []string{v}, nil
		}
	}
	if e.req.Attributes != nil {
		if vs, ok := e.req.Attributes(a.src, a.name); ok {
			return vs, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", a, errUnevaluable)
}

// scopeChild finds ".../{service}/{x}/{kind}/{name}" in a storage scope and returns name.
func scopeChild(scope, service, kind string) (string, bool) {
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	for i := 0; i+3 < len(segs); i++ {
		if strings.EqualFold(segs[i], service) && strings.EqualFold(segs[i+2], kind) {
			return segs[i+3], true
		}
	}
	return "", false
}

// blobPath returns the blob path of a blob scope: everything after
// ".../blobServices/{x}/containers/{c}/blobs/". Blob paths may contain '/'.
func blobPath(scope string) (string, bool) {
	segs := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	for i := 0; i+5 < len(segs); i++ {
		if strings.EqualFold(segs[i], "blobServices") && strings.EqualFold(segs[i+2], "containers") && strings.EqualFold(segs[i+4], "blobs") {
			p := strings.Join(segs[i+5:], "/")
			return p, p != ""
		}
	}
	return "", false
}
