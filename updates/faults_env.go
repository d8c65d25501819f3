//go:build upkeep_faults

package updates

import (
	"fmt"
	"os"
)

// envFaults reads faultEnv: this binary was built with the build tag
// upkeep_faults, for the crash and fault tests. A value it cannot read
// stops the process, so a test never runs without the fault it asked for.
func envFaults() faults {
	f, err := parseFaults(os.Getenv(faultEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "upkeep:", err)
		os.Exit(2)
	}
	return f
}
