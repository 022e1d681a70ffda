// Command tokenload measures Lanyard's managed-identity token endpoint against baselines
// taken in the same run on the same machine: the raw RSA-2048 signing rate (what a freshly
// signed token cannot beat) and nothing else for the cached path, which must serve from
// memory. It also times `lanyard up` from exec to ready. Everything runs on loopback.
//
// Usage: go run ./bench/tokenload -lanyard /path/to/lanyard [-duration 10s] [-concurrency 16]
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lanyard-id/lanyard/internal/client"
)

func main() {
	bin := flag.String("lanyard", "lanyard", "path to the lanyard binary")
	duration := flag.Duration("duration", 10*time.Second, "length of each load phase")
	concurrency := flag.Int("concurrency", 16, "concurrent clients")
	storeDSN := flag.String("store", "sqlite", "store for lanyard up: sqlite or a postgres:// URL")
	flag.Parse()
	upArgs = append(upArgs, "--store", *storeDSN)
	if err := run(*bin, *duration, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "tokenload:", err)
		os.Exit(1)
	}
}

func run(bin string, d time.Duration, conc int) error {
	home, err := os.MkdirTemp("", "lanyard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)

	// Start-up: the first start creates keys and the CA; later starts are what users wait for.
	var starts []time.Duration
	for i := range 6 {
		took, stop, err := start(bin, home)
		if err != nil {
			return err
		}
		if i > 0 {
			starts = append(starts, took)
		}
		if i < 5 {
			stop()
			continue
		}
		defer stop()
	}
	slices.Sort(starts)
	fmt.Printf("| `lanyard up` ready (warm start, median of 5) | %s | first start creates keys and CA |\n", starts[len(starts)/2].Round(time.Millisecond))

	api, err := client.Open(home)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, step := range []struct{ method, path string }{
		{"PUT", api.Subscription() + "/resourceGroups/bench"},
		{"PUT", api.Subscription() + "/resourceGroups/bench/providers/Microsoft.Web/sites/app"},
	} {
		body := map[string]any{"identity": map[string]any{"type": "SystemAssigned"}}
		if err := api.Do(ctx, step.method, step.path, body, nil); err != nil {
			return err
		}
	}
	var env map[string]string
	if err := api.Do(ctx, "POST", api.Subscription()+"/resourceGroups/bench/providers/Microsoft.Web/sites/app/listIdentityEnvironment", nil, &env); err != nil {
		return err
	}

	rsaRate := rawRSA(d, conc)
	fmt.Printf("| raw RSA-2048 PKCS#1 v1.5 signatures (baseline, %d goroutines, GOMAXPROCS=%d) | %.0f/s | |\n", conc, runtime.GOMAXPROCS(0), rsaRate)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, Proxy: nil}}
	var seq atomic.Int64
	fresh := func() string { return "https://bench.example/r" + strconv.FormatInt(seq.Add(1), 10) }
	cached := func() string { return "https://storage.azure.com" }

	fr := load(hc, env, fresh, d, conc, 0)
	fmt.Printf("| token endpoint, every token freshly signed | %.0f/s (%.0f%% of raw RSA) | p50 %s, p99 %s |\n", fr.rate, 100*fr.rate/rsaRate, fr.p(50), fr.p(99))
	half := load(hc, env, fresh, d, conc, fr.rate/2)
	fmt.Printf("| same, at half that load (%.0f/s offered) | %.0f/s | p50 %s, p99 %s |\n", fr.rate/2, half.rate, half.p(50), half.p(99))
	ca := load(hc, env, cached, d, conc, 0)
	fmt.Printf("| token endpoint, cached token | %.0f/s | p50 %s, p99 %s |\n", ca.rate, ca.p(50), ca.p(99))
	return nil
}

// upArgs are extra arguments for lanyard up.
var upArgs []string

// start launches lanyard up in home on free ports and returns the time until it answers.
func start(bin, home string) (time.Duration, func(), error) {
	_ = os.Remove(filepath.Join(home, "lanyard.json"))
	t0 := time.Now()
	cmd := exec.Command(bin, append([]string{"up", "--home", home, "--api-addr", "127.0.0.1:0", "--msi-addr", "127.0.0.1:0", "--blob-addr", "127.0.0.1:0", "--log-level", "warn"}, upArgs...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	stop := func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }
	for time.Since(t0) < 30*time.Second {
		if raw, err := os.ReadFile(filepath.Join(home, "lanyard.json")); err == nil {
			var st struct{ MSIURL string }
			if json.Unmarshal(raw, &st) == nil {
				if resp, err := http.Get(st.MSIURL + "/msi/token"); err == nil {
					resp.Body.Close()
					return time.Since(t0), stop, nil
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	return 0, nil, fmt.Errorf("lanyard up was not ready within 30s")
}

func rawRSA(d time.Duration, conc int) float64 {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			digest := sha256.Sum256([]byte("lanyard"))
			for time.Now().Before(deadline) {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
					panic(err)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

type result struct {
	rate      float64
	latencies []time.Duration
}

func (r result) p(q int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[(len(r.latencies)-1)*q/100].Round(10 * time.Microsecond)
}

// load sends token requests from conc clients for d; a non-zero rate paces them.
func load(hc *http.Client, env map[string]string, resource func() string, d time.Duration, conc int, rate float64) result {
	var (
		mu   sync.Mutex
		lats []time.Duration
		n    atomic.Int64
		wg   sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(conc) / rate)
	}
	for w := range conc {
		wg.Go(func() {
			var mine []time.Duration
			// Paced workers start staggered, so that requests arrive evenly rather than in
			// bursts of conc.
			next := time.Now().Add(interval * time.Duration(w) / time.Duration(conc))
			for time.Now().Before(deadline) {
				if interval > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(interval)
				}
				q := url.Values{"api-version": {"2019-08-01"}, "resource": {resource()}}
				req, _ := http.NewRequest("GET", env["IDENTITY_ENDPOINT"]+"?"+q.Encode(), nil)
				req.Header.Set("X-IDENTITY-HEADER", env["IDENTITY_HEADER"])
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					panic(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte("access_token")) {
					panic(fmt.Sprintf("status %d: %s", resp.StatusCode, body))
				}
				mine = append(mine, time.Since(t0))
				n.Add(1)
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lats)
	return result{rate: float64(n.Load()) / d.Seconds(), latencies: lats}
}
