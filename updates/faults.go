package updates

import (
	"fmt"
	"os"
	"strings"
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
const faultEnv = "UPKEEP_TEST_FAULT"

// Fault actions. actionStop is for tests in this package only: it stops
// the batch where it is, as a kill would, by panicking with a stopped.
const (
	actionCrash  = "crash"
	actionFail   = "fail"
	actionENOSPC = "enospc"
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
		default:
			return nil, fmt.Errorf("%s: unknown action %q (crash, fail or enospc)", faultEnv, action)
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
	case actionFail:
		return fmt.Errorf("injected failure at %s", step)
	}
	return nil
}

// diskFull tells whether writes of step fail as on a full disk.
func (f faults) diskFull(step string) bool { return f[step] == actionENOSPC }
