package sbfilter

import (
	"crypto/rand"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// node is a parsed expression. eval yields a value, or for a predicate true, false or nil
// (unknown). A missing property, or NULL, is nil too: SQL's unknown.
type node interface {
	eval(m *Properties) (any, error)
}

type literalNode struct{ v any }

func (n literalNode) eval(*Properties) (any, error) { return n.v, nil }

// propertyNode is a property: a system one when sys is set, else a user one.
type propertyNode struct {
	name string
	sys  *sysProp
}

func (n propertyNode) eval(m *Properties) (any, error) {
	v, _ := n.lookup(m)
	return v, nil
}

// lookup returns the property's value and whether it exists.
func (n propertyNode) lookup(m *Properties) (any, bool) {
	if n.sys != nil {
		v := n.sys.get(&m.System)
		return v, v != nil
	}
	k, ok := userKey(m.User, n.name)
	if !ok {
		return nil, false
	}
	return normalize(m.User[k]), true
}

// propertyFuncNode is property(name) with a name computed per message.
type propertyFuncNode struct{ name node }

func (n propertyFuncNode) resolve(m *Properties) (propertyNode, bool, error) {
	v, err := n.name.eval(m)
	if err != nil || v == nil {
		return propertyNode{}, false, err
	}
	s, ok := v.(string)
	if !ok {
		return propertyNode{}, false, evalErrorf("property() takes a string, not %s", typeName(v))
	}
	ref, err := propertyByName(s)
	return ref, err == nil, err
}

func (n propertyFuncNode) eval(m *Properties) (any, error) {
	ref, ok, err := n.resolve(m)
	if !ok {
		return nil, err
	}
	return ref.eval(m)
}

type newIDNode struct{}

func (newIDNode) eval(*Properties) (any, error) { return newID(), nil }

// newID returns a random (version 4) UUID, as .NET's Guid.NewGuid formats it.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type unaryNode struct {
	op byte
	x  node
}

func (n unaryNode) eval(m *Properties) (any, error) {
	v, err := n.x.eval(m)
	if err != nil || v == nil {
		return nil, err
	}
	return negate(n.op, v)
}

func negate(op byte, v any) (any, error) {
	switch x := v.(type) {
	case int64:
		if op == '-' {
			return -x, nil
		}
		return x, nil
	case float64:
		if op == '-' {
			return -x, nil
		}
		return x, nil
	case time.Duration:
		if op == '-' {
			return -x, nil
		}
		return x, nil
	}
	return nil, evalErrorf("operator '%c' cannot be applied to %s", op, typeName(v))
}

type arithNode struct {
	op   byte
	l, r node
}

func (n arithNode) eval(m *Properties) (any, error) {
	l, err := n.l.eval(m)
	if err != nil {
		return nil, err
	}
	r, err := n.r.eval(m)
	if err != nil || l == nil || r == nil {
		return nil, err
	}
	return arith(n.op, l, r)
}

// arith applies + - * / % as C# binds them: long with long stays long, a double makes
// both doubles, + joins strings, and date-times add and subtract time spans.
func arith(op byte, l, r any) (any, error) {
	if op == '+' {
		ls, lok := l.(string)
		rs, rok := r.(string)
		if lok || rok {
			if (lok || isScalar(l)) && (rok || isScalar(r)) {
				if !lok {
					ls = text(l)
				}
				if !rok {
					rs = text(r)
				}
				return ls + rs, nil
			}
		}
	}
	switch x := l.(type) {
	case int64:
		switch y := r.(type) {
		case int64:
			return arithLong(op, x, y)
		case float64:
			return arithDouble(op, float64(x), y), nil
		}
	case float64:
		switch y := r.(type) {
		case int64:
			return arithDouble(op, x, float64(y)), nil
		case float64:
			return arithDouble(op, x, y), nil
		}
	case time.Time:
		switch y := r.(type) {
		case time.Duration:
			switch op {
			case '+':
				return x.Add(y), nil
			case '-':
				return x.Add(-y), nil
			}
		case time.Time:
			if op == '-' {
				return x.Sub(y), nil
			}
		}
	case time.Duration:
		switch y := r.(type) {
		case time.Duration:
			switch op {
			case '+':
				return x + y, nil
			case '-':
				return x - y, nil
			}
		case time.Time:
			if op == '+' {
				return y.Add(x), nil
			}
		}
	}
	return nil, evalErrorf("operator '%c' cannot be applied to operands of type %s and %s", op, typeName(l), typeName(r))
}

