// Command migrate benchmarks upkeep's migration engine against goose v3.29.0
// and the sqlite3 command-line shell, process against process, on the
// standard workload of
// ../shared/bench/gen_migrations.sh (N small migrations, each creating one
// table and inserting one row).
//
// It builds upkeep from the repository, installs goose v3.29.0 from the module
// proxy into a temporary GOBIN (the build the issue names, and, for
// PostgreSQL, a second one with goose's postgres driver), makes the
// migrations once, packs them as the update of a pack "bench" and installs it
// once into a template root. Then, per workload, it runs the two sides
// alternately and paired (the order of the sides rotates from run to run,
// so that each goes first equally often), after one unrecorded warm-up of
// each side:
//
//	SQLite up:      upkeep --root R db up --no-backup      (fresh root, no database)
//	                sqlite3 NEW.db < up.sql                (/usr/bin/sqlite3: the
//	                  same SQL statements, the N up files concatenated in order
//	                  inside BEGIN; ... COMMIT;, with the shell's defaults)
//	                goose -dir D sqlite3 NEW.db up
//	                and, as controls, the floor of upkeep's SQLite driver (this
//	                program run as `migrate -exec-sql NEW.db up.sql`: the same
//	                file in one Exec through modernc.org/sqlite, with upkeep's
//	                settings, and nothing else), and goose with those settings:
//	                goose -dir D sqlite3 'file:NEW.db?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)' up
//	SQLite status:  upkeep --root R db status               (all N applied)
//	                goose -dir D sqlite3 FILE status
//	                and, as controls, upkeep --version (the binary's start
//	                alone) and the floor of a Go program on upkeep's driver
//	                (this program run as `migrate -read-history FILE`: it
//	                reads upkeep's history rows, and nothing else)
//	PostgreSQL up and status, the same on a fresh database per side and pair
//	(CREATE DATABASE, dropped afterwards), with -postgres URL.
//
// It prints, per workload, each side's median wall time and peak RSS, and the
// median, min and max of the paired ratios of upkeep to each other side.
//
//	go run ./bench/migrate [-runs 7] [-n 1000] [-only up,status,postgres] [-postgres URL] [-dir DIR] [-gen ../shared/bench/gen_migrations.sh]
//
// -only runs only the workloads it lists (default all three). -postgres
// defaults to $UPKEEP_TEST_POSTGRES; without it PostgreSQL is skipped.
// Goals: SQLite up at most 1.5x the sqlite3 shell's (issue "Backups that
// cost what changed") and at most 0.25x goose's (issue "Per-pack database
// schemas"); SQLite status at most 0.2x goose's (issue "Backups that cost
// what changed"; it was 0.5x); PostgreSQL is reported only.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/upkeep/upkeep/bench/internal/paired"
	"github.com/upkeep/upkeep/layout"
)

const gooseModule = "github.com/pressly/goose/v3/cmd/goose@v3.29.0"

// The build of goose, and the one for PostgreSQL: the same without
// no_postgres. (goose -h lists every driver whatever the tags, so it cannot
// tell the two apart: a postgres command on the first fails with
// `sql: unknown driver "pgx"`.)
var (
	gooseTags   = "no_clickhouse no_mssql no_azuresql no_mysql no_postgres no_vertica no_ydb no_libsql"
	gooseTagsPG = "no_clickhouse no_mssql no_azuresql no_mysql no_vertica no_ydb no_libsql"
)

// A side is one process of a pair: prepare makes its fresh state (untimed),
// cmd is what is timed, check verifies what it did (untimed).
type side struct {
	name    string
	prepare func(i int) []string // the command line for pair i
	stdin   string               // a file the command reads as its standard input; "" none
	check   func(i int) error
	cleanup func(i int)
}

