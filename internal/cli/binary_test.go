package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The tests of what a user meets run the built upkeep binary, as the
// root package's tests do.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// upkeepBinary builds upkeep once per test run and returns its path.
func upkeepBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "upkeep-cli-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "upkeep")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/upkeep/upkeep").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build upkeep: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type result struct {
	stdout, stderr string
	code           int
}

// runUpkeep runs the built upkeep in dir with args, with env added to an
// environment that holds none of upkeep's own variables.
func runUpkeep(t testing.TB, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(upkeepBinary(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "UPKEEP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// wantCode fails t unless r exited with code.
func (r result) wantCode(t testing.TB, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}
