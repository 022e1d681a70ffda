// Command bareblob is the ceiling that bench/download.sh measures Lanyard's Blob downloads
// against: a bare Go HTTPS server with the Blob listener's TLS settings (Lanyard's own
// ECDSA P-256 certificate, TLS 1.2 and up, HTTP/1.1 only), which answers every GET with a
// range of one blob held in memory, with the headers azblob's DownloadBuffer reads
// (Content-Range, Content-Length, ETag, Last-Modified, x-ms-blob-type). No token check, no
// RBAC, no metadata lookup, no disk: what is left is TLS and HTTP on the same machine.
//
// The blob is -mib MiB of the bytes blobload -workload download generates from the same
// seed, so the client checks what it received. It prints its address, then serves.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const etag = `"0x8DBAREBLOB"`

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to accept on")
	certFile := flag.String("cert", "", "PEM certificate (Lanyard's tls/server.pem)")
	keyFile := flag.String("key", "", "PEM key (Lanyard's tls/server-key.pem)")
	mib := flag.Int("mib", 256, "size of the blob served")
	flag.Parse()
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	data := Content(*mib << 20)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, data) }),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		// HTTP/1.1 only, as Lanyard's Blob listener.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	fmt.Println(ln.Addr())
	log.Fatal(srv.ServeTLS(ln, "", ""))
}

// Content is the blob: n bytes from a fixed seed (blobload has the same function).
func Content(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{'l', 'a', 'n', 'y', 'a', 'r', 'd'}).Read(b)
	return b
}

func serve(w http.ResponseWriter, r *http.Request, data []byte) {
	if r.Method != http.MethodGet {
		http.Error(w, "only GET", http.StatusMethodNotAllowed)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != etag {
		http.Error(w, "condition not met", http.StatusPreconditionFailed)
		return
	}
	rg := r.Header.Get("x-ms-range")
	if rg == "" {
		rg = r.Header.Get("Range")
	}
	start, end := int64(0), int64(len(data))-1
	if rg != "" {
		a, b, ok := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
		s, err1 := strconv.ParseInt(a, 10, 64)
		e, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || s > e || s >= int64(len(data)) {
			http.Error(w, "bad range", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, end = s, min(e, end)
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	h.Set("ETag", etag)
	h.Set("Last-Modified", "Thu, 03 Dec 2026 10:00:00 GMT")
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("x-ms-version", r.Header.Get("x-ms-version"))
	status := http.StatusOK
	if rg != "" {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(data)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(data[start : end+1])
}