type result struct {
	name string
	ms   []float64
	rss  int64
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-exec-sql" {
		execSQL(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "-read-history" {
		readHistory(os.Args[2])
		return
	}
	runs := flag.Int("runs", 7, "paired runs per workload")
	n := flag.Int("n", 1000, "migrations")
	pg := flag.String("postgres", os.Getenv("UPKEEP_TEST_POSTGRES"), "PostgreSQL server URL (a database on it to connect to for CREATE DATABASE); empty: skip PostgreSQL")
	dirFlag := flag.String("dir", "", "work folder (default: a new temporary folder, removed at the end)")
	gen := flag.String("gen", "../shared/bench/gen_migrations.sh", "the migrations generator")
	only := flag.String("only", "up,status,postgres", "the workloads to run, comma-separated: up, status, postgres")
	flag.Parse()
	log.SetFlags(0)
	if *runs < 1 || *n < 1 {
		log.Fatal("-runs and -n must be at least 1")
	}
	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		switch w = strings.TrimSpace(w); w {
		case "up", "status", "postgres":
			want[w] = true
		default:
			log.Fatalf("-only: unknown workload %q (up, status, postgres)", w)
		}
	}
	if !want["postgres"] {
		*pg = ""
	}

	dir := *dirFlag
	if dir == "" {
		d, err := os.MkdirTemp("", "upkeep-bench-migrate-")
		must(err)
		dir = d
		atExit(func() { os.RemoveAll(dir) })
	} else {
		must(os.MkdirAll(dir, 0o755))
	}
	dir, err := filepath.Abs(dir)
	must(err)
	genScript, err := filepath.Abs(*gen)
	must(err)

	// Builds.
	upkeep := filepath.Join(dir, "bin", "upkeep")
	must(run("go", "build", "-o", upkeep, "."))
	goose := installGoose(filepath.Join(dir, "goose-sqlite"), gooseTags)
	var goosePG string
	if *pg != "" {
		goosePG = installGoose(filepath.Join(dir, "goose-pg"), gooseTagsPG)
	}

	// The migrations, once.
	gdir := filepath.Join(dir, "gen")
	must(os.RemoveAll(gdir))
	must(run("sh", genScript, fmt.Sprint(*n), gdir))
	gooseDir := filepath.Join(gdir, "goose")

	// The pack, installed once into a template root (which runs the N
	// migrations: its database is the "all applied" one of the status
	// workload).
	tpl := installPack(upkeep, dir, "template", filepath.Join(gdir, "migrate"), *n)

	// newRoot makes a root holding only the installed pack of template: no
	// database (a SQLite one is made by upkeep init, outside the timing).
	newRoot := func(template, name string) string {
		r := filepath.Join(dir, name)
		must(os.RemoveAll(r))
		must(os.MkdirAll(filepath.Join(r, "packs"), 0o755))
		must(os.MkdirAll(layout.Root{Dir: r}.Pending(), 0o755)) // a root
		must(os.CopyFS(filepath.Join(r, "packs", "bench"), os.DirFS(filepath.Join(template, "packs", "bench"))))
		return r
	}
	sqliteTables := func(file string) error { return countTables("sqlite", file, *n) }

	fmt.Printf("upkeep vs goose v3.29.0 and the sqlite3 shell, %d migrations (gen_migrations.sh), %d paired runs per workload\n", *n, *runs)
	fmt.Printf("  load average before: %s\n", paired.Loadavg())

	if want["up"] {
		benchSQLiteUp(*runs, *n, dir, upkeep, goose, gdir, tpl, newRoot, sqliteTables)
	}
	if want["status"] {
		benchSQLiteStatus(*runs, *n, dir, upkeep, goose, gooseDir, tpl, sqliteTables)
	}
	if *pg != "" {
		// The workload's `id INTEGER PRIMARY KEY` is SQLite's rowid alias:
		// on PostgreSQL it is a plain NOT NULL column and the INSERT fails,
		// for goose and upkeep alike. Both sides get the same copy with
		// `id SERIAL PRIMARY KEY` instead.
		pgGen := filepath.Join(dir, "gen-pg")
		must(os.RemoveAll(pgGen))
		for _, l := range []string{"migrate", "goose"} {
			must(rewriteCopy(filepath.Join(gdir, l), filepath.Join(pgGen, l), "id INTEGER PRIMARY KEY", "id SERIAL PRIMARY KEY"))
		}
		pgTpl := installPack(upkeep, dir, "template-pg", filepath.Join(pgGen, "migrate"), *n)
		newPGRoot := func(name string) string { return newRoot(pgTpl, name) }
		benchPostgres(*pg, *runs, *n, dir, upkeep, goosePG, filepath.Join(pgGen, "goose"), newPGRoot)
	} else if want["postgres"] {
		fmt.Println("PostgreSQL: skipped (no -postgres URL, UPKEEP_TEST_POSTGRES unset)")
	}
	fmt.Printf("  load average after: %s\n", paired.Loadavg())
	exit(0)
}

