//go:build race

package signing

// raceEnabled is true when the tests run under the race detector.
const raceEnabled = true
