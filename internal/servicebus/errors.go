package servicebus

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Conditions Service Bus sends besides AMQP's own.
const (
	condLockLost      = amqp.Symbol("com.microsoft:message-lock-lost")
	condServerBusy    = amqp.Symbol("com.microsoft:server-busy")
	condEntityMissing = amqp.ErrNotFound
)

// statusLockLost is a $management answer for a lock that is gone (the SDKs map 410 to
// their lock-lost error).
const statusLockLost = http.StatusGone

func amqpError(cond amqp.Symbol, format string, args ...any) *amqp.Error {
	return &amqp.Error{Condition: cond, Description: fmt.Sprintf(format, args...)}
}

func notImplemented(what string) *amqp.Error {
	return amqpError(amqp.ErrNotImplemented, "%s is not implemented by Lanyard yet (Service Bus part 2).", what)
}

func unauthorized(format string, args ...any) *amqp.Error {
	return amqpError(amqp.ErrUnauthorizedAccess, format, args...)
}

// conditionOf maps an error of the store, the directory or the authorizer to the AMQP
// condition Service Bus would send.
func conditionOf(err error) *amqp.Error {
	var ae *amqp.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, messaging.ErrLockLost):
		return amqpError(condLockLost, "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.")
	case errors.Is(err, messaging.ErrMessageNotFound):
		return amqpError(condMessageNotFound, "%s", lanyard.Clip(err.Error(), 300))
	case errors.Is(err, messaging.ErrSessionLockLost), errors.Is(err, messaging.ErrSessionCannotBeLocked),
		errors.Is(err, messaging.ErrNoSessionAvailable):
		return sessionCondition(err)
	case errors.Is(err, messaging.ErrInvalid):
		return amqpError(amqp.ErrInvalidField, "%s", lanyard.Clip(err.Error(), 300))
	}
	switch lanyard.KindOf(err) {
	case lanyard.KindNotFound:
		return amqpError(condEntityMissing, "%s", lanyard.MessageOf(err))
	case lanyard.KindUnauthenticated, lanyard.KindPermissionDenied:
		return unauthorized("Unauthorized access: %s", lanyard.MessageOf(err))
	case lanyard.KindUnavailable:
		return amqpError(condServerBusy, "The server is busy: %s", lanyard.MessageOf(err))
	}
	return amqpError(amqp.ErrInternal, "The server could not complete the operation.")
}

// statusOf maps an error to a $management status code and condition.
func statusOf(err error) (int32, *amqp.Error) {
	e := conditionOf(err)
	switch e.Condition {
	case condLockLost, condSessionLockLost:
		return statusLockLost, e
	case condSessionCannotBeLocked:
		return http.StatusConflict, e
	case condTimeout:
		return http.StatusRequestTimeout, e
	case amqp.ErrNotFound, condMessageNotFound:
		return http.StatusNotFound, e
	case amqp.ErrUnauthorizedAccess:
		return http.StatusUnauthorized, e
	case amqp.ErrInvalidField, amqp.ErrDecode:
		return http.StatusBadRequest, e
	case amqp.ErrNotImplemented:
		return http.StatusNotImplemented, e
	case condServerBusy:
		return http.StatusServiceUnavailable, e
	case amqp.ErrResourceLimit:
		return http.StatusRequestEntityTooLarge, e
	}
	return http.StatusInternalServerError, e
}