// benchSQLiteUp times the N migrations into a new SQLite file: upkeep db up,
// the sqlite3 shell on the same SQL in one transaction, goose, and goose
// with upkeep's settings.
func benchSQLiteUp(runs, n int, dir, upkeep, goose, gdir, tpl string, newRoot func(template, name string) string, sqliteTables func(string) error) {
	gooseDir := filepath.Join(gdir, "goose")
	upSQL := filepath.Join(dir, "up.sql")
	must(concatUp(filepath.Join(gdir, "migrate"), upSQL))
	upRoot := func(i int) string { return filepath.Join(dir, fmt.Sprintf("up-root-%d", i)) }
	gooseDB := func(tag string, i int) string { return filepath.Join(dir, fmt.Sprintf("%s-%d.db", tag, i)) }
	self, err := os.Executable()
	must(err)
	res := pairs(runs, []side{
		{
			name: "upkeep db up --no-backup",
			prepare: func(i int) []string {
				r := newRoot(tpl, filepath.Base(upRoot(i)))
				must(runQuiet(upkeep, "init", "--quiet", r)) // the empty database, with upkeep's tables
				return []string{upkeep, "--root", r, "db", "up", "--no-backup", "--quiet"}
			},
			check:   func(i int) error { return sqliteTables(filepath.Join(upRoot(i), "data", "app.db")) },
			cleanup: func(i int) { os.RemoveAll(upRoot(i)) },
		},
		{
			name: "sqlite3 NEW.db < up.sql (one transaction)",
			prepare: func(i int) []string {
				removeDB(gooseDB("sqlite3", i))
				return []string{sqlite3, "-bail", gooseDB("sqlite3", i)}
			},
			stdin:   upSQL,
			check:   func(i int) error { return sqliteTables(gooseDB("sqlite3", i)) },
			cleanup: func(i int) { removeDB(gooseDB("sqlite3", i)) },
		},
		{
			name: "goose sqlite3 up",
			prepare: func(i int) []string {
				return []string{goose, "-dir", gooseDir, "sqlite3", gooseDB("goose-up", i), "up"}
			},
			check:   func(i int) error { return sqliteTables(gooseDB("goose-up", i)) },
			cleanup: func(i int) { removeDB(gooseDB("goose-up", i)) },
		},
		{
			name: "modernc.org/sqlite floor, one Exec (control)",
			prepare: func(i int) []string {
				removeDB(gooseDB("floor", i))
				return []string{self, "-exec-sql", gooseDB("floor", i), upSQL}
			},
			check:   func(i int) error { return sqliteTables(gooseDB("floor", i)) },
			cleanup: func(i int) { removeDB(gooseDB("floor", i)) },
		},
		{
			name: "goose sqlite3 up, WAL+synchronous=NORMAL (control)",
			prepare: func(i int) []string {
				return []string{goose, "-dir", gooseDir, "sqlite3",
					"file:" + gooseDB("goose-wal", i) + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)", "up"}
			},
			check:   func(i int) error { return sqliteTables(gooseDB("goose-wal", i)) },
			cleanup: func(i int) { removeDB(gooseDB("goose-wal", i)) },
		},
	})
	report(fmt.Sprintf("SQLite up: %d migrations into a new file", n), res, map[int]float64{1: 1.5, 2: 0.25})
	// What the driver alone costs: no program on it meets the 1.5x goal
	// if its floor does not.
	floor := make([]float64, len(res[3].ms))
	for i := range floor {
		floor[i] = res[3].ms[i] / res[1].ms[i]
	}
	fmt.Printf("  paired ratio %s / %s: median %.3f (min %.3f, max %.3f)\n", res[3].name, res[1].name, paired.Median(floor), minOf(floor), maxOf(floor))
}

