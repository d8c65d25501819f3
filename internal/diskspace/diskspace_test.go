package diskspace

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	probe := func(dir string) (uint64, error) { return 2_000_000, nil }
	if err := Check(probe, "updates", "staging the batch", "/r/.upkeep", 2_000_000); err != nil {
		t.Fatalf("exactly enough space refused: %v", err)
	}
	err := Check(probe, "updates", "staging the batch", "/r/.upkeep", 4_500_000)
	var ne *NoSpaceError
	if !errors.Is(err, ErrNoSpace) || !errors.As(err, &ne) || ne.Needed != 4_500_000 || ne.Available != 2_000_000 {
		t.Fatalf("Check = %v, want a NoSpaceError", err)
	}
	if want := "updates: not enough free space in /r/.upkeep for staging the batch: needed 4.5 MB (4500000 bytes), available 2.0 MB (2000000 bytes)"; err.Error() != want {
		t.Fatalf("message\n %s\nwant\n %s", err, want)
	}
	boom := errors.New("statfs failed")
	if err := Check(func(string) (uint64, error) { return 0, boom }, "updates", "", "/r", 1); !errors.Is(err, boom) {
		t.Fatalf("a failing probe: %v", err)
	}
}

func TestFree(t *testing.T) {
	n, err := Free(t.TempDir())
	if err != nil || n == 0 {
		t.Fatalf("Free = %d, %v", n, err)
	}
	if _, err := Free("/no/such/folder/at/all"); err == nil {
		t.Fatal("Free of a missing folder succeeded")
	}
}
