package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// crashNode is one `lanyard up` on fixed ports and a data folder that outlive its process,
// so it can be killed and started again, with what its clients need.
type crashNode struct {
	inst     *instance
	home     string
	args     []string
	client   *http.Client
	admin    string // the admin credential
	storage  string // a storage token of the writer identity
	acctURL  string
	writerID string
}

// newCrashNode starts a node on fixed free ports (API, MSI, Blob; args added) in a fresh
// data folder, with an HTTP client trusting its CA and the admin credential.
func newCrashNode(t *testing.T, args ...string) *crashNode {
	t.Helper()
	home := t.TempDir()
	n := &crashNode{home: home, args: append([]string{"--api-addr", "127.0.0.1:" + freePort(t), "--msi-addr", "127.0.0.1:" + freePort(t), "--blob-addr", "127.0.0.1:" + freePort(t)}, args...)}
	n.inst = upIn(t, home, n.args...)
	caPEM, err := os.ReadFile(n.inst.state.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	n.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	admin, err := os.ReadFile(filepath.Join(home, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	n.admin = strings.TrimSpace(string(admin))
	return n
}

// restart starts the node again on its data folder and ports and waits until /readyz says
// ready.
func (n *crashNode) restart(t *testing.T) {
	t.Helper()
	state := n.inst.state
	n.inst = start(t, n.home, n.args...)
	n.inst.state = state
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := n.client.Get(state.APIURL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not ready within 60s\n%s", n.inst.stderr)
}

func (n *crashNode) do(ctx context.Context, method, url, bearer string, body []byte, header map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// TestCrashLoop kills `lanyard up` with SIGKILL while Blob uploads and control-plane
// changes (identities, role assignments) run against it, starts it again on the same data
// folder, and checks that every write it acknowledged is there, whole. LANYARD_FAULTS_LONG=1
// runs 40 kills instead of 3. It logs the figures docs/benchmarks.md records.
func TestCrashLoop(t *testing.T) {
	kills := 3
	if os.Getenv("LANYARD_FAULTS_LONG") != "" {
		kills = 40
	}
	n := newCrashNode(t)
	inst := n.inst
	inst.cli(t, "group", "create", "-n", "crash")
	var writer, acct map[string]any
	inst.cliJSON(t, &writer, "identity", "create", "-g", "crash", "-n", "writer")
	inst.cli(t, "app", "create", "-g", "crash", "-n", "web", "--identities", "writer")
	inst.cliJSON(t, &acct, "storage", "account", "create", "-g", "crash", "-n", "crashacct")
	inst.cli(t, "role", "assignment", "create", "--assignee", writer["clientId"].(string), "--role", contributor, "--scope", acct["id"].(string))
	var tok map[string]any
	inst.cliJSON(t, &tok, "token", "get", "-g", "crash", "-n", "web", "--client-id", writer["clientId"].(string), "--resource", "https://storage.azure.com")
	n.storage = tok["accessToken"].(string)
	n.writerID = writer["principalId"].(string)
	n.acctURL = inst.state.BlobURL + "/crashacct"
	blobHeaders := map[string]string{"x-ms-version": "2023-11-03", "x-ms-blob-type": "BlockBlob"}
	if st, body, err := n.do(t.Context(), "PUT", n.acctURL+"/data?restype=container", n.storage, nil, blobHeaders); err != nil || st != http.StatusCreated {
		t.Fatalf("create container: %d %v %s", st, err, body)
	}
	api := inst.state.APIURL
	sub := "/subscriptions/" + inst.state.SubscriptionID

	var (
		mu          sync.Mutex
		blobs       = map[string]string{} // acknowledged uploads: name -> content
		identities  []string              // acknowledged identity creations
		assignments []string              // acknowledged role assignment ids
		ready       []time.Duration
	)
	for round := 0; round < kills; round++ {
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					name := fmt.Sprintf("r%d-w%d-%d.txt", round, w, i)
					content := strings.Repeat(name, 1+i%300)
					st, _, err := n.do(ctx, "PUT", n.acctURL+"/data/"+name, n.storage, []byte(content), blobHeaders)
					if err == nil && st == http.StatusCreated {
						mu.Lock()
						blobs[name] = content
						mu.Unlock()
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("id-%d-%d", round, i)
				st, _, err := n.do(ctx, "PUT", api+sub+"/resourceGroups/crash/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+name+"?api-version=2023-01-31", n.admin, []byte(`{}`), map[string]string{"Content-Type": "application/json"})
				if err == nil && (st == http.StatusCreated || st == http.StatusOK) {
					mu.Lock()
					identities = append(identities, name)
					mu.Unlock()
				}
				id := uuid.NewString()
				scope := acct["id"].(string) + "/blobServices/default/containers/c" + strconv.Itoa(i)
				body := `{"properties":{"roleDefinitionId":"2a2b9908-6ea1-4ae2-8e65-a410df84e7d1","principalId":"` + n.writerID + `"}}`
				st, _, err = n.do(ctx, "PUT", api+scope+"/providers/Microsoft.Authorization/roleAssignments/"+id+"?api-version=2022-04-01", n.admin, []byte(body), map[string]string{"Content-Type": "application/json"})
				if err == nil && st == http.StatusCreated {
					mu.Lock()
					assignments = append(assignments, scope+"/providers/Microsoft.Authorization/roleAssignments/"+id)
					mu.Unlock()
				}
			}
		}()
		time.Sleep(time.Duration(300+round*37%500) * time.Millisecond)
		killed := time.Now()
		n.inst.kill()
		cancel()
		wg.Wait()
		n.restart(t)
		ready = append(ready, time.Since(killed))
	}

	// Everything acknowledged is there, whole.
	lost := 0
	for name, content := range blobs {
		st, body, err := n.do(t.Context(), "GET", n.acctURL+"/data/"+name, n.storage, nil, map[string]string{"x-ms-version": "2023-11-03"})
		if err != nil || st != http.StatusOK || string(body) != content {
			lost++
			t.Errorf("acknowledged blob %s: %d %v, %d of %d bytes", name, st, err, len(body), len(content))
		}
	}
	for _, name := range identities {
		st, _, err := n.do(t.Context(), "GET", api+sub+"/resourceGroups/crash/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+name+"?api-version=2023-01-31", n.admin, nil, nil)
		if err != nil || st != http.StatusOK {
			lost++
			t.Errorf("acknowledged identity %s: %d %v", name, st, err)
		}
	}
	for _, id := range assignments {
		st, _, err := n.do(t.Context(), "GET", api+id+"?api-version=2022-04-01", n.admin, nil, nil)
		if err != nil || st != http.StatusOK {
			lost++
			t.Errorf("acknowledged role assignment %s: %d %v", id, st, err)
		}
	}
	slices.Sort(ready)
	t.Logf("crash loop: %d SIGKILLs; acknowledged %d blob writes, %d identities, %d role assignments; lost %d; kill to ready p50 %s, max %s",
		kills, len(blobs), len(identities), len(assignments), lost, ready[len(ready)/2].Round(time.Millisecond), ready[len(ready)-1].Round(time.Millisecond))
	if len(blobs) == 0 || len(identities) == 0 || len(assignments) == 0 {
		t.Errorf("the load acknowledged nothing of some kind (%d blobs, %d identities, %d assignments): the test proves nothing", len(blobs), len(identities), len(assignments))
	}
}
