// Package backupstore creates, lists, verifies, restores and prunes the
// backups in a root's Updates_Backups folder: one plain zip per backup
// holding the root's files and a database snapshot.
//
// It imports [github.com/upkeep/upkeep/manifest] and
// [github.com/upkeep/upkeep/packs], never [github.com/upkeep/upkeep/updates].
package backupstore
