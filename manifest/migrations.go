package manifest

// Migration is one numbered migration of a pack, golang-migrate naming:
// VERSION_name.up.sql and VERSION_name.down.sql.
type Migration struct {
	Version int
	Name    string
	Up      string // file name of the .up.sql, relative to the migrations folder
	Down    string // file name of the .down.sql, or "" when there is none
}

// ParseMigrations sorts the file names of a migrations folder into
// migrations, in order.
func ParseMigrations(names []string) ([]Migration, error) { return nil, nil }
