package httpguard

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// auth checks the client's bearer token.
type auth struct {
	// tokenHash is the SHA-256 of the token; nil when authentication is off. Hashing first
	// makes the comparison constant-time whatever the lengths.
	tokenHash []byte
}

func newAuth(token string) auth {
	if token == "" {
		return auth{}
	}
	sum := sha256.Sum256([]byte(token))
	return auth{tokenHash: sum[:]}
}

// check refuses a client without the token.
func (a auth) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.tokenHash != nil && !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", bearerChallenge(r))
			refuse(w, r, http.StatusUnauthorized, "Unauthorized: send Authorization: Bearer <MCP_AUTH_TOKEN>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a auth) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], a.tokenHash) == 1
}
