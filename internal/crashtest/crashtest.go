// Package crashtest is for crash tests that re-execute their own test binary: the child
// runs a worker against a directory and prints READY once it has opened its store; the
// parent lets it run, kills it with SIGKILL and checks what survived.
package crashtest

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The environment that makes a test binary a worker.
const (
	envTest = "LANYARD_CRASH_TEST"
	envDir  = "LANYARD_CRASH_DIR"
	envSeed = "LANYARD_CRASH_SEED"
)

// Worker runs fn and exits when this process is the worker Kill started for test; in
// any other process it returns at once. Call it first thing in the test.
func Worker(test string, fn func(dir string, seed uint64) error) {
	if os.Getenv(envTest) != test {
		return
	}
	seed, _ := strconv.ParseUint(os.Getenv(envSeed), 10, 64)
	if err := fn(os.Getenv(envDir), seed); err != nil {
		fmt.Fprintln(os.Stderr, "crash worker:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// Kill starts test's worker on dir with seed, waits (up to 30s) for it to print READY,
// lets it run for d, kills it with SIGKILL, and returns the lines it printed after READY:
// every line written before the kill, since the pipe keeps them. It fails t if the worker
// does not start or ends on its own.
func Kill(t testing.TB, test, dir string, seed uint64, d time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), envTest+"="+test, envDir+"="+dir, envSeed+"="+strconv.FormatUint(seed, 10))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready, read := make(chan struct{}), make(chan struct{})
	var lines []string
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		started := false
		for sc.Scan() {
			switch {
			case started:
				lines = append(lines, sc.Text())
			case sc.Text() == "READY":
				started = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("seed %d: the worker did not start: %s", seed, stderr.String())
	}
	time.Sleep(d)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-read
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("seed %d: the worker ended on its own (%v): %s", seed, err, stderr.String())
	}
	return lines
}

// Rounds runs a crash test's rounds in one directory: each starts the worker, kills it
// after a random moment in [least, least+spread) and hands verify the directory and the
// lines the worker printed (as Kill returns them); verify checks what survived and returns
// what to log. -short runs 2 rounds.
func Rounds(t *testing.T, test string, rounds int, least, spread time.Duration, verify func(dir string, lines []string) string) {
	t.Helper()
	if testing.Short() {
		rounds = min(rounds, 2)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(len(test))))
	for round := range rounds {
		lines := Kill(t, test, dir, uint64(round+1), least+time.Duration(rng.Int64N(int64(spread))))
		t.Logf("round %d: %s", round, verify(dir, lines))
	}
}
