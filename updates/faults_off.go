//go:build !upkeep_faults

package updates

// envFaults is none: without the build tag upkeep_faults, the environment
// cannot inject faults.
func envFaults() faults { return nil }
