package packs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"testing/fstest"

	"github.com/upkeep/upkeep/packs"
)

// An application that embeds its migrations (here an fstest.MapFS; an
// embed.FS works the same) checks its database at start and migrates it.
func ExampleDB_Up() {
	root, _ := os.MkdirTemp("", "upkeep-example-")
	defer os.RemoveAll(root)
	migrations := fstest.MapFS{
		"migrations/0001_create_posts.up.sql":   {Data: []byte("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);")},
		"migrations/0001_create_posts.down.sql": {Data: []byte("DROP TABLE posts;")},
		"migrations/0002_add_slug.up.sql":       {Data: []byte("ALTER TABLE posts ADD COLUMN slug TEXT;\nUPDATE posts SET slug = '';")},
	}
	ms, err := packs.ReadMigrationsFS(migrations, "migrations")
	if err != nil {
		log.Fatal(err)
	}
	blog := packs.Pack{Name: "blog", Version: "1.0.0", Tables: []string{"posts"}, Migrations: ms}

	ctx := context.Background()
	db, err := packs.Open(ctx, "sqlite:data/app.db", root)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	err = db.Check(ctx, []packs.Pack{blog})
	fmt.Println(errors.Is(err, packs.ErrDatabaseBehind))
	fmt.Println(err)

	res, err := db.Up(ctx, packs.UpOptions{Packs: []packs.Pack{blog}})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range res.Applied {
		fmt.Println("applied", a.Pack, a.Version, a.Name)
	}
	fmt.Println(db.Check(ctx, []packs.Pack{blog}))
	// Output:
	// true
	// packs: pack blog needs database updates: schema version 0 -> 2: 0001_create_posts.up.sql, 0002_add_slug.up.sql; run with --migrate-db to apply them
	// applied blog 1 create_posts
	// applied blog 2 add_slug
	// <nil>
}