// benchSQLiteStatus times db status with the N migrations applied, against
// goose status.
func benchSQLiteStatus(runs, n int, dir, upkeep, goose, gooseDir, tpl string, sqliteTables func(string) error) {
	self, err := os.Executable()
	must(err)
	gooseStatusDB := filepath.Join(dir, "goose-status.db")
	removeDB(gooseStatusDB)
	must(runQuiet(goose, "-dir", gooseDir, "sqlite3", gooseStatusDB, "up"))
	must(sqliteTables(gooseStatusDB))
	res := pairs(runs, []side{
		{
			name:    "upkeep db status",
			prepare: func(int) []string { return []string{upkeep, "--root", tpl, "db", "status"} },
		},
		{
			name:    "goose sqlite3 status",
			prepare: func(int) []string { return []string{goose, "-dir", gooseDir, "sqlite3", gooseStatusDB, "status"} },
		},
		{
			name:    "upkeep --version (start-up, control)",
			prepare: func(int) []string { return []string{upkeep, "--version"} },
		},
		{
			name:    "modernc.org/sqlite floor, read history (control)",
			prepare: func(int) []string { return []string{self, "-read-history", filepath.Join(tpl, "data", "app.db")} },
		},
	})
	report(fmt.Sprintf("SQLite status: %d applied", n), res, map[int]float64{1: 0.2})
	// What a start alone costs, against goose status: no command of
	// upkeep's binary meets the 0.2x goal if its start-up does not.
	for _, k := range []int{2, 3} {
		r := make([]float64, len(res[k].ms))
		for i := range r {
			r[i] = res[k].ms[i] / res[1].ms[i]
		}
		fmt.Printf("  paired ratio %s / %s: median %.3f (min %.3f, max %.3f)\n", res[k].name, res[1].name, paired.Median(r), minOf(r), maxOf(r))
	}
}

// readHistory reads upkeep's history rows from the SQLite database file,
// read-only, with upkeep's settings: the floor of any Go program on
// upkeep's driver that learns which migrations are applied.
func readHistory(file string) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		log.Fatal(err)
	}
	rows, err := db.Query(`SELECT pack, version, name, sha256 FROM upkeep_migrations ORDER BY id`)
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var pack, name, sum string
		var version int64
		if err := rows.Scan(&pack, &version, &name, &sum); err != nil {
			log.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	if n == 0 {
		log.Fatalf("%s: no history rows", file)
	}
	db.Close()
}

// execSQL runs the SQL file script on the SQLite database file, with
// upkeep's settings (internal/dbaddr), in one Exec: the floor of what
// upkeep can do through its driver.
func execSQL(file, script string) {
	b, err := os.ReadFile(script)
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec(string(b)); err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}
}

// sqlite3 is the shell the up workload compares with.
const sqlite3 = "/usr/bin/sqlite3"

// concatUp writes to out the up files of the golang-migrate folder from,
// in version order, inside BEGIN; ... COMMIT;: the same statements upkeep
// runs, in one transaction, for the sqlite3 shell.
func concatUp(from, out string) error {
	files, err := filepath.Glob(filepath.Join(from, "*.up.sql"))
	if err != nil {
		return err
	}
	sort.Strings(files) // the versions are zero-padded to one width
	var b bytes.Buffer
	b.WriteString("BEGIN;\n")
	for _, f := range files {
		t, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		b.Write(t)
		if len(t) > 0 && t[len(t)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	b.WriteString("COMMIT;\n")
	return os.WriteFile(out, b.Bytes(), 0o644)
}

func benchPostgres(server string, runs, n int, dir, upkeep, goose, gooseDir string, newRoot func(name string) string) {
	admin, err := sql.Open("pgx", server)
	must(err)
	atExit(func() { admin.Close() }) // after the drops registered below
	ctx := context.Background()
	must(admin.PingContext(ctx))
	base, err := url.Parse(server)
	must(err)
	prefix := fmt.Sprintf("upkeep_bench_migrate_%d_", os.Getpid())
	dbURL := func(name string) string {
		u := *base
		u.Path = "/" + name
		return u.String()
	}
	create := func(name string) {
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			die(fmt.Errorf("CREATE DATABASE %s: %w", name, err))
		}
		atExit(func() { admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name) })
	}
	drop := func(name string) {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			log.Printf("warning: DROP DATABASE %s: %v", name, err)
		}
	}
	pgTables := func(name string) error { return countTables("pgx", dbURL(name), n) }
	upRoot := func(i int) string { return filepath.Join(dir, fmt.Sprintf("pg-up-root-%d", i)) }
	name := func(tag string, i int) string { return fmt.Sprintf("%s%s_%d", prefix, tag, i) }

	res := pairs(runs, []side{
		{
			name: "upkeep db up --no-backup",
			prepare: func(i int) []string {
				r := newRoot(filepath.Base(upRoot(i)))
				create(name("u", i))
				return []string{upkeep, "--root", r, "--db", dbURL(name("u", i)), "db", "up", "--no-backup", "--quiet"}
			},
			check:   func(i int) error { return pgTables(name("u", i)) },
			cleanup: func(i int) { os.RemoveAll(upRoot(i)); drop(name("u", i)) },
		},
		{
			name: "goose postgres up",
			prepare: func(i int) []string {
				create(name("g", i))
				return []string{goose, "-dir", gooseDir, "postgres", dbURL(name("g", i)), "up"}
			},
			check:   func(i int) error { return pgTables(name("g", i)) },
			cleanup: func(i int) { drop(name("g", i)) },
		},
	})
	report(fmt.Sprintf("PostgreSQL up: %d migrations into a new database", n), res, nil)

	// Status: one database per side with all N applied.
	su, sg := prefix+"status_u", prefix+"status_g"
	create(su)
	create(sg)
	defer drop(su)
	defer drop(sg)
	root := newRoot("pg-status-root")
	defer os.RemoveAll(root)
	must(runQuiet(upkeep, "--root", root, "--db", dbURL(su), "db", "up", "--no-backup", "--quiet"))
	must(pgTables(su))
	must(statusIs(upkeep, n, "--root", root, "--db", dbURL(su)))
	must(runQuiet(goose, "-dir", gooseDir, "postgres", dbURL(sg), "up"))
	must(pgTables(sg))
	res = pairs(runs, []side{
		{
			name:    "upkeep db status",
			prepare: func(int) []string { return []string{upkeep, "--root", root, "--db", dbURL(su), "db", "status"} },
		},
		{
			name:    "goose postgres status",
			prepare: func(int) []string { return []string{goose, "-dir", gooseDir, "postgres", dbURL(sg), "status"} },
		},
	})
	report(fmt.Sprintf("PostgreSQL status: %d applied", n), res, nil)
}

