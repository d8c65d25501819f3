package packs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// benchMigrations makes the standard workload of n migrations with
// ../shared/bench/gen_migrations.sh (or, without it, the same files in Go)
// and returns the golang-migrate layout folder.
func benchMigrations(b *testing.B, n int) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "upkeep-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchDir = dir
		script := os.Getenv("UPKEEP_GEN_MIGRATIONS")
		if script == "" {
			script = "/work/shared/bench/gen_migrations.sh"
		}
		if _, err := os.Stat(script); err == nil {
			out, err := exec.Command("sh", script, fmt.Sprint(n), dir).CombinedOutput()
			if err != nil {
				benchErr = fmt.Errorf("%s: %v\n%s", script, err, out)
			}
			return
		}
		m := filepath.Join(dir, "migrate")
		os.MkdirAll(m, 0o755)
		for i := 1; i <= n; i++ {
			base := filepath.Join(m, fmt.Sprintf("%04d_create_t_%d", i, i))
			os.WriteFile(base+".up.sql", fmt.Appendf(nil, "CREATE TABLE t_%d (id INTEGER PRIMARY KEY, a TEXT);\nINSERT INTO t_%d (a) VALUES ('row %d');\n", i, i, i), 0o644)
			os.WriteFile(base+".down.sql", fmt.Appendf(nil, "DROP TABLE t_%d;\n", i), 0o644)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return filepath.Join(benchDir, "migrate")
}

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// BenchmarkUp1000SQLite applies 1,000 tiny migrations to a new SQLite file:
// open, read the folder, migrate, as `goose up` does.
func BenchmarkUp1000SQLite(b *testing.B) {
	dir := benchMigrations(b, 1000)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		root := filepath.Join(b.TempDir(), fmt.Sprint(i))
		db, err := Open(ctx, "sqlite:app.db", root)
		if err != nil {
			b.Fatal(err)
		}
		ms, err := ReadMigrationsDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		res, err := db.Up(ctx, UpOptions{Packs: []Pack{{Name: "bench", Migrations: ms}}})
		if err != nil || len(res.Applied) != 1000 {
			b.Fatal(err)
		}
		db.Close()
	}
}

// BenchmarkStatus1000SQLite reads the status of 1,000 applied migrations:
// open, read the folder, compare, as `goose status` does.
func BenchmarkStatus1000SQLite(b *testing.B) {
	dir := benchMigrations(b, 1000)
	ctx := context.Background()
	root := b.TempDir()
	db, err := Open(ctx, "sqlite:app.db", root)
	if err != nil {
		b.Fatal(err)
	}
	ms, err := ReadMigrationsDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Up(ctx, UpOptions{Packs: []Pack{{Name: "bench", Migrations: ms}}}); err != nil {
		b.Fatal(err)
	}
	db.Close()
	for b.Loop() {
		db, err := Open(ctx, "sqlite:app.db", root)
		if err != nil {
			b.Fatal(err)
		}
		ms, err := ReadMigrationsDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		st, err := db.Status(ctx, []Pack{{Name: "bench", Migrations: ms}})
		if err != nil || st.Err() != nil || st.Packs[0].Database != 1000 {
			b.Fatal(err, st.Err())
		}
		db.Close()
	}
}

// goose returns the goose binary named by UPKEEP_BENCH_GOOSE, or skips: the
// peer benchmarks run goose on the same workload in the same run, so the
// figures can be compared pairwise (benchstat, or the ratio of medians).
func goose(b *testing.B) string {
	g := os.Getenv("UPKEEP_BENCH_GOOSE")
	if g == "" {
		b.Skip("UPKEEP_BENCH_GOOSE is not set")
	}
	return g
}

// BenchmarkPeerGooseUp1000SQLite is `goose up` of the same 1,000
// migrations on a new SQLite file.
func BenchmarkPeerGooseUp1000SQLite(b *testing.B) {
	g := goose(b)
	dir := filepath.Join(filepath.Dir(benchMigrations(b, 1000)), "goose")
	for i := 0; b.Loop(); i++ {
		file := filepath.Join(b.TempDir(), "app.db")
		if out, err := exec.Command(g, "-dir", dir, "sqlite3", file, "up").CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// BenchmarkPeerGooseStatus1000SQLite is `goose status` with the same 1,000
// migrations applied.
func BenchmarkPeerGooseStatus1000SQLite(b *testing.B) {
	g := goose(b)
	dir := filepath.Join(filepath.Dir(benchMigrations(b, 1000)), "goose")
	file := filepath.Join(b.TempDir(), "app.db")
	if out, err := exec.Command(g, "-dir", dir, "sqlite3", file, "up").CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	for b.Loop() {
		if out, err := exec.Command(g, "-dir", dir, "sqlite3", file, "status").CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}
