package starlette_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// The real peer: Python's itsdangerous, driven as Starlette drives it, by
// testdata/peer.py. Debian's python3-itsdangerous installs it for
// /usr/bin/python3, which is tried first.

var (
	pythonOnce sync.Once
	pythonPath string
)

func findPython() string {
	pythonOnce.Do(func() {
		candidates := []string{"/usr/bin/python3"}
		if p, err := exec.LookPath("python3"); err == nil {
			candidates = append(candidates, p)
		}
		for _, p := range candidates {
			if exec.Command(p, "-c", "import itsdangerous").Run() == nil {
				pythonPath = p
				return
			}
		}
	})
	return pythonPath
}

// needPeer skips the test when no python3 with itsdangerous is installed,
// unless CI=true, where a missing peer is a failure.
func needPeer(t *testing.T) string {
	t.Helper()
	p := findPython()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 with itsdangerous is required in CI (apt-get install -y python3-itsdangerous)")
		}
		t.Skip("no python3 with itsdangerous; apt-get install -y python3-itsdangerous to run this test")
	}
	return p
}

type mintReq struct {
	Secret  string `json:"secret"`
	Session any    `json:"session"`
	TS      int64  `json:"ts"`
}

type rawReq struct {
	Secret  string `json:"secret"`
	Payload string `json:"payload"`
	TS      int64  `json:"ts"`
}

type checkReq struct {
	Secret string `json:"secret"`
	Cookie string `json:"cookie"`
	Now    int64  `json:"now"`
	MaxAge int64  `json:"max_age"`
}

type checkResult struct {
	Result  string `json:"result"` // ok, bad or crash
	Why     string `json:"why"`
	Session string `json:"session"` // json.dumps of what Starlette reads
}

type peerReq struct {
	Mint  []mintReq  `json:"mint,omitempty"`
	Raw   []rawReq   `json:"raw,omitempty"`
	Check []checkReq `json:"check,omitempty"`
}

type peerResp struct {
	Mint  []string      `json:"mint"`
	Raw   []string      `json:"raw"`
	Check []checkResult `json:"check"`
}

// runPeer sends one request to testdata/peer.py and returns its answer.
func runPeer(t *testing.T, req peerReq) peerResp {
	t.Helper()
	py := needPeer(t)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/peer.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("peer.py: %v\n%s", err, stderr.String())
	}
	var resp peerResp
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("peer.py answer: %v", err)
	}
	if len(resp.Mint) != len(req.Mint) || len(resp.Raw) != len(req.Raw) || len(resp.Check) != len(req.Check) {
		t.Fatalf("peer.py answered %d/%d/%d items for %d/%d/%d", len(resp.Mint), len(resp.Raw), len(resp.Check),
			len(req.Mint), len(req.Raw), len(req.Check))
	}
	return resp
}
