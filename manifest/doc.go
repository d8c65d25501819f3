// Package manifest is the update format: the manifest.json of an update zip
// (format 1), its strict validation, reading it from a zip without unpacking
// the zip, checking the zip's entries against it, verifying each entry's
// sha256 while reading it, and building a complete update zip from a pack's
// source folder.
//
// It is the lowest package of upkeep and imports none of the others.
//
// # Manifests
//
// [Parse] reads the manifest of an update zip or of an installed pack;
// [ParseSource] reads the manifest of a pack's source folder, which has no
// files (upkeep pack computes them). Both are strict: an unknown or
// duplicate key, trailing data or a value of the wrong type is an error.
// They and [Manifest.Validate] return every problem at once, each a
// [*Problem], joined with errors.Join; each message is one line, like
//
//	manifest.json: pack "Blog": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)
//
// # Update zips
//
// [OpenZip] (or [NewZip] on bytes) reads a zip's central directory and its
// manifest.json, and no other entry, and checks entries against manifest
// and [Limits]: every entry listed, with the listed size; names safe; no
// symlink, device, encrypted entry, unsupported compression or overlapping
// data; no zip bomb. A file with no end of central directory, as a zip
// still being copied, gives [ErrNotZip]. [Zip.Open] streams one entry and
// fails at its end, with [ErrChecksum], when its sha256 is not the
// manifest's; [Zip.Verify] reads them all.
//
// [Build] writes the update zip of a pack's source folder, the same bytes
// for the same content. [ParseMigrations] checks the golang-migrate names
// of a migrations folder.
//
// # Errors
//
// Problems are [*Problem] values wrapping one of the sentinels of
// errors.go, so that callers sort them with errors.Is and print them one a
// line.
package manifest
