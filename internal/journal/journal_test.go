package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type phase string

type record struct {
	Phase phase  `json:"phase"`
	Batch string `json:"batch"`
}

func file(dir string) File[record, phase] {
	return File[record, phase]{
		Path:    filepath.Join(dir, "journal.json"),
		Phases:  []phase{"staging", "committed"},
		PhaseOf: func(r *record) phase { return r.Phase },
	}
}

func TestSaveLoadRemove(t *testing.T) {
	f := file(t.TempDir())
	if rec, err := f.Load(); rec != nil || err != nil {
		t.Fatalf("Load of no journal = %v, %v; want nil, nil", rec, err)
	}
	if err := f.Save(&record{Phase: "staging", Batch: "b1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(&record{Phase: "committed", Batch: "b1"}); err != nil {
		t.Fatal(err)
	}
	rec, err := f.Load()
	if err != nil || rec == nil || rec.Phase != "committed" || rec.Batch != "b1" {
		t.Fatalf("Load = %+v, %v", rec, err)
	}
	data, _ := os.ReadFile(f.Path)
	if !strings.HasSuffix(string(data), "}\n") {
		t.Fatalf("journal %q does not end in a newline", data)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatalf("journal still there: %v", err)
	}
}

func TestUnknownPhaseRefused(t *testing.T) {
	f := file(t.TempDir())
	if err := f.Save(&record{Phase: "swapping"}); err == nil || !strings.Contains(err.Error(), `unknown phase "swapping"`) {
		t.Fatalf("Save of an unknown phase = %v", err)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatal("an unknown phase was written")
	}
	os.WriteFile(f.Path, []byte(`{"phase": "swapping"}`), 0o644)
	if _, err := f.Load(); err == nil || !strings.Contains(err.Error(), f.Path+`: damaged journal: unknown phase "swapping"`) {
		t.Fatalf("Load of an unknown phase = %v", err)
	}
	os.WriteFile(f.Path, []byte(`{"phase": `), 0o644)
	if _, err := f.Load(); err == nil || !strings.Contains(err.Error(), "damaged journal") {
		t.Fatalf("Load of a cut journal = %v", err)
	}
}
