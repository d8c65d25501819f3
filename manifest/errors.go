package manifest

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every problem this package reports is a [*Problem] whose
// Err is one of these, so callers sort problems with errors.Is.
var (
	// ErrNotZip is returned by [OpenZip] and [NewZip] when no end of central
	// directory can be found: the file is not a zip, or it is one that is
	// still being copied (truncated). Callers report such a zip as
	// "incomplete" and leave it alone.
	ErrNotZip = errors.New("manifest: not a zip file (or one not completely copied yet)")

	// ErrInvalidZip is returned by [OpenZip] and [NewZip] when the zip has an
	// end of central directory but archive/zip cannot read it, and by
	// [Zip.Open] readers when an entry's data cannot be decompressed.
	ErrInvalidZip = errors.New("manifest: damaged zip file")

	// ErrNoManifest is returned by [OpenZip] and [NewZip] when the zip has no
	// manifest.json entry.
	ErrNoManifest = errors.New("manifest: no manifest.json in the zip")

	// ErrInvalidManifest marks each problem found by [Parse], [ParseSource],
	// [Manifest.Validate] and [OpenZip] in the manifest itself: bad JSON, an
	// unknown field, a field of the wrong type or with a bad value.
	ErrInvalidManifest = errors.New("manifest: invalid manifest.json")

	// ErrUnsafeEntry marks each entry [OpenZip] refuses to install: an unsafe
	// name (absolute, "..", backslash, empty component, duplicate, duplicate
	// but for case), a symlink or device, an encrypted entry, an unsupported
	// compression method, or data overlapping another entry's.
	ErrUnsafeEntry = errors.New("manifest: unsafe zip entry")

	// ErrLimit marks each way a zip exceeds the [Limits] given to [OpenZip].
	ErrLimit = errors.New("manifest: zip exceeds a limit")

	// ErrMismatch marks each disagreement [OpenZip] finds between the zip's
	// entries and the manifest's files: an entry that is not listed, a
	// listed file that is not in the zip, a size that differs, migrations
	// that do not match database.schema_version.
	ErrMismatch = errors.New("manifest: zip does not match its manifest")

	// ErrChecksum is returned at the end of a [Zip.Open] reader, and by
	// [Zip.Verify], when an entry's content does not have the size and sha256
	// the manifest lists (or fails the zip's own crc32).
	ErrChecksum = errors.New("manifest: checksum mismatch")

	// ErrMigration marks each problem [ParseMigrations] finds in the file
	// names of a migrations folder.
	ErrMigration = errors.New("manifest: bad migration file names")

	// ErrBuild marks each problem [Build] finds in a pack's source folder
	// other than in its manifest or migrations: a symlink or special file,
	// an unsafe file name, database.schema_version disagreeing with the
	// migrations, a file that changed while being packed.
	ErrBuild = errors.New("manifest: cannot build update zip")
)

// Problem is one thing wrong with a manifest, a zip, a migrations folder or
// a pack's source folder. Functions that find several return them joined
// with errors.Join; split them with
//
//	if j, ok := err.(interface{ Unwrap() []error }); ok { for _, e := range j.Unwrap() { ... } }
//
// Its message is one line:
//
//	[ZIP: ]manifest.json: DETAIL      for the manifest (Entry == "manifest.json")
//	[ZIP: ]entry "NAME": DETAIL       for one entry of a zip or file of a folder
//	[ZIP: ]DETAIL                     otherwise (Entry == "")
type Problem struct {
	Zip    string // the zip (or source folder) concerned, as given; "" for a manifest on its own
	Entry  string // the entry concerned; "manifest.json" for the manifest's fields; "" for the whole
	Detail string // what is wrong, naming the field and the bad value
	Err    error  // the sentinel: ErrInvalidManifest, ErrUnsafeEntry, ...
}

func (p *Problem) Error() string {
	var b strings.Builder
	if p.Zip != "" {
		b.WriteString(p.Zip)
		b.WriteString(": ")
	}
	switch p.Entry {
	case "":
	case FileName:
		b.WriteString(FileName)
		b.WriteString(": ")
	default:
		fmt.Fprintf(&b, "entry %q: ", p.Entry)
	}
	b.WriteString(p.Detail)
	return b.String()
}

// Unwrap returns the sentinel.
func (p *Problem) Unwrap() error { return p.Err }

// problems collects problems in the order they are found.
type problems []error

func (ps *problems) add(zipName, entry string, kind error, format string, args ...any) {
	*ps = append(*ps, &Problem{Zip: zipName, Entry: entry, Detail: fmt.Sprintf(format, args...), Err: kind})
}

// err returns the problems joined, or nil.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return errors.Join(ps...)
}
