package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The Dockerfile builds a static image whose binary runs. It needs a Docker daemon (and
// the base images from a registry): without one the test skips and says so.
func TestDockerImageBuilds(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker command: the image build in deploy/Dockerfile is not tested here")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers (%v): the image build in deploy/Dockerfile is not tested here\n%s", err, firstLine(string(out)))
	}
	const tag = "lanyard-e2e:test"
	ctx, cancel = context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "docker", "build", "-f", "deploy/Dockerfile", "--build-arg", "VERSION=v0.0.0-e2e", "-t", tag, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	defer exec.Command("docker", "image", "rm", "-f", tag).Run()
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none", tag, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "lanyard version v0.0.0-e2e" {
		t.Fatalf("docker run --version: %v, %q", err, out)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