func arithLong(op byte, x, y int64) (any, error) {
	switch op {
	case '+':
		return x + y, nil
	case '-':
		return x - y, nil
	case '*':
		return x * y, nil
	}
	if y == 0 {
		return nil, evalErrorf("attempted to divide by zero")
	}
	if x == math.MinInt64 && y == -1 {
		return nil, evalErrorf("arithmetic operation resulted in an overflow")
	}
	if op == '/' {
		return x / y, nil
	}
	return x % y, nil
}

func arithDouble(op byte, x, y float64) float64 {
	switch op {
	case '+':
		return x + y
	case '-':
		return x - y
	case '*':
		return x * y
	case '/':
		return x / y
	}
	return math.Mod(x, y)
}

func isScalar(v any) bool {
	switch v.(type) {
	case int64, float64, bool:
		return true
	}
	return false
}

// text formats a number or boolean as C# does when + joins it to a string.
func text(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'G', -1, 64)
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

type cmpOp int

const (
	cmpEq cmpOp = iota
	cmpNe
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

func (o cmpOp) String() string {
	return [...]string{"=", "<>", "<", "<=", ">", ">="}[o]
}

type compareNode struct {
	op   cmpOp
	l, r node
}

func (n compareNode) eval(m *Properties) (any, error) {
	l, err := n.l.eval(m)
	if err != nil {
		return nil, err
	}
	r, err := n.r.eval(m)
	if err != nil || l == nil || r == nil {
		return nil, err
	}
	return compare(n.op, l, r)
}

// compare compares two non-NULL values as C# binds the operator: numbers across long
// and double, strings ordinally and case-sensitively (= and <> only, as C# has no
// ordering of strings), booleans for (in)equality, date-times and time spans fully.
// Other pairs are an evaluation error.
func compare(op cmpOp, l, r any) (any, error) {
	order := func(c int) bool {
		switch op {
		case cmpEq:
			return c == 0
		case cmpNe:
			return c != 0
		case cmpLt:
			return c < 0
		case cmpLe:
			return c <= 0
		case cmpGt:
			return c > 0
		}
		return c >= 0
	}
	equality := op == cmpEq || op == cmpNe
	switch x := l.(type) {
	case int64:
		switch y := r.(type) {
		case int64:
			return order(cmp3(x, y)), nil
		case float64:
			return compareDouble(op, float64(x), y), nil
		}
	case float64:
		switch y := r.(type) {
		case int64:
			return compareDouble(op, x, float64(y)), nil
		case float64:
			return compareDouble(op, x, y), nil
		}
	case string:
		if y, ok := r.(string); ok && equality {
			return order(cmp3(x, y)), nil
		}
	case bool:
		if y, ok := r.(bool); ok && equality {
			return (x == y) == (op == cmpEq), nil
		}
	case time.Time:
		if y, ok := r.(time.Time); ok {
			return order(x.Compare(y)), nil
		}
	case time.Duration:
		if y, ok := r.(time.Duration); ok {
			return order(cmp3(x, y)), nil
		}
	}
	return nil, evalErrorf("operator '%s' cannot be applied to operands of type %s and %s", op, typeName(l), typeName(r))
}

// compareDouble follows IEEE: NaN is unequal to everything, itself included.
func compareDouble(op cmpOp, x, y float64) bool {
	switch op {
	case cmpEq:
		return x == y
	case cmpNe:
		return x != y
	case cmpLt:
		return x < y
	case cmpLe:
		return x <= y
	case cmpGt:
		return x > y
	}
	return x >= y
}

func cmp3[T int64 | string | time.Duration](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

type isNullNode struct {
	x   node
	not bool
}

func (n isNullNode) eval(m *Properties) (any, error) {
	v, err := n.x.eval(m)
	if err != nil {
		return nil, err
	}
	return (v == nil) != n.not, nil
}

type existsNode struct{ ref propertyNode }

func (n existsNode) eval(m *Properties) (any, error) {
	_, ok := n.ref.lookup(m)
	return ok, nil
}

type inNode struct {
	x    node
	list []node
	not  bool
}

// eval: an unknown left side is unknown; NULLs in the list match nothing.
func (n inNode) eval(m *Properties) (any, error) {
	v, err := n.x.eval(m)
	if err != nil || v == nil {
		return nil, err
	}
	for _, item := range n.list {
		w, err := item.eval(m)
		if err != nil {
			return nil, err
		}
		if w == nil {
			continue
		}
		eq, err := compare(cmpEq, v, w)
		if err != nil {
			return nil, err
		}
		if eq == true {
			return !n.not, nil
		}
	}
	return n.not, nil
}

type likeNode struct {
	x, pattern, escape node
	not                bool
}

func (n likeNode) eval(m *Properties) (any, error) {
	operands := [3]any{}
	for i, o := range []node{n.x, n.pattern, n.escape} {
		if o == nil {
			continue
		}
		v, err := o.eval(m)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, nil
		}
		if _, ok := v.(string); !ok {
			return nil, evalErrorf("LIKE works on strings, not %s", typeName(v))
		}
		operands[i] = v
	}
	escape := rune(-1)
	if e, ok := operands[2].(string); ok {
		if utf8.RuneCountInString(e) != 1 {
			return nil, evalErrorf("the ESCAPE character must be one character, not %q", e)
		}
		escape, _ = utf8.DecodeRuneInString(e)
	}
	matched, err := like(operands[0].(string), operands[1].(string), escape)
	if err != nil {
		return nil, err
	}
	return matched != n.not, nil
}

type notNode struct{ x node }

func (n notNode) eval(m *Properties) (any, error) {
	v, err := n.x.eval(m)
	if err != nil || v == nil {
		return nil, err
	}
	b, ok := v.(bool)
	if !ok {
		return nil, evalErrorf("NOT cannot be applied to %s", typeName(v))
	}
	return !b, nil
}

type andNode struct{ l, r node }

// eval follows SQL: false wins over unknown, and a false left side decides alone.
func (n andNode) eval(m *Properties) (any, error) {
	l, err := truth(n.l, m)
	if err != nil || l == isFalse {
		return false, err
	}
	r, err := truth(n.r, m)
	if err != nil {
		return nil, err
	}
	switch {
	case r == isFalse:
		return false, nil
	case l == isTrue && r == isTrue:
		return true, nil
	}
	return nil, nil
}

type orNode struct{ l, r node }

// eval follows SQL: true wins over unknown, and a true left side decides alone.
func (n orNode) eval(m *Properties) (any, error) {
	l, err := truth(n.l, m)
	if err != nil || l == isTrue {
		return err == nil, err
	}
	r, err := truth(n.r, m)
	if err != nil {
		return nil, err
	}
	switch {
	case r == isTrue:
		return true, nil
	case l == isFalse && r == isFalse:
		return false, nil
	}
	return nil, nil
}

type tri int

const (
	isUnknown tri = iota
	isTrue
	isFalse
)

func truth(n node, m *Properties) (tri, error) {
	v, err := n.eval(m)
	if err != nil {
		return isUnknown, err
	}
	switch v {
	case true:
		return isTrue, nil
	case false:
		return isFalse, nil
	case nil:
		return isUnknown, nil
	}
	return isUnknown, evalErrorf("%s is not a condition", typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case int64:
		return "long"
	case float64:
		return "double"
	case bool:
		return "boolean"
	case time.Time:
		return "DateTime"
	case time.Duration:
		return "TimeSpan"
	}
	return fmt.Sprintf("%T", v)
}
