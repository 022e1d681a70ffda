package lanyard

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it. Every protocol surface maps
// kinds to its own status codes and body shapes in one place; domain code never chooses a status.
type Kind int

const (
	KindInternal         Kind = iota // a fault of ours; its detail is logged, never shown
	KindInvalid                      // the request is malformed or violates a rule
	KindNotFound                     // the named thing does not exist (or the caller may not know it does)
	KindConflict                     // it exists already, or changed underneath the caller
	KindUnauthenticated              // no credential, or one that does not verify
	KindPermissionDenied             // authenticated, but not allowed
	KindTooLarge                     // an input is over its size limit
	KindUnavailable                  // a dependency is down; retrying later may work
)

var kindNames = map[Kind]string{
	KindInternal: "internal", KindInvalid: "invalid", KindNotFound: "not found",
	KindConflict: "conflict", KindUnauthenticated: "unauthenticated",
	KindPermissionDenied: "permission denied", KindTooLarge: "too large", KindUnavailable: "unavailable",
}

func (k Kind) String() string { return kindNames[k] }

// Error is an error with a kind and a message that is safe to show to the caller.
// Code, when set, is a protocol-neutral reason (for example "IdentityNotFound") that
// surfaces may use as their error code.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error // cause, for logs only
}

func (e *Error) Error() string {
	if e.Err != nil {
		if e.Message == "" {
			return e.Err.Error()
		}
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of kind k with a formatted, caller-safe message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// WithCode returns a copy of e carrying a protocol-neutral code.
func (e *Error) WithCode(code string) *Error {
	c := *e
	c.Code = code
	return &c
}

// KindOf reports the kind of err; errors that carry none are internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// CodeOf reports the code of err, or "" when it has none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// MessageOf returns the message that may be shown to the caller. Internal errors hide
// their detail.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal && e.Message != "" {
		return e.Message
	}
	return "An internal error occurred."
}

// IsNotFound reports whether err is of kind NotFound.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == KindNotFound }

// IsConflict reports whether err is of kind Conflict.
func IsConflict(err error) bool { return err != nil && KindOf(err) == KindConflict }

// Clip shortens input echoed in an error message to max bytes, so messages stay bounded
// whatever a caller sends, and keeps it valid UTF-8.
func Clip(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
