package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecondWaiterTimesOutNamingTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	ctx := context.Background()
	l, err := Acquire(ctx, path, "install", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open files: a second open in this process
	// conflicts as another process's would.
	_, err = Acquire(ctx, path, "db up", 100*time.Millisecond)
	var held *HeldError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &held) {
		t.Fatalf("err %v, want ErrLocked", err)
	}
	want := fmt.Sprintf("pid %d on ", os.Getpid())
	if !strings.HasPrefix(held.Holder, want) || !strings.Contains(held.Holder, ", install since ") || held.Waited < 100*time.Millisecond {
		t.Fatalf("holder %q waited %s, want %q... install, >= 100ms", held.Holder, held.Waited, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(ctx, path, "db up", 0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the lock file is gone: %v", err)
	}
}

// A holder killed with SIGKILL frees the lock: the kernel drops its flock.
func TestKilledHolderFreesTheLock(t *testing.T) {
	if os.Getenv("UPKEEP_LOCK_HOLD") != "" {
		if _, err := Acquire(context.Background(), os.Getenv("UPKEEP_LOCK_HOLD"), "hold", 0); err != nil {
			os.Exit(3)
		}
		fmt.Println("held")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolderFreesTheLock$")
	cmd.Env = append(os.Environ(), "UPKEEP_LOCK_HOLD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf[:4]) != "held" {
		t.Fatalf("child: %q %v", buf, err)
	}
	if _, err := Acquire(context.Background(), path, "x", 0); !errors.Is(err, ErrLocked) {
		t.Fatalf("while the child holds it: %v, want ErrLocked", err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	l, err := Acquire(context.Background(), path, "x", 5*time.Second)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}

func TestContextCancelsTheWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l, err := Acquire(context.Background(), path, "install", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path, "x", time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
}
