package updates

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Fault injection lets tests prove rollback and crash recovery: a step of
// the batch (see steps.go) fails, or the process dies there. A binary reads
// the faults from the environment variable faultEnv only when it is built
// with the build tag upkeep_faults (faults_env.go), as the crash tests
// build it; upkeep as people build it, and every application embedding
// [Bootstrap], cannot be made to fail or die by its environment. Tests of
// this package set testFaults instead.
//
// The variable's value is a comma-separated list of ACTION@STEP, ACTION
// one of:
//
//	crash   SIGKILL the process when it reaches STEP
//	fail    make STEP fail with an error
//	enospc  make the writes of STEP fail as a full disk does ("stage:PACK")
//	pause   at STEP, create the file named by pauseEnv and wait until it
//	        is removed (a test changes the root meanwhile)
const faultEnv = "UPKEEP_TEST_FAULT"

// pauseEnv names the file a "pause" fault creates and waits on.
const pauseEnv = "UPKEEP_TEST_PAUSE"

// Fault actions. actionStop is for tests in this package only: it stops
// the batch where it is, as a kill would, by panicking with a stopped.
const (
	actionCrash  = "crash"
	actionFail   = "fail"
	actionENOSPC = "enospc"
	actionPause  = "pause"
	actionStop   = "stop"
)

type faults map[string]string // step -> action

// testFaults, set by tests of this package, is used instead of the
// environment.
var testFaults faults

// loadFaults returns the faults of this run: none, unless a test of this
// package set testFaults or the binary was built with upkeep_faults.
func loadFaults() faults {
	if testFaults != nil {
		return testFaults
	}
	return envFaults()
}

// parseFaults reads the value of faultEnv.
func parseFaults(v string) (faults, error) {
	if v == "" {
		return nil, nil
	}
	f := faults{}
	for _, item := range strings.Split(v, ",") {
		action, step, ok := strings.Cut(item, "@")
		if !ok || step == "" {
			return nil, fmt.Errorf("%s: %q is not ACTION@STEP", faultEnv, item)
		}
		switch action {
		case actionCrash, actionFail, actionENOSPC:
		case actionPause:
			if os.Getenv(pauseEnv) == "" {
				return nil, fmt.Errorf("%s: %q needs %s, the file to wait on", faultEnv, item, pauseEnv)
			}
		default:
			return nil, fmt.Errorf("%s: unknown action %q (crash, fail, enospc or pause)", faultEnv, action)
		}
		f[step] = action
	}
	return f, nil
}

// stopped is what a test's "stop" fault panics with.
type stopped struct{ step string }

// at is called at each step boundary.
func (f faults) at(step string) error {
	switch f[step] {
	case actionCrash:
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Kill() // SIGKILL where there are signals
		}
		select {} // the kill is on its way
	case actionStop:
		panic(stopped{step})
	case actionPause:
		return pause(os.Getenv(pauseEnv), step)
	case actionFail:
		return fmt.Errorf("injected failure at %s", step)
	}
	return nil
}

// diskFull tells whether writes of step fail as on a full disk.
func (f faults) diskFull(step string) bool { return f[step] == actionENOSPC }

// pause creates file and waits, for at most a minute, until it is
// removed.
func pause(file, step string) error {
	if err := os.WriteFile(file, []byte(step+"\n"), 0o644); err != nil {
		return fmt.Errorf("pause at %s: %w", step, err)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	return fmt.Errorf("pause at %s: %s was not removed within a minute", step, file)
}
