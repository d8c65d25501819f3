// Package updates is upkeep's bootstrap: what an application's start does
// with the update zips in Updates_Pending.
//
// # Scan
//
// [Scan] lists Updates_Pending, reads each zip's manifest without unpacking
// the zip, checks its signature, and classifies it (see [Status]): ready to
// install, or why not. The ready ones are ordered so that a pack comes after
// the packs it requires.
//
// # Imports
//
// updates sits on top: it imports [github.com/upkeep/upkeep/manifest],
// [github.com/upkeep/upkeep/packs] and [github.com/upkeep/upkeep/backupstore];
// none of them imports it.
package updates
