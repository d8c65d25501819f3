//go:build !unix

package updates

import "os/exec"

func setProcessGroup(*exec.Cmd) {}
