package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/internal/golden"
	"github.com/upkeep/upkeep/packs"
)

// maskJSON replaces what changes from run to run in a JSON document, in
// this one place, so that the golden files hold what stays: the folders
// the test made (by name), times, backup and batch IDs (timestamps),
// durations, host IDs, sizes of what holds a timestamp (backups), and the
// build's commit and Go version.
func maskJSON(doc string, dirs map[string]string) string {
	names := make([]string, 0, len(dirs))
	for name := range dirs {
		names = append(names, name)
	}
	// Longest first: a folder inside another is named as itself.
	slices.SortFunc(names, func(a, b string) int { return len(dirs[b]) - len(dirs[a]) })
	for _, name := range names {
		doc = strings.ReplaceAll(doc, dirs[name], name)
	}
	for _, m := range jsonMasks {
		doc = m.re.ReplaceAllString(doc, m.with)
	}
	return doc
}

var jsonMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`\d{8}T\d{6}(\.\d+)?Z(-\d+)?`), "<stamp>"},
	{regexp.MustCompile(`(<stamp>_[a-z-]+?)-\d+\b`), "$1"}, // two backups in one second
	{regexp.MustCompile(`("\w+_ms": )\d+`), "${1}0"},
	{regexp.MustCompile(`("(host|host_id|hostname|commit|go|platform)": )"[^"]*"`), `${1}"<masked>"`},
	{regexp.MustCompile(`("(id|key_id)": )"[0-9A-F]{1,16}"`), `${1}"<key id>"`},
	{regexp.MustCompile(`("free_bytes": )\d+`), "${1}0"},
	// A file changed less than a second before a backup has no inode and
	// ctime in its record (it is copied again next time): whether the
	// scenario's files do depends on the machine's speed.
	{regexp.MustCompile(`,\n\s*"(inode|ctime_ns)": \d+`), ""},
	// For the same reason a backup references its base or, when every
	// file is that new, stores them all and has none.
	{regexp.MustCompile(`("base": )"[^"]*"(,\n\s*"depth": )\d+`), `${1}"<base>"${2}0`},
	{regexp.MustCompile(`(?s)("snapshot": \{[^}]*"sha256": )"[0-9a-f]{64}"`), `${1}"<sha256>"`},
	{regexp.MustCompile(`(trusted/|key )[0-9A-F]{1,16}\b`), `${1}<key id>`},
	{regexp.MustCompile(`("(size|bytes)": )\d+(,?\n\s*"(created|reason|kind)")`), "${1}0$3"},
	{regexp.MustCompile(`("(sha256|id)": )"[0-9a-f]{64}"(,?\n\s*"(size|created|reason)")`), `${1}"<sha256>"$3`},
}

// jsonStep is one command of the golden scenario.
type jsonStep struct {
	name string // the golden file, testdata/json/NAME.json
	dir  string // "root", "work" or "repo": where the command runs
	code int
	args []string
}

