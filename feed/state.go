package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/upkeep/upkeep/internal/atomicfile"
)

// State is .upkeep/feed.json: per feed URL, the last index this root
// accepted. It is what makes a replayed older index a rollback.
type State struct {
	Format int                    `json:"json_format"`
	Feeds  map[string]*FeedRecord `json:"feeds"`
}

// FeedRecord is the last index accepted from one feed URL.
type FeedRecord struct {
	Serial     int64     `json:"serial"`
	SHA256     string    `json:"sha256"` // of index.json's bytes
	IssuedAt   time.Time `json:"issued_at"`
	Expires    time.Time `json:"expires"`
	AcceptedAt time.Time `json:"accepted_at"`
}

// LoadState reads the state file at path; a missing file is an empty
// state. A file that cannot be read or parsed is an error naming it: the
// rollback protection must not silently reset.
func LoadState(path string) (*State, error) {
	st := &State{Format: Format, Feeds: map[string]*FeedRecord{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON (%v); it records the feeds this root accepted: fix it, or remove it to accept any serial again", path, err)
	}
	if st.Format != Format {
		return nil, fmt.Errorf("%s: json_format %d not supported (want %d)", path, st.Format, Format)
	}
	if st.Feeds == nil {
		st.Feeds = map[string]*FeedRecord{}
	}
	return st, nil
}

// Save writes the state to path atomically.
func (st *State) Save(path string) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}
