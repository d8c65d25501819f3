package updates_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/updates"
)

// An application calls Bootstrap first thing at its start. Here a root gets
// the sample core pack as an update; the check reports it and stops the
// start, then the install backs up the root, puts the pack in place, runs
// its migrations (on SQLite, data/app.db in the root) and lets the start go
// on.
func ExampleBootstrap() {
	root, err := os.MkdirTemp("", "app")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	zip := filepath.Join(root, "Updates_Pending", "core-2.1.0.zip")
	os.MkdirAll(filepath.Dir(zip), 0o755)
	f, err := os.Create(zip)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := manifest.Build("../examples/core", f); err != nil {
		log.Fatal(err)
	}
	f.Close()

	ctx := context.Background()
	opts := updates.Options{ScanOptions: updates.ScanOptions{Root: root}, Mode: updates.Check}
	r, err := updates.Bootstrap(ctx, opts)
	fmt.Println(errors.Is(err, updates.ErrPending), r.Updates[0].File, r.Updates[0].Status)

	opts.Mode = updates.Install
	r, err = updates.Bootstrap(ctx, opts)
	if err != nil {
		log.Fatal(err) // the application must not start
	}
	for _, u := range r.Batch.Updates {
		fmt.Printf("installed %s %s\n", u.Pack, u.To)
	}
	for _, m := range r.Batch.Migrations {
		fmt.Printf("migrated %s %d_%s\n", m.Pack, m.Version, m.Name)
	}
	_, err = os.Stat(filepath.Join(root, "packs", "core", "templates", "layout.html"))
	fmt.Println(err == nil, len(r.Updates))
	// Output:
	// true core-2.1.0.zip ready
	// installed core 2.1.0
	// migrated core 1_create_users
	// migrated core 2_add_reset_token
	// true 0
}
