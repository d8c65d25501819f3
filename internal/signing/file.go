package signing

import (
	"errors"
	"io"
	"io/fs"

	"github.com/upkeep/upkeep/internal/atomicfile"
)

// errTooLarge is returned by readCapped; callers turn it into a message.
var errTooLarge = errors.New("too large")

// readCapped reads all of r, or fails with errTooLarge past max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errTooLarge
	}
	return data, nil
}

// writeFileAtomic replaces path with data, so that readers see the old
// file or the new one, never a part.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return atomicfile.Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
