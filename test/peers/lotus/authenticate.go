package main

import (
	"bytes"
	"math"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	// v9 is the version boost's verifier builds its params with; the tuple has not changed since.
	account "github.com/filecoin-project/go-state-types/builtin/v9/account"
	market "github.com/filecoin-project/go-state-types/builtin/v9/market"
	"github.com/filecoin-project/go-state-types/exitcode"
	"golang.org/x/xerrors"

	"github.com/filecoin-project/lotus/api"
	"github.com/filecoin-project/lotus/chain/types"
)

// The kinds of delegated (f4) actor the peer simulates, as the seed's "actor" names them.
const (
	// builtin-actors EthAccount (an f410 key's actor): its fallback answers every exported method
	// (>= 1<<24) with exit 0 and no return value, AuthenticateMessage included.
	kindEthAccount = "ethaccount"
	// An FEVM contract whose AuthenticateMessage handler accepts: exit 0, returns CBOR true.
	kindContractAccepts = "contract-accepts"
	// An FEVM contract whose handler reverts: EVM_CONTRACT_REVERTED.
	kindContractRefuses = "contract-refuses"
)

// exitContractReverted is builtin-actors evm EVM_CONTRACT_REVERTED.
const exitContractReverted = exitcode.ExitCode(33)

// eamNamespace is the Ethereum Address Manager's actor ID: f410 addresses are in its namespace.
const eamNamespace = 10

var authenticateMessageMethod = func() abi.MethodNum {
	m, err := builtin.GenerateFRCMethodNum("AuthenticateMessage")
	if err != nil {
		panic(err)
	}
	return m
}()

// authResult is what AuthenticateMessage did on the client actor.
type authResult struct {
	exit exitcode.ExitCode
	ret  []byte
	err  string
}

// authenticate runs AuthenticateMessage on the actor at `to`, as the FVM would: a registered f4
// actor answers by its kind; an unknown f410 address becomes a placeholder (a send creates one),
// whose code returns 0 for any method; any other unknown address cannot receive (SYS_INVALID_RECEIVER).
// readOnly (the market actor's send) cannot create the placeholder. Callers hold p.mu.
func (p *Peer) authenticate(to address.Address, readOnly bool) authResult {
	id, err := p.lookupID(to)
	if err != nil {
		if to.Protocol() == address.Delegated && len(to.Payload()) > 0 && to.Payload()[0] == eamNamespace && !readOnly {
			return authResult{exit: exitcode.Ok}
		}
		return authResult{exit: exitcode.SysErrInvalidReceiver, err: "send: actor does not exist or cannot be created: " + to.String()}
	}
	switch p.actors[id].kind {
	case kindEthAccount:
		return authResult{exit: exitcode.Ok}
	case kindContractAccepts:
		return authResult{exit: exitcode.Ok, ret: []byte{0xf5}}
	case kindContractRefuses:
		return authResult{exit: exitContractReverted, err: "contract reverted at 0 (EVM_CONTRACT_REVERTED)"}
	default:
		// Account actors verify by their address's protocol; the peer only calls this for f4 keys.
		return authResult{exit: exitcode.ErrIllegalArgument, err: "peer: AuthenticateMessage on a non-delegated actor is not simulated"}
	}
}

// stateCall simulates StateCall for the one message a deal engine sends it: boost's signature
// verifier's AuthenticateMessage on an f4 client, from the market actor, with params
// [signature data, DealProposal CBOR]. Any other shape is an error, so a client that builds the
// message wrong fails here rather than passing by accident. Callers hold p.mu.
func (p *Peer) stateCall(in *types.Message) (*api.InvocResult, error) {
	msg := *in
	if msg.Method != authenticateMessageMethod {
		return nil, xerrors.Errorf("lotus-peer: StateCall simulates AuthenticateMessage (method %d) only, got method %d", authenticateMessageMethod, msg.Method)
	}
	if msg.From != builtin.StorageMarketActorAddr {
		return nil, xerrors.Errorf("lotus-peer: AuthenticateMessage must come from the market actor %s, got %s", builtin.StorageMarketActorAddr, msg.From)
	}
	if msg.To.Protocol() != address.Delegated {
		return nil, xerrors.Errorf("lotus-peer: AuthenticateMessage is called on f4 clients only, got %s", msg.To)
	}
	if !msg.Value.NilOrZero() {
		return nil, xerrors.Errorf("lotus-peer: AuthenticateMessage carries no value, got %s", msg.Value)
	}
	var params account.AuthenticateMessageParams
	r := bytes.NewReader(msg.Params)
	if err := params.UnmarshalCBOR(r); err != nil || r.Len() != 0 {
		return nil, xerrors.Errorf("lotus-peer: params are not one AuthenticateMessageParams tuple (%v, %d bytes left)", err, r.Len())
	}
	var prop market.DealProposal
	pr := bytes.NewReader(params.Message)
	if err := prop.UnmarshalCBOR(pr); err != nil || pr.Len() != 0 {
		return nil, xerrors.Errorf("lotus-peer: the authenticated message is not one DealProposal (%v, %d bytes left)", err, pr.Len())
	}
	if prop.Client != msg.To {
		pid, err1 := p.lookupID(prop.Client)
		tid, err2 := p.lookupID(msg.To)
		if err1 != nil || err2 != nil || pid != tid {
			return nil, xerrors.Errorf("lotus-peer: the proposal's client %s is not the actor called (%s)", prop.Client, msg.To)
		}
	}
	res := p.authenticate(msg.To, false)
	// What Lotus's callInternal and ApplyImplicitMessage make of the message before applying it.
	msg.Nonce = 0
	msg.GasLimit = math.MaxInt64 / 2
	if msg.Value.Nil() {
		msg.Value = types.NewInt(0)
	}
	if msg.GasFeeCap.Nil() {
		msg.GasFeeCap = types.NewInt(0)
	}
	if msg.GasPremium.Nil() {
		msg.GasPremium = types.NewInt(0)
	}
	rct := types.NewMessageReceiptV1(res.exit, res.ret, 1_234_567, nil)
	return &api.InvocResult{MsgCid: msg.Cid(), Msg: &msg, MsgRct: &rct, Error: res.err, Duration: time.Millisecond}, nil
}

// authenticatedForMarket is the market actor's check of a deal's client (builtin-actors
// deal_proposal_is_internally_valid): a read-only AuthenticateMessage send that must exit 0 and
// return CBOR true. An EthAccount returns nothing, so its deals are dropped at publish.
func (p *Peer) authenticatedForMarket(client address.Address) bool {
	res := p.authenticate(client, true)
	return res.exit == exitcode.Ok && bytes.Equal(res.ret, []byte{0xf5})
}
