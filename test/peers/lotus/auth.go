package main

import (
	"context"
	"crypto/rand"

	"github.com/filecoin-project/go-jsonrpc/auth"
	"github.com/gbrlsnchs/jwt/v3"
	"golang.org/x/xerrors"

	"github.com/filecoin-project/lotus/api"
)

// tokens are HS256 JWTs with Lotus's payload {"Allow": [...]}, checked by go-jsonrpc's auth handler.
type tokens struct {
	alg   *jwt.HMACSHA
	full  string // read, write, sign, admin
	miner string // read, write, sign, admin
	read  string // read only, to exercise "missing permission"
}

type jwtPayload struct {
	Allow []auth.Permission
}

func newTokens() (*tokens, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	t := &tokens{alg: jwt.NewHS256(secret)}
	var err error
	if t.full, err = t.sign(api.AllPermissions); err != nil {
		return nil, err
	}
	if t.miner, err = t.sign(api.AllPermissions); err != nil {
		return nil, err
	}
	if t.read, err = t.sign([]auth.Permission{api.PermRead}); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *tokens) sign(perms []auth.Permission) (string, error) {
	b, err := jwt.Sign(&jwtPayload{Allow: perms}, t.alg)
	return string(b), err
}

func (t *tokens) verify(_ context.Context, token string) ([]auth.Permission, error) {
	var p jwtPayload
	if _, err := jwt.Verify([]byte(token), t.alg, &p); err != nil {
		return nil, xerrors.Errorf("JWT Verification failed: %w", err)
	}
	return p.Allow, nil
}
