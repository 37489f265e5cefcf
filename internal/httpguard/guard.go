// Package httpguard stands between the network and the MCP endpoints of the HTTP transports:
// client authentication, Origin and Host checks against DNS rebinding, CORS for the origins it
// accepts, and bounds on request bodies, open connections and open streams. Each concern has a
// file of its own; Guard.Wrap chains those that guard an endpoint, in one place.
package httpguard

import (
	"net/http"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxBody     = 1 << 20 // one JSON-RPC message; ours are a few hundred bytes
	DefaultBodyTimeout = 30 * time.Second
)

// Config is what a Guard enforces.
type Config struct {
	// Token is the bearer token clients must send; empty, there is no authentication.
	Token string
	// AllowedOrigins are browser origins ("https://app.example.com") accepted besides
	// loopback ones.
	AllowedOrigins []string
	// MaxBody bounds a request body (default DefaultMaxBody).
	MaxBody int64
	// BodyTimeout bounds the time to receive a request body (default DefaultBodyTimeout).
	BodyTimeout time.Duration
}

// Guard guards MCP endpoints.
type Guard struct {
	origins origins
	auth    auth
	body    bodyLimit
}

// New returns the guard cfg describes, or an error naming the setting that can never work.
func New(cfg Config) (*Guard, error) {
	o, err := parseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	b := bodyLimit{max: cfg.MaxBody, timeout: cfg.BodyTimeout}
	if b.max <= 0 {
		b.max = DefaultMaxBody
	}
	if b.timeout <= 0 {
		b.timeout = DefaultBodyTimeout
	}
	return &Guard{origins: o, auth: newAuth(cfg.Token), body: b}, nil
}

// Wrap guards next. The order matters: a foreign origin is refused before anything else; a
// CORS preflight, which never carries credentials, is answered before authentication; the
// body is read only for an authenticated client.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return g.origins.check(cors(g.auth.check(g.body.read(next))))
}

// refuse answers a request the guard turns away. A body the client still has to send is not
// waited for: the connection closes after the answer.
func refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	http.Error(w, msg, status)
}