// Every command's JSON document, as the built binary prints it, against
// testdata/json/*.json (go test -run TestJSONGolden ./internal/cli -args
// -update rewrites them). One scenario on one root: pack, check, install,
// the db, backups, keys, history, feed, and errors.
func TestJSONGolden(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	root, work := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	feedDir := filepath.Join(work, "feed")
	srv := httptest.NewServer(http.FileServer(http.Dir(feedDir)))
	defer srv.Close()
	dirs := map[string]string{"$ROOT": root, "$WORK": work, "$REPO": repo, "$FEED_URL": srv.URL}
	env := []string{"UPKEEP_ROOT=" + root, "SOURCE_DATE_EPOCH=1796000000"}

	pend := func(name string) string { return filepath.Join(root, "Updates_Pending", name) }
	// A pack with a schema.sql one column ahead of its migrations, for db
	// generate.
	if err := os.CopyFS(filepath.Join(work, "gen"), os.DirFS(filepath.Join(repo, "examples", "blog"))); err != nil {
		t.Fatal(err)
	}
	schema := "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(200) NOT NULL, body TEXT NOT NULL, slug TEXT);\n" +
		"CREATE TABLE tags (post_id INTEGER NOT NULL, tag VARCHAR(50) NOT NULL, PRIMARY KEY (post_id, tag));\n" +
		"CREATE INDEX tags_by_tag ON tags (tag);\n"
	if err := os.WriteFile(filepath.Join(work, "gen", "schema.sql"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	backupID := ""
	steps := []jsonStep{
		{"keys_generate", "work", 0, []string{"keys", "generate", "--unencrypted", "--name", "release"}},
		{"pack", "repo", 0, []string{"pack", "examples/core", "-o", pend("core-2.1.0.zip"), "--sign", filepath.Join(work, "release.key")}},
		{"", "repo", 0, []string{"pack", "examples/blog", "-o", pend("blog-1.4.0.zip"), "--sign", filepath.Join(work, "release.key")}},
		{"keys_trust", "work", 0, []string{"keys", "trust", "release.pub"}},
		{"keys_list", "work", 0, []string{"keys", "list"}},
		{"init", "work", 0, []string{"init", filepath.Join(work, "new-root")}},
		{"", "repo", 0, []string{"pack", "examples/core", "-o", filepath.Join(work, "new-root", "Updates_Pending", "core-2.1.0.zip")}},
		{"db_baseline", "work", 0, []string{"db", "baseline", "--pack", "core", "--version", "2", "--root", filepath.Join(work, "new-root")}},
		{"", "repo", 0, []string{"pack", "examples/blog", "-o", filepath.Join(work, "new-root", "Updates_Pending", "blog-1.4.0.zip")}},
		{"db_adopt", "work", 0, []string{"db", "adopt", "--pack", "blog", "--from", "golang-migrate", "--root", filepath.Join(work, "new-root")}},
		{"db_generate", "work", 0, []string{"db", "generate", filepath.Join(work, "gen"), "-m", "add_slug"}},
		{"check", "work", 3, []string{"--check-updates"}},
		{"rehearse", "work", 0, []string{"rehearse"}},
		{"updates_list", "work", 0, []string{"updates", "list"}},
		{"updates_show", "work", 0, []string{"updates", "show", "blog-1.4.0.zip"}},
		{"updates_verify", "work", 0, []string{"updates", "verify", "blog-1.4.0.zip"}},
		{"install_dry_run", "work", 0, []string{"--install-updates", "--dry-run"}},
		{"install", "work", 0, []string{"--install-updates"}},
		{"packs_list", "work", 0, []string{"packs", "list"}},
		{"db_status", "work", 0, []string{"db", "status"}},
		{"db_history", "work", 0, []string{"db", "history"}},
		{"db_verify", "work", 0, []string{"db", "verify"}},
		{"db_diff", "work", 0, []string{"db", "diff"}},
		{"db_accept", "work", 0, []string{"db", "accept", "--pack", "blog", "--table", "posts"}},
		{"db_down", "work", 0, []string{"db", "down", "--pack", "blog", "--to", "1"}},
		{"db_up", "work", 0, []string{"db", "up"}},
		{"history", "work", 0, []string{"history"}},
		{"backups_create", "work", 0, []string{"backups", "create", "--reason", "golden"}},
		{"backups_list", "work", 0, []string{"backups", "list"}},
		{"backups_show", "work", 0, []string{"backups", "show", "$BACKUP"}},
		{"backups_verify", "work", 0, []string{"backups", "verify", "$BACKUP"}},
		{"backups_export", "work", 0, []string{"backups", "export", "$BACKUP", "-o", filepath.Join(work, "full.zip")}},
		{"backups_restore", "work", 0, []string{"backups", "restore", "$BACKUP"}},
		{"backups_prune", "work", 0, []string{"backups", "prune", "--keep", "1"}},
		{"updates_prune", "work", 0, []string{"updates", "prune", "--keep", "1"}},
		{"feed_build", "work", 0, []string{"feed", "build", filepath.Join(root, "Updates_Installed"), "-o", feedDir, "--sign", "release.key", "--app", "golden"}},
		{"feed_fetch", "work", 0, []string{"feed", "fetch", "--feed", srv.URL + "/index.json"}},
		{"version", "work", 0, []string{"version"}},
		{"error_usage", "work", 2, []string{"db", "stat"}},
		{"error", "work", 1, []string{"backups", "show", "no-such-backup"}},
		{"keys_untrust", "work", 0, []string{"keys", "untrust", "$KEY"}},
	}
	keyID := ""
	for _, s := range steps {
		args := slices.Clone(s.args)
		for i, a := range args {
			args[i] = strings.NewReplacer("$BACKUP", backupID, "$KEY", keyID).Replace(a)
		}
		dir := map[string]string{"root": root, "work": work, "repo": repo}[s.dir]
		r := runUpkeep(t, dir, env, append(args, "--json")...)
		if r.code != s.code {
			t.Fatalf("upkeep %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, s.code, r.stdout, r.stderr)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("upkeep %s: stdout is not one JSON document: %v\n%s", strings.Join(args, " "), err, r.stdout)
		}
		if doc["json_format"] != 1.0 || !strings.HasPrefix(r.stdout, "{\n  \"json_format\": 1") {
			t.Errorf("upkeep %s: json_format is not the first key, 1:\n%s", strings.Join(args, " "), r.stdout)
		}
		checkJSONContract(t, strings.Join(args, " "), r.stdout)
		switch s.name {
		case "init": // the new root's database, as golang-migrate left it at blog's schema 2
			db, err := packs.Open(t.Context(), "", filepath.Join(work, "new-root"))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)", "INSERT INTO schema_migrations VALUES (2, false)"} {
				if _, err := db.SQL().ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
		case "backups_create":
			backupID = doc["backup"].(map[string]any)["id"].(string)
		case "keys_list":
			keyID = doc["keys"].([]any)[0].(map[string]any)["id"].(string)
		}
		if s.name != "" {
			golden.Check(t, filepath.Join("json", s.name+".json"), []byte(maskJSON(r.stdout, dirs)))
		}
	}
}

// checkJSONContract checks the rules every document follows: snake_case
// keys, no null lists, no HTML escapes.
func checkJSONContract(t *testing.T, cmd, doc string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`"([^"]+)":`).FindAllStringSubmatch(doc, -1) {
		if !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(m[1]) && !strings.Contains(m[1], "/") && !strings.Contains(m[1], ".") && !strings.Contains(m[1], "-") {
			t.Errorf("upkeep %s: key %q is not snake_case", cmd, m[1])
		}
	}
	if strings.Contains(doc, `\u003c`) || strings.Contains(doc, `\u003e`) || strings.Contains(doc, `\u0026`) {
		t.Errorf("upkeep %s: HTML-escaped text:\n%s", cmd, doc)
	}
}

// docs/json.md names the golden file of each document it describes, and
// every golden file is named there.
func TestJSONDocsNameEveryGolden(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_]+\\.json)`").FindAllStringSubmatch(string(md), -1) {
		if m[1] != "index.json" && m[1] != "manifest.json" && m[1] != "backup.json" && m[1] != "feed.json" {
			named[m[1]] = true
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "json", "*.json"))
	have := map[string]bool{}
	for _, f := range files {
		have[filepath.Base(f)] = true
		if !named[filepath.Base(f)] {
			t.Errorf("docs/json.md does not name %s", f)
		}
	}
	for n := range named {
		if !have[n] {
			t.Errorf("docs/json.md names %s, which testdata/json lacks", n)
		}
	}
	if len(have) < 25 {
		t.Errorf("only %d golden files", len(have))
	}
}