// pairs runs the sides runs times, after one unrecorded warm-up of each, and
// syncs the file systems before each timed process.
// The order within a run rotates from run to run, so each side goes first
// (and last) equally often.
func pairs(runs int, sides []side) []result {
	res := make([]result, len(sides))
	for i := -1; i < runs; i++ { // i == -1: the warm-up
		order := make([]int, len(sides))
		for k := range order {
			order[k] = (k + i + 1) % len(sides)
		}
		for _, k := range order {
			s := sides[k]
			args := s.prepare(i + 1)
			// Flush what preparing and the last cleanup left dirty (a
			// copied root, deleted files, dropped databases), so that no
			// side pays for the write-back of another's setup.
			syncAll()
			ms, rss, out, err := timedIn(args, s.stdin)
			if err != nil {
				die(fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out))
			}
			if s.check != nil {
				if err := s.check(i + 1); err != nil {
					die(fmt.Errorf("%s: %v", s.name, err))
				}
			}
			if s.cleanup != nil {
				s.cleanup(i + 1)
			}
			if i >= 0 {
				res[k].ms = append(res[k].ms, ms)
				res[k].rss = max(res[k].rss, rss)
			}
		}
	}
	for k := range res {
		res[k].name = sides[k].name
	}
	return res
}

// report prints each side's median and peak RSS, and the paired ratios of the
// first side (upkeep) to each other side; goals[k], when present, is the goal
// for the ratio to side k, judged on the median.
func report(title string, res []result, goals map[int]float64) {
	fmt.Printf("\n%s\n", title)
	for _, r := range res {
		fmt.Printf("  %-52s median %8.1f ms   peak RSS %6.1f MB\n", r.name, paired.Median(r.ms), float64(r.rss)/1e6)
	}
	for k := 1; k < len(res); k++ {
		ratios := make([]float64, len(res[0].ms))
		for i := range ratios {
			ratios[i] = res[0].ms[i] / res[k].ms[i]
		}
		med := paired.Median(ratios)
		line := fmt.Sprintf("  paired ratio upkeep / %s: median %.3f (min %.3f, max %.3f)", res[k].name, med, minOf(ratios), maxOf(ratios))
		if goal, ok := goals[k]; ok {
			line += fmt.Sprintf("; goal <= %.2f: %s", goal, paired.Verdict(med <= goal))
		} else if k == 1 {
			line += "; no goal (reported)"
		}
		fmt.Println(line)
	}
	for _, r := range res {
		fmt.Printf("    %s, each run (ms):", r.name)
		for _, v := range r.ms {
			fmt.Printf(" %.0f", v)
		}
		fmt.Println()
	}
}

