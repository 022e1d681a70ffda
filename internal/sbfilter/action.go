package sbfilter

// Action is a parsed SQL rule action: SET and REMOVE statements, run in order on a
// message the rule's filter selected.
type Action struct {
	expr  string
	steps []step
}

// step is one statement: SET target = value, or REMOVE target when value is nil.
type step struct {
	target propertyNode
	value  node
}

// ParseAction parses a SQL rule action: statements "SET property = expression" and
// "REMOVE property", each optionally ended by a semicolon. System properties that the
// broker owns (sys.SequenceNumber, sys.EnqueuedTimeUtc, ...) cannot be changed.
func ParseAction(expr string) (*Action, error) {
	p, err := newParser(expr)
	if err != nil {
		return nil, err
	}
	a := &Action{expr: expr}
	for p.peek().kind != tokEOF {
		t := p.next()
		set := t.keyword("set")
		if !set && !t.keyword("remove") {
			return nil, p.unexpected(t, "SET or REMOVE")
		}
		targetTok := p.peek()
		target, err := p.property()
		if err != nil {
			return nil, err
		}
		if target.sys != nil && target.sys.set == nil {
			return nil, p.errorAt(targetTok, "The system property 'sys.%s' cannot be changed by an action.", target.sys.name)
		}
		s := step{target: target}
		if set {
			if err := p.expectOp("="); err != nil {
				return nil, err
			}
			if s.value, err = p.value(); err != nil {
				return nil, err
			}
		}
		a.steps = append(a.steps, s)
		if p.peek().op(";") {
			p.next()
		}
	}
	if len(a.steps) == 0 {
		return nil, p.unexpected(p.peek(), "SET or REMOVE")
	}
	return a, nil
}

// String returns the expression as written.
func (a *Action) String() string { return a.expr }

// Apply runs the action on m. Each statement sees what the ones before it did. If a
// statement cannot be evaluated (an *EvalError), m is left as it was.
func (a *Action) Apply(m *Properties) error {
	out := m.clone()
	for _, s := range a.steps {
		if err := s.run(&out); err != nil {
			return err
		}
	}
	*m = out
	return nil
}

func (s step) run(m *Properties) error {
	var v any
	if s.value != nil {
		var err error
		if v, err = s.value.eval(m); err != nil {
			return err
		}
	}
	if sp := s.target.sys; sp != nil {
		str, ok := v.(string)
		if v != nil && !ok {
			return evalErrorf("sys.%s is a string; it cannot be set to %s", sp.name, typeName(v))
		}
		sp.set(&m.System, str) // REMOVE, or SET to NULL, unsets it
		return nil
	}
	key, exists := userKey(m.User, s.target.name)
	if s.value == nil {
		if exists {
			delete(m.User, key)
		}
		return nil
	}
	if !exists {
		key = s.target.name
	} else if _, wasDouble := normalize(m.User[key]).(float64); wasDouble {
		// SET converts implicitly where it can: a long stored into a double stays a double.
		if n, ok := v.(int64); ok {
			v = float64(n)
		}
	}
	if m.User == nil {
		m.User = map[string]any{}
	}
	m.User[key] = v
	return nil
}
