package main

import (
	"bytes"

	"github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/filecoin-project/go-address"
	gocrypto "github.com/filecoin-project/go-crypto"
	"github.com/filecoin-project/go-state-types/crypto"
	"golang.org/x/xerrors"
)

// blsDST is the ciphersuite Filecoin signs with (basic scheme, hash to G2).
var blsDST = []byte("BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_")

// verifySignature checks sig over msg for the key address signer, as lotus/lib/sigs does: secp256k1
// recovers the public key from blake2b-256(msg) and compares addresses; BLS verifies with the key
// carried by the f3 address. filecoin-ffi is cgo-only, so BLS uses gnark-crypto's pairing.
func verifySignature(sig *crypto.Signature, signer address.Address, msg []byte) error {
	switch sig.Type {
	case crypto.SigTypeSecp256k1:
		if signer.Protocol() != address.SECP256K1 {
			return xerrors.Errorf("secp256k1 signature for a %d address", signer.Protocol())
		}
		pub, err := gocrypto.EcRecover(blake2b256(msg), sig.Data)
		if err != nil {
			return xerrors.Errorf("recovering key: %w", err)
		}
		got, err := address.NewSecp256k1Address(pub)
		if err != nil {
			return err
		}
		if got != signer {
			return xerrors.Errorf("signature did not match")
		}
		return nil
	case crypto.SigTypeBLS:
		if signer.Protocol() != address.BLS {
			return xerrors.Errorf("bls signature for a %d address", signer.Protocol())
		}
		return verifyBLS(signer.Payload(), msg, sig.Data)
	default:
		return xerrors.Errorf("unsupported signature type %d", sig.Type)
	}
}

func verifyBLS(pubKey, msg, sigBytes []byte) error {
	var pk bls12381.G1Affine
	if _, err := pk.SetBytes(pubKey); err != nil {
		return xerrors.Errorf("bls public key: %w", err)
	}
	var sig bls12381.G2Affine
	if _, err := sig.SetBytes(sigBytes); err != nil {
		return xerrors.Errorf("bls signature: %w", err)
	}
	hm, err := bls12381.HashToG2(msg, blsDST)
	if err != nil {
		return err
	}
	_, _, g1, _ := bls12381.Generators()
	var negG1 bls12381.G1Affine
	negG1.Neg(&g1)
	okPair, err := bls12381.PairingCheck([]bls12381.G1Affine{pk, negG1}, []bls12381.G2Affine{hm, sig})
	if err != nil {
		return err
	}
	if !okPair {
		return xerrors.Errorf("bls signature did not verify")
	}
	return nil
}

var _ = bytes.Equal
