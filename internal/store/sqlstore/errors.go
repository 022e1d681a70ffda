package sqlstore

import (
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func notFound(code, format string, args ...any) error {
	return lanyard.Errorf(lanyard.KindNotFound, format, args...).WithCode(code)
}

// wrapErr gives err a kind the caller can act on. Contract errors (a NotFound raised here,
// an updater's own error) pass unchanged; a unique violation becomes a Conflict carrying
// conflict as its message; anything else stays internal, with the driver's detail kept
// for the logs only.
func (s *Store) wrapErr(op string, err error, conflict string) error {
	return s.wrapErrCode(op, err, "", conflict)
}

// wrapErrCode is wrapErr for a Conflict that also carries code.
func (s *Store) wrapErrCode(op string, err error, code, conflict string) error {
	if err == nil {
		return nil
	}
	var le *lanyard.Error
	if errors.As(err, &le) {
		return err
	}
	if s.d.isUniqueViolation(err) {
		return &lanyard.Error{Kind: lanyard.KindConflict, Code: code, Message: conflict, Err: err}
	}
	return s.unavailable(fmt.Errorf("sqlstore: %s: %w", op, err))
}

// unavailable gives errors that mean the database cannot be reached the kind Unavailable,
// so that callers answer 503 and clients retry, rather than 500.
func (s *Store) unavailable(err error) error {
	if err == nil || s.d.isUnavailable == nil || !s.d.isUnavailable(err) {
		return err
	}
	var le *lanyard.Error
	if errors.As(err, &le) {
		return err
	}
	return &lanyard.Error{Kind: lanyard.KindUnavailable, Code: "StoreUnavailable", Message: "The store cannot be reached; try again shortly.", Err: err}
}
