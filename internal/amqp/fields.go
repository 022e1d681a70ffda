package amqp

import "time"

// fields reads a described list's fields by position, with types checked: a present field of
// the wrong type is a decode error, an absent one (past the end, or null) is the zero value.
type fields struct {
	what string
	list []any
	err  error
}

func newFields(what string, v any) (*fields, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, decodeErrorf("%s: a %T where a list belongs", what, v)
	}
	return &fields{what: what, list: list}, nil
}

func (f *fields) at(i int) any {
	if i < len(f.list) {
		return f.list[i]
	}
	return nil
}

func (f *fields) fail(i int, format string, args ...any) {
	if f.err == nil {
		f.err = decodeErrorf("%s field %d: "+format, append([]any{f.what, i}, args...)...)
	}
}

// optional returns field i as T, and whether it was present.
func optional[T any](f *fields, i int) (T, bool) {
	var zero T
	v := f.at(i)
	if v == nil {
		return zero, false
	}
	t, ok := v.(T)
	if !ok {
		f.fail(i, "a %T where a %T belongs", v, zero)
		return zero, false
	}
	return t, true
}

// mandatory is optional, with absence an error (part 1.4: mandatory fields are never null).
func mandatory[T any](f *fields, i int) T {
	t, ok := optional[T](f, i)
	if !ok && f.err == nil {
		f.fail(i, "mandatory field is absent")
	}
	return t
}

func optionalPtr[T any](f *fields, i int) *T {
	if t, ok := optional[T](f, i); ok {
		return &t
	}
	return nil
}

func withDefault[T any](f *fields, i int, def T) T {
	if t, ok := optional[T](f, i); ok {
		return t
	}
	return def
}

// symbols reads a "multiple" symbol field: one symbol, or an array of them.
func (f *fields) symbols(i int) []Symbol {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case Symbol:
		return []Symbol{v}
	case []Symbol:
		return v
	default:
		f.fail(i, "a %T where symbols belong", v)
		return nil
	}
}

func (f *fields) mapField(i int) Map {
	m, _ := optional[Map](f, i)
	return m
}

func (f *fields) milliseconds(i int) time.Duration {
	ms, _ := optional[uint32](f, i)
	return time.Duration(ms) * time.Millisecond
}

// described reads a composite field (source, target, error, delivery state) with its own decoder.
func describedField[T any](f *fields, i int, decode func(any) (T, error)) T {
	var zero T
	v := f.at(i)
	if v == nil {
		return zero
	}
	t, err := decode(v)
	if err != nil && f.err == nil {
		f.err = err
	}
	return t
}

// The encoding side: a field list is built with nil for absent fields, and trailing nulls
// are dropped (part 1.4 lets the list stop at the last present field).
func trimList(list []any) []any {
	n := len(list)
	for n > 0 && list[n-1] == nil {
		n--
	}
	return list[:n]
}

// orNil turns the "absent" value of each Go field type into nil.
func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func boolOrNil(b bool) any {
	if !b {
		return nil
	}
	return true
}

func stringOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func symbolOrNil(s Symbol) any {
	if s == "" {
		return nil
	}
	return s
}

func binaryOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func symbolsOrNil(s []Symbol) any {
	if s == nil {
		return nil
	}
	return s
}

func mapOrNil(m Map) any {
	if m == nil {
		return nil
	}
	return m
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func defaultOrNil[T comparable](v, def T) any {
	if v == def {
		return nil
	}
	return v
}

func millisecondsOrNil(d time.Duration) any {
	if d <= 0 {
		return nil
	}
	return uint32(d / time.Millisecond)
}
