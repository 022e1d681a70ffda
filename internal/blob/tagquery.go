package blob

import (
	"errors"
	"fmt"
	"strings"
)

// This file parses the where-expressions of blob index tags: Find Blobs by Tags' `where`
// parameter (comparisons joined by AND, with an optional @container clause) and the
// x-ms-if-tags conditional header (comparisons, <> too, joined by AND and OR with
// parentheses). Keys are bare (letters, digits and _ + - . / :) or "double-quoted";
// values are 'single-quoted'. Comparisons are bytewise on strings, and a comparison on a
// key the blob has no tag for is false, as in Azure.

// Limits of a where-expression: a Find's, and an x-ms-if-tags condition's, which Azure
// lets run to about a thousand comparisons (a condition is checked against one blob's
// tags, a Find against an index).
const (
	MaxTagQueryLength          = 4096
	MaxTagQueryComparisons     = 20
	MaxTagConditionLength      = 32 << 10
	MaxTagConditionComparisons = 1000
	maxTagQueryDepth           = 16
)

// TagOp is a comparison operator.
type TagOp string

// Comparison operators.
const (
	TagEq TagOp = "="
	TagNe TagOp = "<>"
	TagGt TagOp = ">"
	TagGe TagOp = ">="
	TagLt TagOp = "<"
	TagLe TagOp = "<="
)

// TagComparison is one `key op 'value'` of an expression.
type TagComparison struct {
	Key   string
	Op    TagOp
	Value string
}

func (c TagComparison) match(t Tags) bool {
	v, ok := t[c.Key]
	if !ok {
		return false
	}
	switch c.Op {
	case TagEq:
		return v == c.Value
	case TagNe:
		return v != c.Value
	case TagGt:
		return v > c.Value
	case TagGe:
		return v >= c.Value
	case TagLt:
		return v < c.Value
	default: // TagLe
		return v <= c.Value
	}
}

// TagQuery is a parsed where-expression.
type TagQuery struct {
	// Container restricts a Find to one container: the @container clause, or the
	// container a container-scoped Find addresses. "" for the whole account.
	Container string
	// Comparisons are every comparison of the expression; in a Find expression they are
	// all joined by AND.
	Comparisons []TagComparison
	root        tagExpr
}

// Match reports whether tags satisfy the expression (the @container clause aside).
func (q *TagQuery) Match(t Tags) bool { return q.root.match(t) }

// TagSeek is the part of a Find expression an index can look up: the range of values of
// one key that every match has. Hi is unbounded when HasHi is false.
type TagSeek struct {
	Key           string
	Lo            string
	LoIncl        bool
	Hi            string
	HiIncl, HasHi bool
	Exact         bool // Lo == Hi, both inclusive: one value
}

// Seek returns the index lookup for a Find expression: on the key of its first equality,
// else of its first comparison, bounded by every comparison on that key.
func (q *TagQuery) Seek() TagSeek {
	key := q.Comparisons[0].Key
	for _, c := range q.Comparisons {
		if c.Op == TagEq {
			key = c.Key
			break
		}
	}
	s := TagSeek{Key: key, LoIncl: true}
	for _, c := range q.Comparisons {
		if c.Key != key {
			continue
		}
		switch c.Op {
		case TagEq:
			s.tightenLo(c.Value, true)
			s.tightenHi(c.Value, true)
		case TagGt, TagGe:
			s.tightenLo(c.Value, c.Op == TagGe)
		case TagLt, TagLe:
			s.tightenHi(c.Value, c.Op == TagLe)
		}
	}
	s.Exact = s.HasHi && s.LoIncl && s.HiIncl && s.Lo == s.Hi
	return s
}

func (s *TagSeek) tightenLo(v string, incl bool) {
	if v > s.Lo || v == s.Lo && !incl {
		s.Lo, s.LoIncl = v, incl
	}
}

func (s *TagSeek) tightenHi(v string, incl bool) {
	if !s.HasHi || v < s.Hi || v == s.Hi && !incl {
		s.Hi, s.HiIncl, s.HasHi = v, incl, true
	}
}

// InRange reports whether v lies in the seek's range.
func (s TagSeek) InRange(v string) bool {
	if v < s.Lo || v == s.Lo && !s.LoIncl {
		return false
	}
	return !s.HasHi || v < s.Hi || v == s.Hi && s.HiIncl
}

