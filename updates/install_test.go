package updates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/internal/signing"
)

// A zip replaced between the scan and the install is checked again, as
// the very file staging reads: refused, and nothing is installed.
func TestInstallRefusesZipReplacedAfterScan(t *testing.T) {
	root := newRoot(t)
	keys := t.TempDir()
	pub, sec := filepath.Join(keys, "k.pub"), filepath.Join(keys, "k.key")
	if _, err := signing.GenerateKey(pub, sec, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Trust(pub, root.Trusted()); err != nil {
		t.Fatal(err)
	}
	zip := newPack("core", "1.0.0").writeZip(t, pending(root, "core.zip"))
	if _, err := signing.SignFile(sec, "", zip); err != nil {
		t.Fatal(err)
	}
	opts := Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Install, NoBackup: true}
	r, err := Scan(context.Background(), opts.ScanOptions)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, byFile(r)["core.zip"], Ready, "")

	// Someone swaps in another zip under the same name.
	other := newPack("core", "1.0.0").writeZip(t, filepath.Join(t.TempDir(), "other.zip"))
	data, _ := os.ReadFile(other)
	os.WriteFile(zip, append(data, "tampered"...), 0o644)

	_, err = install(context.Background(), opts, root, r)
	var ie *InstallError
	if !errors.As(err, &ie) || !errors.Is(err, ErrRefused) || ie.Zip != "core.zip" || !strings.Contains(err.Error(), "signature does not match") {
		t.Fatalf("err %v, want an InstallError for core.zip wrapping ErrRefused", err)
	}
	if _, err := os.Stat(root.Pack("core")); err == nil {
		t.Fatal("the replaced zip was installed")
	}
	if _, err := os.Stat(zip); err != nil {
		t.Fatal("the zip left Updates_Pending")
	}
}
