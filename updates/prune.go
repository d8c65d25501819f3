package updates

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
)

// PrunedZip is a zip [PruneInstalled] removed from Updates_Installed, or
// left there because its manifest could not be read.
type PrunedZip struct {
	File    string `json:"file"`
	Pack    string `json:"pack,omitempty"`
	Version string `json:"version,omitempty"`
	Problem string `json:"problem,omitempty"` // why it was left alone
}

// PruneInstalled keeps, for each pack, the zips of its keep newest
// versions in Updates_Installed and removes the others (with their
// .minisig). A zip whose manifest cannot be read is left alone and
// reported. keep must be at least 1. The caller holds the root's lock.
func PruneInstalled(root layout.Root, keep int) (removed, skipped []PrunedZip, err error) {
	if keep < 1 {
		return nil, nil, fmt.Errorf("updates: prune: keep %d, want at least 1", keep)
	}
	dir := root.Installed()
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	type zipInfo struct {
		PrunedZip
		m *manifest.Manifest
	}
	byPack := map[string][]zipInfo{}
	for _, d := range des {
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".zip") {
			continue
		}
		z, err := manifest.OpenZip(filepath.Join(dir, d.Name()), manifest.Limits{})
		if err != nil {
			skipped = append(skipped, PrunedZip{File: d.Name(), Problem: firstLine(err.Error())})
			continue
		}
		m := z.Manifest
		z.Close()
		byPack[m.Pack] = append(byPack[m.Pack], zipInfo{PrunedZip{File: d.Name(), Pack: m.Pack, Version: m.Version}, m})
	}
	for _, pack := range sortedKeys(byPack) {
		zs := byPack[pack]
		// Newest version first; the same version installed twice, the
		// later name first.
		slices.SortFunc(zs, func(a, b zipInfo) int {
			if c := b.m.SemVersion().Compare(a.m.SemVersion()); c != 0 {
				return c
			}
			return strings.Compare(b.File, a.File)
		})
		for i, z := range zs {
			if i < keep {
				continue
			}
			path := filepath.Join(dir, z.File)
			if err := os.Remove(path); err != nil {
				return removed, skipped, fmt.Errorf("updates: prune %s: %w", path, err)
			}
			if err := os.Remove(path + signing.SigExt); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, skipped, fmt.Errorf("updates: prune %s: %w", path+signing.SigExt, err)
			}
			removed = append(removed, z.PrunedZip)
		}
	}
	return removed, skipped, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