// ParseFindQuery parses Find Blobs by Tags' where parameter. At container scope
// (container != "") the query is restricted to container, and an @container clause may
// only name that container (the request was authorized for it alone).
func ParseFindQuery(s, container string) (*TagQuery, error) {
	q, err := parseTagExpr(s, true)
	if pe := (*tagParseError)(nil); errors.As(err, &pe) {
		return nil, errInvalid(CodeInvalidQueryValue, "Error parsing query %v.", err)
	}
	if err != nil {
		return nil, errInvalid(CodeInvalidQueryValue, "Error parsing query: %v.", err)
	}
	if container != "" {
		if q.Container != "" && q.Container != container {
			return nil, errInvalid(CodeInvalidQueryValue, "Error parsing query: @container names another container than the one searched.")
		}
		q.Container = container
	}
	return q, nil
}

// ParseTagCondition parses x-ms-if-tags; "" is no condition (nil).
func ParseTagCondition(s string) (*TagQuery, error) {
	if s == "" {
		return nil, nil
	}
	q, err := parseTagExpr(s, false)
	if err != nil {
		return nil, errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format. Header: x-ms-if-tags, %v.", err)
	}
	return q, nil
}

// --- expression tree

type tagExpr interface{ match(Tags) bool }

type tagAnd []tagExpr
type tagOr []tagExpr
type tagLeaf TagComparison
type tagTrue struct{} // the @container clause, checked apart

func (a tagAnd) match(t Tags) bool {
	for _, e := range a {
		if !e.match(t) {
			return false
		}
	}
	return true
}

func (o tagOr) match(t Tags) bool {
	for _, e := range o {
		if e.match(t) {
			return true
		}
	}
	return false
}

func (l tagLeaf) match(t Tags) bool { return TagComparison(l).match(t) }
func (tagTrue) match(Tags) bool     { return true }

// --- parser

type tagParser struct {
	s              string
	i              int
	find           bool
	maxComparisons int
	q              *TagQuery
}

// maxFindTags is Azure's limit on the distinct tag keys one Find expression names.
const maxFindTags = 10

func parseTagExpr(s string, find bool) (*TagQuery, error) {
	maxLen, maxComparisons := MaxTagConditionLength, MaxTagConditionComparisons
	if find {
		maxLen, maxComparisons = MaxTagQueryLength, MaxTagQueryComparisons
	}
	if len(s) > maxLen {
		return nil, fmt.Errorf("longer than %d characters", maxLen)
	}
	p := &tagParser{s: s, find: find, q: &TagQuery{}, maxComparisons: maxComparisons}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.skip(); p.i < len(p.s) {
		return nil, p.fail(p.i, "unexpected %q", p.s[p.i])
	}
	if len(p.q.Comparisons) == 0 {
		return nil, fmt.Errorf("no tag comparison")
	}
	keys := map[string]bool{}
	for _, c := range p.q.Comparisons {
		keys[c.Key] = true
	}
	if find && len(keys) > maxFindTags {
		return nil, fmt.Errorf("there can be at most %d unique tags in a query", maxFindTags)
	}
	p.q.root = root
	return p.q, nil
}

// tagParseError is a where-expression that does not parse: what is wrong, and where.
type tagParseError struct {
	pos    int
	reason string
}

func (e *tagParseError) Error() string {
	return fmt.Sprintf("at or near character position %d: %s", e.pos, e.reason)
}

func (p *tagParser) fail(pos int, format string, args ...any) error {
	return &tagParseError{pos: pos, reason: fmt.Sprintf(format, args...)}
}

// checkText checks a key (key) or a value of the expression at pos, with the reasons
// Azure gives. Only a Find holds keys and values to a tag's lengths: in a condition, a
// longer one is a comparison no tag satisfies (x-ms-if-tags then fails with 412, as in
// Azure), not a malformed header.
func (p *tagParser) checkText(pos int, s string, key bool) error {
	switch {
	case key && s == "", key && p.find && len(s) > MaxTagKeyLength:
		return p.fail(pos, "tag must be between 1 and %d characters in length", MaxTagKeyLength)
	case !key && p.find && len(s) > MaxTagValueLen:
		return p.fail(pos, "tag value must be between 0 and %d characters in length", MaxTagValueLen)
	}
	for i := 0; i < len(s); i++ {
		if !tagChar(s[i]) {
			return p.fail(pos+1+i, "'%c' not permitted in tag name or value", s[i])
		}
	}
	return nil
}

