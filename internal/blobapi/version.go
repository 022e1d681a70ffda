package blobapi

import (
	"net/http"
	"time"
)

const (
	// minVersion is the oldest x-ms-version served: the first with bearer challenges
	// and the 4000 MiB block limits.
	minVersion = "2019-12-12"
	// latestVersion is answered when a request names none. Newer versions than this
	// are accepted and served as this one: SDKs move faster than servers, and refusing
	// them is the most reported Azurite incompatibility.
	latestVersion = "2026-12-06"
)

// checkVersion validates x-ms-version and returns the version to echo.
func checkVersion(r *http.Request) (string, error) {
	v := r.Header.Get("x-ms-version")
	if v == "" {
		return latestVersion, nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil || v < minVersion {
		return latestVersion, &apiError{status: http.StatusBadRequest, code: "InvalidHeaderValue",
			message: "The value for one of the HTTP headers is not in the correct format.",
			details: [][2]string{{"HeaderName", "x-ms-version"}, {"HeaderValue", truncate(v, 64)}}}
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
