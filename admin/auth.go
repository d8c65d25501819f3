package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TokenFile is the admin token's file in the root's .upkeep folder.
const TokenFile = "admin-token"

// Cookie names.
const (
	sessionCookie = "upkeep_session"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// sessionLife is how long a login lasts; csrfWindow how long a form stays
// valid (its token is accepted in its window and the next one).
const (
	sessionLife = 12 * time.Hour
	csrfWindow  = 6 * time.Hour
)

// LoadToken reads the admin token from path, making it first when the file
// does not exist: 32 random bytes, hex, in a file of mode 0600. made tells
// whether it was made now (the caller prints the login address once). A
// token file that others can read is refused.
func LoadToken(path string) (token string, made bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return makeToken(path)
	}
	if err != nil {
		return "", false, fmt.Errorf("admin token %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", false, fmt.Errorf("admin token %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", false, fmt.Errorf("%w: %s has mode %04o; make it 0600 (chmod 600 %s) or remove it to get a new token",
			ErrTokenFile, path, info.Mode().Perm(), path)
	}
	token = strings.TrimSpace(string(data))
	if len(token) < 32 {
		return "", false, fmt.Errorf("%w: %s holds no token of at least 32 characters; remove it to get a new one", ErrTokenFile, path)
	}
	return token, false, nil
}

func makeToken(path string) (string, bool, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, err
	}
	token := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", false, err
	}
	// O_EXCL: of two servers starting at once, one makes the token and the
	// other reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		time.Sleep(50 * time.Millisecond)
		return LoadToken(path)
	}
	if err != nil {
		return "", false, fmt.Errorf("admin token %s: %w", path, err)
	}
	_, err = f.WriteString(token + "\n")
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("admin token %s: %w", path, err)
	}
	return token, true, nil
}

// auth checks logins, sessions, bearer tokens and form tokens. Everything
// is derived from the token with HMAC, so a login survives a restart of
// the server, and making a new token logs everybody out.
type auth struct {
	token string
	now   func() time.Time
}

func (a *auth) mac(parts ...string) string {
	m := hmac.New(sha256.New, []byte(a.token))
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// checkToken compares a presented token with the real one in constant time.
func (a *auth) checkToken(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(t)), []byte(a.token)) == 1
}

// newSession is the value of a fresh session cookie: issued time and MAC.
func (a *auth) newSession() string {
	issued := strconv.FormatInt(a.now().Unix(), 10)
	return issued + "." + a.mac("session", issued)
}

func (a *auth) checkSession(v string) bool {
	issued, mac, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(issued, 10, 64)
	if err != nil {
		return false
	}
	age := a.now().Sub(time.Unix(n, 0))
	if age < -time.Minute || age > sessionLife {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(a.mac("session", issued)))
}

// how a request is authenticated.
type authKind int

const (
	authNone authKind = iota
	authSession
	authBearer
)

func (a *auth) check(r *http.Request) authKind {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok && a.checkToken(t) {
			return authBearer
		}
		return authNone
	}
	if c, err := r.Cookie(sessionCookie); err == nil && a.checkSession(c.Value) {
		return authSession
	}
	return authNone
}

// window is the number of the CSRF window t falls in.
func window(t time.Time) int64 { return t.Unix() / int64(csrfWindow/time.Second) }

// formToken is the CSRF token of the form that posts to action (a path
// below the handler's prefix, "/api/install"). It does not depend on the
// session, so pages can be rendered once for every reader; a page of
// another origin cannot read it, and it dies with the token.
func (a *auth) formToken(action string, w int64) string {
	return a.mac("form", action, strconv.FormatInt(w, 10))[:32]
}

func (a *auth) checkForm(action, t string) bool {
	if t == "" {
		return false
	}
	w := window(a.now())
	for _, ww := range []int64{w, w - 1} {
		if hmac.Equal([]byte(t), []byte(a.formToken(action, ww))) {
			return true
		}
	}
	return false
}
