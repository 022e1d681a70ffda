package lanyard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const genericMessage = "An internal error occurred."

func TestKindOfAndCodeOf(t *testing.T) {
	notFound := Errorf(KindNotFound, "Resource group '%s' could not be found.", "demo").WithCode("ResourceGroupNotFound")
	tests := []struct {
		name     string
		err      error
		kind     Kind
		code     string
		notFound bool
		conflict bool
	}{
		{"nil", nil, KindInternal, "", false, false},
		{"plain error", errors.New("disk on fire"), KindInternal, "", false, false},
		{"context error", context.DeadlineExceeded, KindInternal, "", false, false},
		{"lanyard error", notFound, KindNotFound, "ResourceGroupNotFound", true, false},
		{"wrapped once with %w", fmt.Errorf("get group: %w", notFound), KindNotFound, "ResourceGroupNotFound", true, false},
		{"wrapped twice with %w", fmt.Errorf("handler: %w", fmt.Errorf("get group: %w", notFound)), KindNotFound, "ResourceGroupNotFound", true, false},
		{"joined", errors.Join(errors.New("other"), Errorf(KindConflict, "exists")), KindConflict, "", false, true},
		{"wrapped with %v loses the kind", fmt.Errorf("get group: %v", notFound), KindInternal, "", false, false}, //nolint:errorlint // the case under test
		{"outermost lanyard error wins", &Error{Kind: KindInternal, Message: "store", Err: notFound}, KindInternal, "", false, false},
		{"cause of a kinded error", &Error{Kind: KindUnavailable, Code: "Down", Err: errors.New("dial tcp")}, KindUnavailable, "Down", false, false},
		{"every kind: invalid", Errorf(KindInvalid, "x"), KindInvalid, "", false, false},
		{"every kind: unauthenticated", Errorf(KindUnauthenticated, "x"), KindUnauthenticated, "", false, false},
		{"every kind: permission denied", Errorf(KindPermissionDenied, "x"), KindPermissionDenied, "", false, false},
		{"every kind: too large", Errorf(KindTooLarge, "x"), KindTooLarge, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if got := CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf = %q, want %q", got, tt.code)
			}
			if got := IsNotFound(tt.err); got != tt.notFound {
				t.Errorf("IsNotFound = %v, want %v", got, tt.notFound)
			}
			if got := IsConflict(tt.err); got != tt.conflict {
				t.Errorf("IsConflict = %v, want %v", got, tt.conflict)
			}
		})
	}
}

func TestMessageOf(t *testing.T) {
	secret := "password=hunter2 host=db.internal"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, genericMessage},
		{"plain error hides its text", errors.New(secret), genericMessage},
		{"wrapped plain error", fmt.Errorf("sqlstore: list: %w", errors.New(secret)), genericMessage},
		{"internal lanyard error hides its message", &Error{Kind: KindInternal, Message: secret}, genericMessage},
		{"internal lanyard error hides its cause", &Error{Kind: KindInternal, Message: "x", Err: errors.New(secret)}, genericMessage},
		{"invalid shows its message", Errorf(KindInvalid, "Name '%s' is invalid.", "a b"), "Name 'a b' is invalid."},
		{"invalid hides its cause", &Error{Kind: KindInvalid, Message: "Bad body.", Err: errors.New(secret)}, "Bad body."},
		{"wrapped with %w shows only the inner message", fmt.Errorf("context %s: %w", secret, Errorf(KindNotFound, "Not here.")), "Not here."},
		{"empty message of a non-internal error", &Error{Kind: KindConflict, Err: errors.New(secret)}, genericMessage},
		{"internal wrapping a caller-safe error stays hidden", &Error{Kind: KindInternal, Err: Errorf(KindInvalid, "Looks safe.")}, genericMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MessageOf(tt.err)
			if got != tt.want {
				t.Errorf("MessageOf = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("MessageOf leaks the cause: %q", got)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"message only", &Error{Kind: KindInvalid, Message: "msg"}, "msg"},
		{"cause only", &Error{Kind: KindInternal, Err: cause}, "cause"},
		{"message and cause", &Error{Kind: KindInternal, Message: "msg", Err: cause}, "msg: cause"},
		{"Errorf formats", Errorf(KindInvalid, "%d %s %q", 1, "two", "three"), `1 two "three"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	e := &Error{Kind: KindInternal, Message: "msg", Err: cause}
	if !errors.Is(e, cause) || errors.Unwrap(e) != cause { //nolint:errorlint // Unwrap must return the cause itself
		t.Error("Unwrap does not expose the cause")
	}
	if !errors.Is(fmt.Errorf("outer: %w", e), cause) {
		t.Error("errors.Is does not see the cause through a wrapper")
	}
}

func TestWithCodeCopies(t *testing.T) {
	cause := errors.New("cause")
	orig := &Error{Kind: KindNotFound, Message: "gone", Err: cause}
	withCode := orig.WithCode("ResourceNotFound")
	if withCode == orig {
		t.Fatal("WithCode returned the receiver, want a copy")
	}
	if orig.Code != "" {
		t.Errorf("WithCode changed the original's code to %q", orig.Code)
	}
	if withCode.Code != "ResourceNotFound" || withCode.Kind != KindNotFound || withCode.Message != "gone" || withCode.Err != cause { //nolint:errorlint // the cause itself is kept
		t.Errorf("copy = %+v, want the original's fields plus the code", withCode)
	}
	again := withCode.WithCode("Other")
	if withCode.Code != "ResourceNotFound" || again.Code != "Other" {
		t.Errorf("re-coding a copy changed it: %q, %q", withCode.Code, again.Code)
	}
	// A shared sentinel must survive callers that re-code it.
	sentinel := Errorf(KindInvalid, "shared")
	_ = sentinel.WithCode("A")
	_ = sentinel.WithCode("B")
	if sentinel.Code != "" {
		t.Errorf("sentinel code = %q after WithCode on it", sentinel.Code)
	}
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{
		KindInternal: "internal", KindInvalid: "invalid", KindNotFound: "not found", KindConflict: "conflict",
		KindUnauthenticated: "unauthenticated", KindPermissionDenied: "permission denied",
		KindTooLarge: "too large", KindUnavailable: "unavailable",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), s)
		}
	}
	if len(kindNames) != len(want) {
		t.Errorf("kindNames has %d entries; this test knows %d kinds", len(kindNames), len(want))
	}
}
