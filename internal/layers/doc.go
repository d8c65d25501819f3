// Package layers holds no code: its test checks that imports in upkeep run
// one way, from the top down (../shared/DESIGN.md, "Packages"):
//
//	main, bench/*, examples/* -> internal/cli -> admin -> jsondoc -> updates -> feed, backupstore, packs -> manifest -> layout
//
// A package may import packages below it (backupstore, packs and feed may
// also import each other), never one above. Helpers under internal/ may be
// imported from any level and import no public package but manifest and
// layout. A new public package must be given its level in the test's table.
package layers
