package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-version"
)

// Format is the manifest format this package reads and writes.
const Format = 1

// FileName is the name of the manifest inside an update zip and inside an
// installed pack's folder.
const FileName = "manifest.json"

// Manifest is an update's manifest.json, format 1.
type Manifest struct {
	Format       int               `json:"format"`
	Pack         string            `json:"pack"`
	Version      string            `json:"version"`
	Title        string            `json:"title,omitempty"`
	Released     string            `json:"released,omitempty"`
	WhatsNew     string            `json:"whats_new,omitempty"`
	UpgradesFrom string            `json:"upgrades_from,omitempty"`
	Requires     map[string]string `json:"requires,omitempty"`
	Database     *Database         `json:"database,omitempty"`
	Files        []File            `json:"files,omitempty"`
}

// Database is what an update does to the database.
type Database struct {
	SchemaVersion int      `json:"schema_version"`
	Tables        []string `json:"tables,omitempty"`
	Changes       string   `json:"changes,omitempty"`
}

// File is one entry of the zip other than manifest.json.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Mode   string `json:"mode,omitempty"`
}

// Parse decodes and validates a manifest.
func Parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", FileName, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks every field and returns one error per problem, joined.
func (m *Manifest) Validate() error {
	if _, err := version.NewVersion(m.Version); err != nil {
		return fmt.Errorf("%s: version %q: %w", FileName, m.Version, err)
	}
	return nil
}

// SemVersion returns the parsed version. It panics on a manifest that did
// not pass Validate.
func (m *Manifest) SemVersion() *version.Version {
	return version.Must(version.NewVersion(m.Version))
}

// SchemaVersion returns database.schema_version, or 0 when the pack has no
// database section.
func (m *Manifest) SchemaVersion() int {
	if m.Database == nil {
		return 0
	}
	return m.Database.SchemaVersion
}
