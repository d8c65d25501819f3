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
// # Watch
//
// [Watch] keeps scanning: fsnotify events on Updates_Pending only trigger a
// full rescan (debounced), a periodic rescan catches what events miss, and
// where the kernel cannot watch (inotify limits, network file systems) it
// polls. A zip whose size or time still changes, or that has no end of
// central directory yet, is [Incomplete], never ready nor invalid early.
// [ReadState] tells who holds the root's lock and what the journal says.
//
// # Imports
//
// updates sits on top: it imports [github.com/upkeep/upkeep/manifest],
// [github.com/upkeep/upkeep/packs] and [github.com/upkeep/upkeep/backupstore];
// none of them imports it.
package updates
