package feed

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/manifest"
)

// DefaultExpiry is how long an index built without an explicit expiry is
// accepted.
const DefaultExpiry = 14 * 24 * time.Hour

// BuildOptions says what [Build] builds.
type BuildOptions struct {
	ZipDir string // the update zips (and their .minisig, if signed already)
	OutDir string // the feed folder: index.json, .minisig, the zips
	// SignKey, when set, is the minisign secret key that signs index.json
	// and each zip that has no .minisig of its own; Password decrypts it.
	SignKey, Password string
	// Expiry is how long after Now the index is accepted; 0 is
	// DefaultExpiry.
	Expiry time.Duration
	// App names the application; "" keeps the previous index's, or else
	// takes OutDir's base name.
	App string
	// Now is the build's time (issued_at, and the signatures' timestamps);
	// zero is time.Now. The same inputs at the same Now give the same
	// bytes.
	Now    time.Time
	Limits manifest.Limits
}

// Build writes a feed into OutDir from the update zips of ZipDir: each
// zip checked as an update and copied with its signature, and index.json
// (serial one more than the index already in OutDir, entries read from
// the zips' manifests, sorted by pack and version), signed with SignKey.
// Zips already in OutDir with the same content are not copied again.
func Build(opts BuildOptions) (*Index, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	opts.Now = opts.Now.UTC().Truncate(time.Second)
	if opts.Expiry == 0 {
		opts.Expiry = DefaultExpiry
	}
	if opts.Expiry < 0 {
		return nil, fmt.Errorf("%w: expiry %s is negative", ErrBuild, opts.Expiry)
	}
	if opts.Limits == (manifest.Limits{}) {
		opts.Limits = manifest.DefaultLimits()
	}
	entries, err := os.ReadDir(opts.ZipDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	indexPath := filepath.Join(opts.OutDir, IndexName)
	ix := &Index{Format: Format, App: opts.App, Serial: 1, IssuedAt: opts.Now, Expires: opts.Now.Add(opts.Expiry)}
	if data, err := os.ReadFile(indexPath); err == nil {
		prev, err := Parse(indexPath, data)
		if err != nil {
			return nil, fmt.Errorf("%w: the index already in %s cannot be read, so the next serial is unknown:\n%w", ErrBuild, opts.OutDir, err)
		}
		ix.Serial = prev.Serial + 1
		if ix.App == "" {
			ix.App = prev.App
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	if ix.App == "" {
		abs, _ := filepath.Abs(opts.OutDir)
		ix.App = filepath.Base(abs)
	}

	var problems []error
	seen := map[string]string{}
	for _, de := range entries {
		if !strings.EqualFold(filepath.Ext(de.Name()), ".zip") || !de.Type().IsRegular() {
			continue
		}
		src := filepath.Join(opts.ZipDir, de.Name())
		e, err := entryOf(src, opts.Limits)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		key := e.Pack + " " + e.SemVersion().String()
		if other, dup := seen[key]; dup {
			problems = append(problems, fmt.Errorf("%s: %s %s again (also in %s); keep one", src, e.Pack, e.Version, other))
			continue
		}
		seen[key] = de.Name()
		ix.Updates = append(ix.Updates, e)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w:\n%w", ErrBuild, errors.Join(problems...))
	}
	slices.SortFunc(ix.Updates, func(a, b Entry) int {
		if c := strings.Compare(a.Pack, b.Pack); c != 0 {
			return c
		}
		return a.SemVersion().Compare(b.SemVersion())
	})
	for _, e := range ix.Updates {
		if err := copyZip(opts, e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBuild, err)
		}
	}
	// Check what is written as a fetch will read it.
	data := ix.Marshal()
	if _, err := Parse(IndexName, data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	if err := atomicfile.Write(indexPath, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	if opts.SignKey != "" {
		if _, err := signing.SignFileAt(opts.SignKey, opts.Password, indexPath, opts.Now); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBuild, err)
		}
	} else if err := os.Remove(indexPath + signing.SigExt); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	return ix, nil
}

// entryOf reads an update zip's manifest and hashes it.
func entryOf(path string, lim manifest.Limits) (Entry, error) {
	z, err := manifest.OpenZip(path, lim)
	if err != nil {
		return Entry{}, err
	}
	m := z.Manifest
	z.Close()
	sum, size, err := hashFile(path)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Pack: m.Pack, Version: m.Version, URL: filepath.Base(path), Size: size, SHA256: sum,
		Title: m.Title, Released: m.Released, WhatsNew: m.WhatsNew, UpgradesFrom: m.UpgradesFrom}
	if len(m.Requires) > 0 {
		e.Requires = m.Requires
	}
	if m.Database != nil {
		e.Database = &Database{SchemaVersion: m.Database.SchemaVersion, Changes: m.Database.Changes}
	}
	return e, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// copyZip puts e's zip and its signature into the feed folder.
func copyZip(opts BuildOptions, e Entry) error {
	src := filepath.Join(opts.ZipDir, e.URL)
	dest := filepath.Join(opts.OutDir, e.URL)
	if sum, _, err := hashFile(dest); err != nil || sum != e.SHA256 {
		if err := copyFile(src, dest); err != nil {
			return err
		}
	}
	sig, err := os.ReadFile(src + signing.SigExt)
	switch {
	case err == nil:
		return atomicfile.Write(dest+signing.SigExt, 0o644, func(w io.Writer) error {
			_, err := w.Write(sig)
			return err
		})
	case !errors.Is(err, fs.ErrNotExist):
		return err
	case opts.SignKey != "":
		_, err := signing.SignFileAt(opts.SignKey, opts.Password, dest, opts.Now)
		return err
	default:
		if err := os.Remove(dest + signing.SigExt); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
}

func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dest, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
