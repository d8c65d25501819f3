//go:build windows

package backupstore

// oNoFollow is 0 on Windows, which has no O_NOFOLLOW: the scan's Lstat
// already tells links apart, and making one needs a privilege ordinary
// users lack, so only a file swapped for a link between the scan and the
// copy would be followed.
const oNoFollow = 0
