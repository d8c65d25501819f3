package packs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// withLock runs f holding the migration lock on a dedicated connection.
// On SQLite tx is the write transaction that is the lock; f commits it or
// it is rolled back.
func (db *DB) withLock(ctx context.Context, timeout time.Duration, f func(context.Context, *sql.Conn, *sql.Tx) (*Result, error)) (*Result, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("packs: connect to %s: %w", db.addr, err)
	}
	defer conn.Close()
	tx, err := db.d.lock(ctx, conn, timeout)
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("packs: take the migration lock of %s: %w", db.addr, err)
	}
	defer db.release(ctx, conn)
	if tx != nil {
		defer tx.Rollback() // before release: defers run last first
	}
	return f(ctx, conn, tx)
}

// release gives the migration lock back. A connection that could not
// release it is closed instead of going back to the pool, so that the
// server drops the lock with the session.
func (db *DB) release(ctx context.Context, conn *sql.Conn) error {
	err := errors.Join(db.d.unlock(context.WithoutCancel(ctx), conn),
		db.d.tableLockWait(context.WithoutCancel(ctx), conn, nil, 0))
	if err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// Lock is the database's migration lock, held by [DB.Lock].
type Lock struct {
	db   *DB
	conn *sql.Conn
	tx   *sql.Tx
}

// Lock takes the database's migration lock, waiting up to timeout (0 is
// DefaultLockTimeout), for work that must not run beside a migration. On
// timeout it returns a *LockedError (errors.Is ErrLocked). On SQLite the
// lock is a write transaction: release it before writing through another
// connection.
func (db *DB) Lock(ctx context.Context, timeout time.Duration) (*Lock, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := db.d.lock(ctx, conn, timeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Lock{db: db, conn: conn, tx: tx}, nil
}

// Release releases the lock.
func (l *Lock) Release() error {
	var errs []error
	if l.tx != nil {
		errs = append(errs, l.tx.Rollback())
	}
	errs = append(errs, l.db.release(context.Background(), l.conn), l.conn.Close())
	return errors.Join(errs...)
}
