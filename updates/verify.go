package updates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
)

// Verify checks one update zip, given as a path or as a name in
// Updates_Pending, in full: its manifest, its entries against the manifest,
// the sha256 of every entry, and its signature. It does not plan: whether
// the update's needs are met is [Scan]'s business. The error, nil when the
// zip is sound, wraps [ErrVerify] and joins one error per problem.
func Verify(ctx context.Context, opts ScanOptions, zip string) (*Update, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	path, err := locate(root, zip)
	if err != nil {
		return nil, err
	}
	keys, err := signing.LoadKeyring(root.Trusted(), opts.TrustedKeys)
	if err != nil {
		return nil, err
	}
	fill(&opts)
	u := read(opts, keys, path)
	u.File = zip
	if u.Status == Ready {
		if err := verifyEntries(path, opts.Limits); err != nil {
			u.fail(Invalid, problemLines(path, zip, err)...)
		}
	}
	if len(u.Problems) == 0 {
		return u, nil
	}
	errs := []error{ErrVerify}
	for _, p := range u.Problems {
		errs = append(errs, errors.New(p))
	}
	return u, errors.Join(errs...)
}

func verifyEntries(path string, lim manifest.Limits) error {
	z, err := manifest.OpenZip(path, lim)
	if err != nil {
		return err
	}
	defer z.Close()
	return z.Verify()
}

// locate finds zip as a path, or else as a name in Updates_Pending.
func locate(root layout.Root, zip string) (string, error) {
	for _, p := range []string{zip, filepath.Join(root.Pending(), zip)} {
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%s: %w (looked in the current folder and in %s)", zip, ErrNotFound, root.Pending())
}
