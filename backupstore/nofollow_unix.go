//go:build unix

package backupstore

import "syscall"

// oNoFollow makes opening a file that was replaced by a symlink since the
// scan fail, rather than back up what the link points to.
const oNoFollow = syscall.O_NOFOLLOW
