package updates

import "testing"

// Backups of installs taken in the same second are named _install-2,
// _install-3: they are install backups too, and lose their protection
// when a later install's backup gets it.
func TestInstallBackupNames(t *testing.T) {
	for id, want := range map[string]bool{
		"20261206T101010Z_install":        true,
		"20261206T101010Z_install-2":      true,
		"20261206T101010Z_install-13":     true,
		"20261206T101010Z_install-":       false,
		"20261206T101010Z_install-x":      false,
		"20261206T101010Z_before-restore": false,
		"20261206T101010Z_manual":         false,
		"install":                         false,
		"20261206T101010Z_reinstall":      false,
	} {
		if got := installBackupID.MatchString(id); got != want {
			t.Errorf("installBackup(%q) = %v, want %v", id, got, want)
		}
	}
}
