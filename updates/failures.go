package updates

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/statefile"
	"github.com/upkeep/upkeep/layout"
)

// .upkeep/failed.json (layout.Root.Failures) remembers why the last
// install of a zip failed, so that the next check says so until the zip is
// replaced.

type failure struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	Cause   string    `json:"cause"`
	At      time.Time `json:"at"`
}

func loadFailures(root layout.Root) map[string]failure {
	data, err := statefile.ReadFile(root.Failures())
	if err != nil {
		return nil
	}
	var m map[string]failure
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return m
}

func saveFailures(root layout.Root, m map[string]failure) {
	path := root.Failures()
	if len(m) == 0 {
		os.Remove(path)
		return
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return
	}
	// Best effort: losing this record loses a hint, nothing else.
	atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// recordFailure remembers err against zip (the file as it is now). A failure
// of the whole batch is recorded against no zip.
func recordFailure(root layout.Root, zip string, err error) {
	if zip == "" {
		return
	}
	info, serr := os.Stat(filepath.Join(root.Pending(), zip))
	if serr != nil {
		return
	}
	m := loadFailures(root)
	if m == nil {
		m = map[string]failure{}
	}
	m[zip] = failure{Size: info.Size(), ModTime: info.ModTime(), Cause: err.Error(), At: time.Now().UTC()}
	saveFailures(root, m)
}

// forgetFailures drops the records of the zips a committed batch installed.
func forgetFailures(root layout.Root, j *journal) {
	m := loadFailures(root)
	if m == nil {
		return
	}
	for _, p := range j.Packs {
		delete(m, p.Zip)
	}
	saveFailures(root, m)
}

// lastFailure is why the install of the pending zip failed last time, ""
// when it did not or the zip has been replaced since.
func lastFailure(m map[string]failure, zip string, info os.FileInfo) string {
	f, ok := m[zip]
	if !ok || info == nil || f.Size != info.Size() || !f.ModTime.Equal(info.ModTime()) {
		return ""
	}
	return f.Cause
}
