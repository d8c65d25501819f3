// Package manifest is the update format: the manifest.json of an update zip
// (format 1), its strict validation, reading it from a zip without unpacking
// the zip, checking the zip's entries against it, verifying each entry's
// sha256 while reading it, and building a complete update zip from a pack's
// source folder.
//
// It is the lowest package of upkeep and imports none of the others.
package manifest