// timed runs args with its output captured (returned on failure) and an
// environment without UPKEEP_* variables (UPKEEP_DB would redirect upkeep).
func timed(args []string) (ms float64, rss int64, out []byte, err error) {
	return timedIn(args, "")
}

// timedIn is timed with the file stdin, when not "", as standard input.
func timedIn(args []string, stdin string) (ms float64, rss int64, out []byte, err error) {
	var buf bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			return 0, 0, nil, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.Env = childEnv()
	d, rss, err := paired.Run(cmd)
	return paired.Ms(d), rss, buf.Bytes(), err
}

func childEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "UPKEEP_") {
			env = append(env, e)
		}
	}
	return env
}

// installPack packs the migrations of migrateDir as pack "bench" 1.0.0 with
// upkeep pack and installs it with upkeep --install-updates into a new root
// dir/name, whose SQLite database then has them all applied. It returns the
// root.
func installPack(upkeep, dir, name, migrateDir string, n int) string {
	src := filepath.Join(dir, name+"-src")
	must(os.RemoveAll(src))
	must(os.MkdirAll(src, 0o755))
	must(os.CopyFS(filepath.Join(src, "migrations"), os.DirFS(migrateDir)))
	m, err := json.MarshalIndent(map[string]any{
		"format": 1, "pack": "bench", "version": "1.0.0", "title": "Bench",
		"database": map[string]any{"schema_version": n, "tables": []string{}},
	}, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(src, "manifest.json"), m, 0o644))
	zip := filepath.Join(dir, name+"-bench-1.0.0.zip")
	must(runQuiet(upkeep, "pack", src, "-o", zip)) // it warns of every table t_N the manifest does not list
	root := filepath.Join(dir, name)
	must(os.RemoveAll(root))
	must(os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755))
	must(copyFile(zip, filepath.Join(root, "Updates_Pending", "bench-1.0.0.zip")))
	must(run(upkeep, "--root", root, "--install-updates", "--no-backup", "--quiet"))
	must(statusIs(upkeep, n, "--root", root))
	must(countTables("sqlite", filepath.Join(root, "data", "app.db"), n))
	return root
}

// rewriteCopy copies the files of folder from into folder to, replacing old
// with new in each.
func rewriteCopy(from, to, old, new string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(old), []byte(new))
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func installGoose(bin, tags string) string {
	must(os.MkdirAll(bin, 0o755))
	cmd := exec.Command("go", "install", "-tags", tags, gooseModule)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		die(fmt.Errorf("GOBIN=%s go install -tags '%s' %s: %v", bin, tags, gooseModule, err))
	}
	g := filepath.Join(bin, "goose")
	out, err := exec.Command(g, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v3.29.0") {
		die(fmt.Errorf("%s --version: %v: %s", g, err, out))
	}
	return g
}

// statusIs checks that upkeep db status --json says pack bench is at n.
func statusIs(upkeep string, n int, global ...string) error {
	cmd := exec.Command(upkeep, append(global, "db", "status", "--json")...)
	cmd.Env = childEnv()
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("upkeep db status: %v", err)
	}
	var st struct {
		Packs []struct {
			Pack           string
			Code, Database int
		}
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return fmt.Errorf("upkeep db status --json: %v", err)
	}
	for _, p := range st.Packs {
		if p.Pack == "bench" && p.Code == n && p.Database == n {
			return nil
		}
	}
	return fmt.Errorf("upkeep db status: pack bench not at schema version %d: %s", n, out)
}

// countTables checks that the database holds the n tables t_1 ... t_n.
func countTables(driver, dsn string, n int) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name GLOB 't_[0-9]*'`
	if driver == "pgx" {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name ~ '^t_[0-9]+$'`
	}
	var got int
	if err := db.QueryRow(q).Scan(&got); err != nil {
		return fmt.Errorf("count tables in %s: %w", dsn, err)
	}
	if got != n {
		return fmt.Errorf("%s holds %d tables t_*, want %d", dsn, got, n)
	}
	return nil
}

func removeDB(file string) {
	for _, s := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(file + s)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func runQuiet(name string, args ...string) error {
	_, _, out, err := timed(append([]string{name}, args...))
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

var cleanups []func()

// atExit registers f to run at exit, last registered first.
func atExit(f func()) { cleanups = append(cleanups, f) }

func exit(code int) {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

func die(err error) {
	log.Print(err)
	exit(1)
}

func must(err error) {
	if err != nil {
		die(err)
	}
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}