func (p *tagParser) skip() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// keyword consumes AND or OR (case-insensitive) followed by a space or '(' .
func (p *tagParser) keyword(w string) bool {
	p.skip()
	end := p.i + len(w)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], w) {
		return false
	}
	if end < len(p.s) && p.s[end] != ' ' && p.s[end] != '(' && p.s[end] != '"' && p.s[end] != '@' {
		return false
	}
	p.i = end
	return true
}

func (p *tagParser) or(depth int) (tagExpr, error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	terms := tagOr{first}
	for p.keyword("OR") {
		if p.find {
			return nil, p.fail(p.i, "OR is not supported")
		}
		e, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return terms, nil
}

func (p *tagParser) and(depth int) (tagExpr, error) {
	first, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	terms := tagAnd{first}
	for p.keyword("AND") {
		e, err := p.primary(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return terms, nil
}

func (p *tagParser) primary(depth int) (tagExpr, error) {
	p.skip()
	if p.i >= len(p.s) {
		return nil, p.fail(p.i, "unexpected end of expression")
	}
	if p.s[p.i] == '(' {
		if p.find {
			return nil, p.fail(p.i, "parentheses are not supported")
		}
		if depth >= maxTagQueryDepth {
			return nil, p.fail(p.i, "nested deeper than %d", maxTagQueryDepth)
		}
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.skip(); p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, p.fail(p.i, "missing ')'")
		}
		p.i++
		return e, nil
	}
	if p.s[p.i] == '@' {
		return p.containerClause()
	}
	key, err := p.key()
	if err != nil {
		return nil, err
	}
	op, err := p.op()
	if err != nil {
		return nil, err
	}
	val, err := p.value()
	if err != nil {
		return nil, err
	}
	if len(p.q.Comparisons) == p.maxComparisons {
		return nil, p.fail(p.i, "more than %d comparisons", p.maxComparisons)
	}
	c := TagComparison{Key: key, Op: op, Value: val}
	p.q.Comparisons = append(p.q.Comparisons, c)
	return tagLeaf(c), nil
}

func (p *tagParser) containerClause() (tagExpr, error) {
	start := p.i
	p.i++
	for p.i < len(p.s) && tagChar(p.s[p.i]) && p.s[p.i] != ' ' && p.s[p.i] != '=' {
		p.i++
	}
	if !p.find || !strings.EqualFold(p.s[start:p.i], "@container") {
		return nil, p.fail(start, "unsupported parameter")
	}
	if op, err := p.op(); err != nil || op != TagEq {
		return nil, p.fail(p.i, "@container takes only '='")
	}
	name, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.q.Container != "" {
		return nil, p.fail(p.i, "@container given twice")
	}
	if ValidateContainerName(name) != nil {
		return nil, p.fail(p.i, "invalid container name %q", name)
	}
	p.q.Container = name
	return tagTrue{}, nil
}

func (p *tagParser) key() (string, error) {
	p.skip()
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '"' {
		end := strings.IndexByte(p.s[p.i+1:], '"')
		if end < 0 {
			return "", p.fail(start, "unterminated key")
		}
		k := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		return k, p.checkText(start, k, true)
	}
	// An unquoted key is letters, digits and '_'; any other character needs the quotes.
	for p.i < len(p.s) && bareKeyChar(p.s[p.i]) {
		p.i++
	}
	if p.i < len(p.s) && strings.IndexByte(" <>=", p.s[p.i]) < 0 {
		return "", p.fail(p.i, "'%c' not permitted in tag name or value", p.s[p.i])
	}
	k := p.s[start:p.i]
	return k, p.checkText(start, k, true)
}

func bareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func (p *tagParser) op() (TagOp, error) {
	p.skip()
	rest := p.s[p.i:]
	for _, op := range []TagOp{TagNe, TagGe, TagLe, TagEq, TagGt, TagLt} {
		if strings.HasPrefix(rest, string(op)) {
			if op == TagNe && p.find {
				return "", p.fail(p.i, "'<>' is not supported")
			}
			p.i += len(op)
			return op, nil
		}
	}
	return "", p.fail(p.i, "expected an operator")
}

func (p *tagParser) value() (string, error) {
	p.skip()
	start := p.i
	if p.i >= len(p.s) || p.s[p.i] != '\'' {
		return "", p.fail(start, "expected a 'quoted' value")
	}
	end := strings.IndexByte(p.s[p.i+1:], '\'')
	if end < 0 {
		return "", p.fail(start, "unterminated value")
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, p.checkText(start, v, false)
}
