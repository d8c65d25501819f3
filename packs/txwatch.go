package packs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
)

// The watches of the three backends (see [dialect.watch]).

// sqliteWatch installs SQLite's authorizer and commit and rollback hooks on
// the run's connection. While a migration statement is prepared, the
// authorizer denies transaction control (savepoints aside), ATTACH and DETACH and
// any use of upkeep's own tables; any commit before close (the run's own
// commit comes after it) is turned into a rollback; and any commit or
// rollback is remembered, for check.
type sqliteWatch struct {
	conn  *sql.Conn
	in    atomic.Bool
	done  atomic.Bool
	ended atomic.Value // string: what ended the transaction, "" while it is open
}

// sqliteHooks is what modernc.org/sqlite's connection offers beside the
// authorizer.
type sqliteHooks interface {
	RegisterCommitHook(sqlite.CommitHookFn)
	RegisterRollbackHook(sqlite.RollbackHookFn)
}

func (sqliteDialect) watch(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (txWatch, error) {
	w := &sqliteWatch{conn: conn}
	w.ended.Store("")
	err := conn.Raw(func(dc any) error {
		a, ok := dc.(sqlite.AuthorizerRegisterer)
		h, ok2 := dc.(sqliteHooks)
		if !ok || !ok2 {
			return fmt.Errorf("the SQLite driver offers no authorizer or hooks (%T)", dc)
		}
		h.RegisterCommitHook(func() int32 {
			if w.done.Load() {
				return 0
			}
			w.ended.Store("a COMMIT")
			return 1 // a migration's commit becomes a rollback
		})
		h.RegisterRollbackHook(func() { w.ended.Store("a ROLLBACK") })
		return a.RegisterAuthorizer(w.authorize)
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (w *sqliteWatch) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
	if !w.in.Load() {
		return sqlite.AuthorizerOK
	}
	switch action {
	case sqlite.AuthTransaction, sqlite.AuthAttach, sqlite.AuthDetach:
		return sqlite.AuthorizerDeny
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete, sqlite.AuthRead,
		sqlite.AuthDropTable, sqlite.AuthCreateTable, sqlite.AuthDropView, sqlite.AuthCreateView:
		if isUpkeepTable(arg1) {
			return sqlite.AuthorizerDeny
		}
	case sqlite.AuthAlterTable, sqlite.AuthCreateIndex, sqlite.AuthDropIndex, sqlite.AuthCreateTrigger, sqlite.AuthDropTrigger:
		if isUpkeepTable(arg2) {
			return sqlite.AuthorizerDeny
		}
	}
	return sqlite.AuthorizerOK
}

func isUpkeepTable(name string) bool {
	return len(name) >= 7 && strings.EqualFold(name[:7], "upkeep_")
}

func (w *sqliteWatch) enter() { w.in.Store(true) }
func (w *sqliteWatch) leave() { w.in.Store(false) }

func (w *sqliteWatch) check(context.Context, querier) error {
	if what := w.ended.Load().(string); what != "" {
		return fmt.Errorf("%s ended the transaction upkeep runs the migrations in", what)
	}
	return nil
}

func (w *sqliteWatch) close() {
	if w.done.Swap(true) {
		return
	}
	w.conn.Raw(func(dc any) error {
		if h, ok := dc.(sqliteHooks); ok {
			h.RegisterCommitHook(nil)
			h.RegisterRollbackHook(nil)
		}
		if a, ok := dc.(sqlite.AuthorizerRegisterer); ok {
			return a.RegisterAuthorizer(nil)
		}
		return nil
	})
}

// postgresWatch compares the id of the transaction after each file with
// the one the run began with.
type postgresWatch struct{ xid int64 }

func (postgresDialect) watch(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (txWatch, error) {
	w := &postgresWatch{}
	if err := tx.QueryRowContext(ctx, `SELECT txid_current()`).Scan(&w.xid); err != nil {
		return nil, err
	}
	return w, nil
}

func (*postgresWatch) enter() {}
func (*postgresWatch) leave() {}
func (*postgresWatch) close() {}

func (w *postgresWatch) check(ctx context.Context, q querier) error {
	var xid int64
	err := q.QueryRowContext(ctx, `SELECT txid_current()`).Scan(&xid)
	switch {
	case err != nil:
		return fmt.Errorf("the transaction upkeep runs the migrations in cannot be read any more: %v", err)
	case xid != w.xid:
		return errors.New("the transaction upkeep runs the migrations in was ended and another one began")
	}
	return nil
}

// mysqlWatch checks after each file that no transaction was left open and
// autocommit is still on: each statement must commit on its own, with its
// progress record after it.
type mysqlWatch struct{}

func (mysqlDialect) watch(context.Context, *sql.Conn, *sql.Tx) (txWatch, error) {
	return mysqlWatch{}, nil
}

func (mysqlWatch) enter() {}
func (mysqlWatch) leave() {}
func (mysqlWatch) close() {}

func (mysqlWatch) check(ctx context.Context, q querier) error {
	var autocommit, inTx int
	if err := q.QueryRowContext(ctx, `SELECT @@session.autocommit, @@session.in_transaction`).Scan(&autocommit, &inTx); err != nil {
		return fmt.Errorf("cannot read the session's transaction state: %v", err)
	}
	if autocommit != 1 || inTx != 0 {
		return errors.New("the file left a transaction open (or autocommit off); each statement must commit on its own here")
	}
	return nil
}
