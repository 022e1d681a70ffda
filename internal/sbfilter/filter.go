package sbfilter

// The expressions of Azure's TrueFilter and FalseFilter: a rule with one is a SQL filter
// with this expression.
const (
	TrueFilter  = "1=1"
	FalseFilter = "1=0"
)

// Filter is a parsed SQL filter.
type Filter struct {
	expr string
	root node
}

// ParseFilter parses a SQL filter expression. It refuses what Service Bus refuses at rule
// creation, with a *ParseError: bad syntax, a value where a condition belongs, an unknown
// sys.* property or function, an expression over MaxExpressionLength characters.
func ParseFilter(expr string) (*Filter, error) {
	p, err := newParser(expr)
	if err != nil {
		return nil, err
	}
	root, err := p.predicate()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t, "AND, OR or the end of the expression")
	}
	return &Filter{expr: expr, root: root}, nil
}

// String returns the expression as written.
func (f *Filter) String() string { return f.expr }

// Eval reports whether the filter selects the message. A condition that is false or
// unknown (a missing property, NULL) selects nothing. The error, an *EvalError, is the
// filter exception Azure raises when operands have types the operator does not take.
func (f *Filter) Eval(m Properties) (bool, error) {
	v, err := f.root.eval(&m)
	if err != nil {
		return false, err
	}
	return v == true, nil
}

// Match reports whether the filter selects the message; a filter that cannot be
// evaluated for it selects nothing.
func (f *Filter) Match(m Properties) bool {
	ok, err := f.Eval(m)
	return ok && err == nil
}
