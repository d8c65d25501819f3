package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// feedHost is the feed's host name in the proxy tests: no resolver knows
// it, only the proxy, which sends it to 127.0.0.1. A fetch of
// http(s)://feed.upkeep.test:PORT/ works only through the proxy (and Go
// never proxies localhost or 127.0.0.1, so the name is needed).
const feedHost = "feed.upkeep.test"

// recordingProxy is a forward HTTP proxy on 127.0.0.1 that serves
// feedHost only (plain requests, and CONNECT for HTTPS), sending it to the
// same port on 127.0.0.1, and records each request it gets.
type recordingProxy struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	p := &recordingProxy{}
	direct := &http.Transport{Proxy: nil}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.URL.Host
		if r.Method == http.MethodConnect {
			host = r.Host
		}
		p.mu.Lock()
		if r.Method == http.MethodConnect {
			p.seen = append(p.seen, "CONNECT "+host)
		} else {
			p.seen = append(p.seen, r.Method+" "+r.URL.String())
		}
		p.mu.Unlock()
		name, port, err := net.SplitHostPort(host)
		if err != nil || name != feedHost {
			http.Error(w, "this proxy only knows "+feedHost, http.StatusBadGateway)
			return
		}
		target := net.JoinHostPort("127.0.0.1", port)
		if r.Method == http.MethodConnect {
			up, err := net.Dial("tcp", target)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				up.Close()
				return
			}
			conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
			go func() { io.Copy(up, buf); up.Close() }()
			io.Copy(conn, up)
			conn.Close()
			return
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Host = target
		out.Host = host
		resp, err := direct.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *recordingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// certFor makes a self-signed certificate for host, and writes it as PEM
// to a file for SSL_CERT_FILE.
func certFor(t *testing.T, host string) (tls.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, file
}

// `upkeep feed fetch` goes through the proxies the environment names:
// HTTP_PROXY for an http:// feed (the proxy gets each request with its
// absolute URL), HTTPS_PROXY for an https:// one (a CONNECT tunnel, TLS
// end to end). The feed's host name resolves nowhere but in the proxy, so
// the fetches can only succeed through it.
func TestFeedFetchThroughProxy(t *testing.T) {
	work := t.TempDir()
	zips, feedDir := filepath.Join(work, "zips"), filepath.Join(work, "feed")
	os.MkdirAll(zips, 0o755)
	run(t, work, "keys", "generate", "--unencrypted", "--name", "publisher").want(t, 0, nil, nil)
	key := filepath.Join(work, "publisher.key")
	packExample(t, "core", filepath.Join(zips, "core-2.1.0.zip"), "--sign", key)
	run(t, work, "feed", "build", zips, "-o", feedDir, "--sign", key).want(t, 0, nil, nil)
	files := http.FileServer(http.Dir(feedDir))
	plain := httptest.NewServer(files)
	defer plain.Close()
	cert, caFile := certFor(t, feedHost)
	secure := httptest.NewUnstartedServer(files)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	secure.StartTLS()
	defer secure.Close()
	proxy := newRecordingProxy(t)

	for _, tc := range []struct {
		scheme, env string
		srv         *httptest.Server
	}{
		{"http", "HTTP_PROXY", plain},
		{"https", "HTTPS_PROXY", secure},
	} {
		t.Run(tc.env, func(t *testing.T) {
			root := newRoot(t)
			run(t, root, "keys", "trust", filepath.Join(work, "publisher.pub")).want(t, 0, nil, nil)
			_, port, _ := net.SplitHostPort(tc.srv.Listener.Addr().String())
			base := tc.scheme + "://" + net.JoinHostPort(feedHost, port)
			env := []string{"http_proxy=", "https_proxy=", "no_proxy=", "NO_PROXY=", "HTTP_PROXY=", "HTTPS_PROXY=",
				tc.env + "=" + proxy.URL, "SSL_CERT_FILE=" + caFile}
			before := len(proxy.requests())
			r := runEnv(t, root, env, "feed", "fetch", "--feed", base+"/", "--pack", "core", "--retries", "1", "--stall-timeout", "10s")
			r.want(t, 0, []string{"fetched core-2.1.0.zip: core 2.1.0"}, nil)
			for _, f := range []string{"core-2.1.0.zip", "core-2.1.0.zip.minisig"} {
				sameFile(t, filepath.Join(root, "Updates_Pending", f), filepath.Join(feedDir, f))
			}
			got := proxy.requests()[before:]
			var want []string
			if tc.scheme == "http" {
				for _, f := range []string{"index.json", "index.json.minisig", "core-2.1.0.zip.minisig", "core-2.1.0.zip"} {
					want = append(want, "GET "+base+"/"+f)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("the proxy saw\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
			} else if len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != "CONNECT "+net.JoinHostPort(feedHost, port) }) {
				t.Fatalf("the proxy saw %q, want only CONNECT %s", got, net.JoinHostPort(feedHost, port))
			}
		})
	}
}
