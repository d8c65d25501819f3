package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// hostileShop replaces the pending shop 1.0.0 of a fixture trial with one
// whose migration is sql, and returns the state before the install.
func hostileShop(t *testing.T, tr *trial, sql string) map[string]string {
	t.Helper()
	shop := filepath.Join(tr.dir, "Updates_Pending", "shop-1.0.0.zip")
	os.Remove(shop)
	run(t, ".", "pack", source(t, "shop", "1.0.0", map[string]string{
		"cart.html": "<cart/>\n", "migrations/0001_cart.up.sql": sql,
	}, nil, "cart"), "-o", shop).want(t, 0, nil, nil)
	return state(t, tr)
}

// A pack's migration cannot end upkeep's transaction, reach outside the
// database, or touch upkeep's own tables: the install is refused before
// any statement runs, naming the file, the line and the statement, and
// the root and the database stay as they were. The application still
// starts afterwards. On every backend.
func TestHostileMigrationsRefused(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.db")
	type hostile struct{ name, sql, line, stmt string }
	common := []hostile{
		{"upkeep_packs", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nUPDATE upkeep_packs SET schema_version = 99 WHERE pack = 'core';\nDROP TABLE users;\n",
			"line 2", "UPDATE upkeep_packs SET schema_version = 99 WHERE pack = 'core'"},
		{"upkeep_migrations", "DELETE FROM upkeep_migrations;\n", "line 1", "DELETE FROM upkeep_migrations"},
	}
	perKind := map[string][]hostile{
		"sqlite": {
			{"rollback-begin", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK TRANSACTION x;\nBEGIN TRANSACTION y;\nCREATE TABLE cart2 (id INTEGER);\n", "line 2", "ROLLBACK TRANSACTION x"},
			{"rollback-alone", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK TRANSACTION x;\n", "line 2", "ROLLBACK TRANSACTION x"},
			{"attach", "ATTACH DATABASE '" + outside + "' AS x;\nCREATE TABLE x.t (a INTEGER);\n", "line 1", "ATTACH DATABASE"},
			{"detach", "DETACH DATABASE main;\n", "line 1", "DETACH DATABASE main"},
			{"vacuum-into", "VACUUM INTO '" + outside + "';\n", "line 1", "VACUUM INTO"},
			{"quoted-upkeep", "DROP TABLE 'upkeep_packs';\n", "line 1", "DROP TABLE 'upkeep_packs'"},
		},
		"postgres": {
			{"rollback-and-chain", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK AND CHAIN;\n", "line 2", "ROLLBACK AND CHAIN"},
			{"abort", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nABORT;\n", "line 2", "ABORT"},
			{"prepare-transaction", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nPREPARE TRANSACTION 'x';\n", "line 2", "PREPARE TRANSACTION 'x'"},
			{"do-block", "DO $$BEGIN EXECUTE 'UPDATE upkeep_packs SET schema_version = 99'; END$$;\n", "line 1", "DO $$BEGIN"},
		},
		"mysql": {
			{"rollback-chain", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK WORK AND CHAIN;\n", "line 2", "ROLLBACK WORK AND CHAIN"},
			{"xa", "XA START 'x';\n", "line 1", "XA START 'x'"},
			{"autocommit", "SET autocommit = 0;\nCREATE TABLE cart (id INTEGER PRIMARY KEY);\n", "line 1", "SET autocommit = 0"},
			{"backticks", "DELETE FROM `upkeep_schema`;\n", "line 1", "DELETE FROM `upkeep_schema`"},
		},
	}
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 1024)
		for _, h := range append(perKind[kind], common...) {
			t.Run(h.name, func(t *testing.T) {
				tr := f.copy(t)
				want := hostileShop(t, tr, h.sql)
				r := tr.run(t, "--install-updates", "--no-backup")
				r.want(t, 6, nil, []string{"install failed", "migration 0001_cart.up.sql " + h.line + ": statement refused: \"" + h.stmt, "everything was put back as it was"})
				if got := state(t, tr); !reflect.DeepEqual(got, want) {
					t.Fatalf("after the refused migration:\n got  %v\n want %v", got, want)
				}
				if _, err := os.Stat(outside); err == nil {
					t.Fatalf("the migration wrote %s", outside)
				}
				tr.run(t, "--ignore-updates").want(t, 0, nil, nil)
			})
		}
	})
}

// Transaction control that only asks for what the run does (every
// spelling of BEGIN and COMMIT/END where DDL is transactional) is skipped:
// a failure after it still puts everything back, and the fixed zip then
// installs.
func TestWrappedMigrationRollsBackWhole(t *testing.T) {
	ends := map[string]string{"sqlite": "END TRANSACTION x;\n", "postgres": "COMMIT AND NO CHAIN;\n"}
	forEachBackend(t, func(t *testing.T, kind string) {
		end, ok := ends[kind]
		if !ok {
			t.Skip("MySQL/MariaDB commits each statement; its BEGIN/COMMIT run as written")
		}
		f := newBatchFixture(t, kind, 1024)
		tr := f.copy(t)
		want := hostileShop(t, tr, "BEGIN TRANSACTION;\nCREATE TABLE cart (id INTEGER PRIMARY KEY);\n"+end+"INSERT INTO no_such_table VALUES (1);\n")
		tr.run(t, "--install-updates", "--no-backup").want(t, 6, nil, []string{"no_such_table", "everything was put back as it was"})
		if got := state(t, tr); !reflect.DeepEqual(got, want) {
			t.Fatalf("after the failed migration:\n got  %v\n want %v", got, want)
		}
		hostileShop(t, tr, "BEGIN TRANSACTION;\nCREATE TABLE cart (id INTEGER PRIMARY KEY);\n"+end)
		tr.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 3 updates"}, nil)
		if got := state(t, tr); got["db:table cart"] == "" || got["db:pack shop"] != "1.0.0 schema 1" {
			t.Fatalf("the fixed zip did not install: %v", got)
		}
	})
}
