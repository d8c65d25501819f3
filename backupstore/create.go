package backupstore

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/internal/writeback"
)

// Create backs up the root's files and database into a new zip in
// Updates_Backups and returns it. See the package documentation for what
// the zip holds and how it is written. Unless opts.Full, files the newest
// backup holds unchanged are referenced instead of stored (see [File]).
//
// Before it writes anything it refuses with a [*NoSpaceError] when the
// backups folder has less free space than the files and the database take
// uncompressed. On any failure no zip is left under a backup's name and the
// temp file is removed.
func Create(ctx context.Context, opts CreateOptions) (*Backup, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	created := now().UTC()
	reason := SanitizeReason(opts.Reason)
	db, err := parseDB(opts.Root, opts.DB, opts.SQL, nil)
	if err != nil {
		return nil, err
	}
	x, err := newExcluder(opts.Exclude, db.excludedPaths())
	if err != nil {
		return nil, err
	}
	if opts.FilesOnly {
		db = dbConfig{kind: DBNone} // its files stay excluded
	}
	// Files an earlier backup holds unchanged are referenced, not stored:
	// the base is read while the root is scanned, and matched as it goes.
	var b0 *baseStream
	if !opts.Full {
		b0 = openBase(opts.Root)
	}
	entries, _, err := scanRoot(opts.Root.Dir, x, b0.match)
	if err != nil {
		go b0.finish()
		return nil, err
	}
	useBase := b0.finish()
	var total int64
	refs := 0
	files := make([]File, len(entries))
	for i, e := range entries {
		if useBase && e.refSHA != "" {
			files[i] = e.reference()
			e.ref = &files[i]
			refs++
		} else if e.typ == TypeFile {
			total += e.size
		}
	}
	var baseID string
	var baseDepth int
	if useBase {
		baseID, baseDepth = b0.id, b0.depth
	}
	dir := opts.Root.Backups()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("backupstore: create %s: %w", dir, err)
	}
	dbSize := db.estimate(ctx)
	// Uncompressed sizes bound the zip (stored entries are never larger);
	// the snapshot's temp file lives beside the zip until the end, so it
	// counts twice; 1 MiB covers headers and backup.json.
	needed := uint64(total) + 2*uint64(dbSize) + 1<<20
	if err := checkSpace(opts.FreeSpace, dir, needed); err != nil {
		return nil, err
	}

	tmp, err := os.CreateTemp(dir, tmpPrefix+"*.partial")
	if err != nil {
		return nil, fmt.Errorf("backupstore: create temp file in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()

	man := &Manifest{
		Format:        Format,
		Created:       created,
		Reason:        reason,
		UpkeepVersion: opts.UpkeepVersion,
		Packs:         opts.Packs,
		Database:      Database{Kind: db.kind, Source: db.source()},
	}
	if refs > 0 {
		man.Base, man.Depth = baseID, baseDepth+1
	}
	if man.Packs == nil {
		man.Packs = map[string]string{}
	}

	// The database first: its snapshot goes into a temp file beside the
	// zip, then into the zip like any file.
	var snapPath string
	switch db.kind {
	case DBNone:
		man.Database.Note = "no database configured"
		if opts.FilesOnly {
			man.Database.Note = "files only: the database was left out"
		}
	default:
		snapPath = tmpName + ".db"
		defer os.Remove(snapPath)
		absent, err := db.snapshot(ctx, snapPath)
		if err != nil {
			return nil, err
		}
		if absent {
			snapPath = ""
			man.Database.Note = "SQLite file " + db.source() + " absent"
		}
	}

	var out io.Writer = writeback.New(tmp, 0)
	if opts.wrapOutput != nil {
		out = opts.wrapOutput(out)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	zw := zip.NewWriter(bw)

	// The totals count what is written: the entries (referenced files count
	// as files of no bytes) and, once taken, the database snapshot as it is
	// on disk (not the estimate made before).
	var snapInfo os.FileInfo
	if snapPath != "" {
		if snapInfo, err = os.Stat(snapPath); err != nil {
			return nil, fmt.Errorf("backupstore: database snapshot: %w", err)
		}
	}
	meterFiles, meterBytes := len(entries), total
	if snapInfo != nil {
		meterFiles, meterBytes = meterFiles+1, meterBytes+snapInfo.Size()
	}
	meter := progress.New(opts.Progress, "backup", meterFiles, meterBytes, progress.Options{})
	p := newPipeline(ctx, opts.Workers, opts.Level, dir, tmpName)
	// backup.json (some 300 bytes a file) is deflated at the files' level,
	// not the zip package's default of 5: it is the bulk of a backup of an
	// unchanged root.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, p.level) })
	if err := p.run(entries, files, FilesDir, zw, meter); err != nil {
		return nil, err
	}
	man.Files = files
	if snapPath != "" {
		fi := snapInfo
		e := entry{rel: db.snapshotName(), abs: snapPath, typ: TypeFile, size: fi.Size(), mode: 0o600, mtime: fi.ModTime()}
		snap := make([]File, 1)
		if err := p.run([]*entry{&e}, snap, "", zw, meter); err != nil {
			return nil, err
		}
		man.Database.Snapshot = &snap[0]
	}
	meter.Done()

	if err := writeManifest(zw, man, created); err != nil {
		return nil, fmt.Errorf("backupstore: write %s: %w", tmpName, err)
	}
	if err := finishZip(zw, bw, tmp); err != nil {
		return nil, err
	}
	id, err := publish(tmpName, dir, created.Format(TimeFormat)+"_"+reason)
	if err != nil {
		return nil, err
	}
	done = true
	os.Remove(tmpName)
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	b := &Backup{ID: id, Kind: KindFull, Path: filepath.Join(dir, id+".zip"), Created: created, Reason: reason, Database: db.kind,
		Base: man.Base, Depth: man.Depth}
	if fi, err := os.Stat(b.Path); err == nil {
		b.Size = fi.Size()
	}
	for _, f := range files {
		b.Files++
		b.Bytes += f.Size
	}
	return b, nil
}

// tmpPrefix starts the names of a backup's temp files in Updates_Backups.
const tmpPrefix = ".tmp-backup-"

// publish gives the finished temp file its backup name, never replacing an
// existing backup: a hard link fails when the name exists, and then the
// next suffix is tried. Where hard links are not supported it falls back to
// a check and a rename. It returns the ID; the caller removes tmp.
func publish(tmp, dir, base string) (string, error) {
	for n := 1; n < 1000; n++ {
		id := base
		if n > 1 {
			id = base + "-" + strconv.Itoa(n)
		}
		final := filepath.Join(dir, id+".zip")
		err := os.Link(tmp, final)
		if err == nil {
			return id, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		// No hard links here: check, then rename (a race with another
		// writer of the same name in the same second is the caller's lock's
		// business).
		if _, serr := os.Lstat(final); serr == nil {
			continue
		}
		if err := os.Rename(tmp, final); err != nil {
			return "", fmt.Errorf("backupstore: rename %s to %s: %w", tmp, final, err)
		}
		return id, nil
	}
	return "", fmt.Errorf("backupstore: no free name for backup %s in %s", base, dir)
}

func hexSum(b []byte) string { return hex.EncodeToString(b) }

func runtimeWorkers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}
