package backupstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/layout"
)

// NotesFile is where [SetNote] keeps a line about a backup, such as "the
// install it was taken for failed": .upkeep/backup-notes.json, a JSON
// object of backup ID to note. [List] reads it into [Backup.Note].
const NotesFile = "backup-notes.json"

// Notes returns the notes [SetNote] recorded, by backup ID.
func Notes(root layout.Root) (map[string]string, error) {
	path := filepath.Join(root.State(), NotesFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backupstore: read %s: %w", path, err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("backupstore: %s: %w", path, err)
	}
	return m, nil
}

// SetNote records note against backup id ("" removes it). Notes of
// backups that no longer exist are dropped on the way.
func SetNote(root layout.Root, id, note string) error {
	if err := checkID(id); err != nil {
		return err
	}
	m, err := Notes(root)
	if err != nil {
		return err
	}
	for old := range m {
		if _, err := os.Stat(filepath.Join(root.Backups(), old+".zip")); errors.Is(err, fs.ErrNotExist) {
			delete(m, old)
		}
	}
	if note == "" {
		delete(m, id)
	} else {
		m[id] = note
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(root.State(), NotesFile), append(data, '\n'), 0o644)
}
