// Package packs knows the packs installed in a root and keeps each pack's
// database schema at the version its code expects.
//
// It reads installed packs (packs/<name>/manifest.json) and will hold the
// migration engine, the database dialects and locks, and the drift checks.
// It imports [github.com/upkeep/upkeep/manifest] and nothing higher.
package packs
