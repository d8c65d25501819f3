package updates

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// faultEnv is read by tests only: it makes a step of the install fail, or
// kills the process at a step, so that tests can prove rollback and crash
// recovery through the real binary. Its value is a comma-separated list of
// ACTION@STEP, ACTION one of:
//
//	crash   SIGKILL the process when it reaches STEP
//	fail    make STEP fail with an error
//	enospc  make the writes of STEP fail as a full disk does ("stage:PACK")
//
// Steps: journal, stage:PACK, staged, swap-out:PACK, swap-in:PACK, swapped,
// commit, move:ZIP, moved, clean.
const faultEnv = "UPKEEP_TEST_FAULT"

type faults map[string]string // step -> action

func loadFaults() faults {
	v := os.Getenv(faultEnv)
	if v == "" {
		return nil
	}
	f := faults{}
	for _, item := range strings.Split(v, ",") {
		if action, step, ok := strings.Cut(item, "@"); ok {
			f[step] = action
		}
	}
	return f
}

// at is called at each step boundary.
func (f faults) at(step string) error {
	switch f[step] {
	case "crash":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	case "fail":
		return fmt.Errorf("injected failure at %s", step)
	}
	return nil
}

// diskFull tells whether writes of step fail as on a full disk.
func (f faults) diskFull(step string) bool { return f[step] == "enospc" }
