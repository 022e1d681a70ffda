package handler

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func encodeTeapot(w http.ResponseWriter, _ *http.Request, err error) {
	w.WriteHeader(http.StatusTeapot)
	io.WriteString(w, err.Error())
}

func TestRunEncodesAnErrorBeforeTheResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	Run(rec, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("X-Kept", "yes") // headers set before failing go out with the error
		return errors.New("nope")
	}, encodeTeapot)
	if rec.Code != http.StatusTeapot || rec.Body.String() != "nope" || rec.Header().Get("X-Kept") != "yes" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

func TestRunAbortsALateError(t *testing.T) {
	defer func() {
		if p := recover(); p != http.ErrAbortHandler { //nolint:errorlint // net/http compares it so
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	Run(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) error {
		io.WriteString(w, "partial")
		return errors.New("late")
	}, func(http.ResponseWriter, *http.Request, error) { t.Fatal("encoder called after the response began") })
}

func TestWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := Wrap(rec)
	if Wrap(w) != w {
		t.Fatal("Wrap wrapped a Writer again")
	}
	w.WriteHeader(http.StatusContinue)
	if w.Written() {
		t.Fatal("an interim 1xx counted as the status")
	}
	w.Capture(4)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, "abc")
	io.WriteString(w, "def")
	if w.Status() != http.StatusCreated || string(w.Captured()) != "abcd" || rec.Body.String() != "abcdef" {
		t.Fatalf("status %d, captured %q, body %q", w.Status(), w.Captured(), rec.Body)
	}
	if err := http.NewResponseController(w).Flush(); err != nil || !rec.Flushed {
		t.Fatalf("flush through the controller: %v", err)
	}
}
