package updates

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/packs"
)

// settleFolders makes sure, before a committed batch is finished, that
// every pack of it is in packs/ at the batch's version, file for file as
// its manifest lists them. On a database several hosts share, the batch
// may count as committed because another host's batch committed the same
// version while this one was killed mid-swap: then this host's folders are
// rolled forward here, from the staged folder, or from the zip still in
// Updates_Pending, instead of being taken for installed.
func settleFolders(opts Options, b batchPaths, j *journal) error {
	for _, p := range j.Packs {
		live := b.root.Pack(p.Pack)
		if checkFolder(live, p.Version) == nil {
			continue
		}
		staged := b.staged(p.Pack)
		if checkFolder(staged, p.Version) != nil {
			// Not staged (or not whole): stage it again from its zip.
			zip := filepath.Join(b.root.Pending(), p.Zip)
			if err := restage(opts, b, p, zip); err != nil {
				return fmt.Errorf("roll %s forward to %s: %w", p.Pack, p.Version, err)
			}
		}
		if exists(live) {
			// The old version never left: move it aside, as the swap does.
			if err := os.MkdirAll(b.oldDir(), 0o755); err != nil {
				return err
			}
			if exists(b.old(p.Pack)) {
				if err := os.RemoveAll(live); err != nil {
					return err
				}
			} else if err := os.Rename(live, b.old(p.Pack)); err != nil {
				return err
			}
		}
		if err := os.Rename(staged, live); err != nil {
			return fmt.Errorf("roll %s forward to %s: %w", p.Pack, p.Version, err)
		}
		if err := atomicfile.SyncDir(b.root.Packs()); err != nil {
			return err
		}
		if err := checkFolder(live, p.Version); err != nil {
			return fmt.Errorf("roll %s forward to %s: %w", p.Pack, p.Version, err)
		}
	}
	return nil
}

// restage extracts zip into the batch's staging folder of p.
func restage(opts Options, b batchPaths, p journalPack, zip string) error {
	f, err := os.Open(zip)
	if err != nil {
		return fmt.Errorf("neither staged nor in Updates_Pending: %w", err)
	}
	defer f.Close()
	if err := os.MkdirAll(b.staging(), 0o755); err != nil {
		return err
	}
	for _, d := range []string{b.part(p.Pack), b.staged(p.Pack)} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if err := stage(context.Background(), f, zip, b.part(p.Pack), opts.Limits, nil, false, nil); err != nil {
		return err
	}
	if err := syncFS(b.part(p.Pack)); err != nil {
		return err
	}
	if err := os.Rename(b.part(p.Pack), b.staged(p.Pack)); err != nil {
		return err
	}
	return checkFolder(b.staged(p.Pack), p.Version)
}

// checkFolder verifies the pack folder dir against its manifest: the
// version, and every listed file present with its size and sha256.
func checkFolder(dir, version string) error {
	in, err := packs.Read(dir)
	if err != nil {
		return err
	}
	if in.Manifest.Version != version {
		return fmt.Errorf("%s holds version %s, not %s", dir, in.Manifest.Version, version)
	}
	for _, mf := range in.Manifest.Files {
		path := filepath.Join(dir, filepath.FromSlash(mf.Path))
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		if n != mf.Size || hex.EncodeToString(h.Sum(nil)) != mf.SHA256 {
			return fmt.Errorf("%s differs from the manifest of %s %s", path, in.Manifest.Pack, version)
		}
	}
	return nil
}
