package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	rlepluslazy "github.com/filecoin-project/go-bitfield/rle"
	gocrypto "github.com/filecoin-project/go-crypto"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	minertypes13 "github.com/filecoin-project/go-state-types/builtin/v13/miner"
	account "github.com/filecoin-project/go-state-types/builtin/v9/account"
	market "github.com/filecoin-project/go-state-types/builtin/v9/market"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/google/uuid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/filecoin-project/lotus/api"
	"github.com/filecoin-project/lotus/chain/actors/builtin/miner"
	"github.com/filecoin-project/lotus/chain/types"
	"github.com/filecoin-project/lotus/chain/wallet/key"
	"github.com/filecoin-project/lotus/lib/sigs"
	_ "github.com/filecoin-project/lotus/lib/sigs/delegated"
	"github.com/filecoin-project/lotus/storage/pipeline/piece"
)

// fixture pairs what Lotus's own encoders print ("lotus") with the same values written plainly
// ("expect": big ints as decimal strings, bytes as base64), for the TS unit tests to compare.
type fixture struct {
	Lotus  json.RawMessage `json:"lotus"`
	Expect interface{}     `json:"expect"`
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func raw(v interface{}) json.RawMessage { return must(json.Marshal(v)) }

// writeFixtures writes lotus-json.json into dir. Deterministic: fixed keys, times and CIDs.
func writeFixtures(dir string) error {
	address.CurrentNetwork = address.Testnet
	out := map[string]interface{}{}
	mID := must(address.NewIDAddress(1000))
	wID := must(address.NewIDAddress(1001))
	cID := must(address.NewIDAddress(1002))
	sk := bytes.Repeat([]byte{7}, 32)
	wKey := must(address.NewSecp256k1Address(gocrypto.PublicKey(sk)))
	b64 := base64.StdEncoding.EncodeToString

	// TipSet: the peer's header builder with a fixed timestamp.
	p := &Peer{minerAddr: mID}
	ts := must(p.makeTipSet(4242, nil))
	ts.Blocks()[0].Timestamp = 1_700_000_000
	ts = must(types.NewTipSet(ts.Blocks()))
	keys := []string{}
	for _, c := range ts.Cids() {
		keys = append(keys, c.String())
	}
	out["tipset"] = fixture{raw(ts), map[string]interface{}{"key": keys, "height": 4242, "timestamp": 1_700_000_000, "miners": []string{mID.String()}}}

	pid := "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	peerID := must(peer.Decode(pid))
	ma := []byte{0x04, 127, 0, 0, 1, 0x06, 0x04, 0xd2}
	mi := api.MinerInfo{Owner: wID, Worker: wID, NewWorker: address.Undef, ControlAddresses: []address.Address{cID},
		WorkerChangeEpoch: -1, PeerId: &peerID, Multiaddrs: []abi.Multiaddrs{ma}, WindowPoStProofType: abi.RegisteredPoStProof_StackedDrgWindow32GiBV1_1,
		SectorSize: 32 << 30, WindowPoStPartitionSectors: 2349, ConsensusFaultElapsed: -1, Beneficiary: wID,
		BeneficiaryTerm: &miner.BeneficiaryTerm{Quota: big.Zero(), UsedQuota: big.Zero(), Expiration: 0}}
	out["minerInfo"] = fixture{raw(mi), map[string]interface{}{"owner": wID.String(), "worker": wID.String(), "newWorker": nil,
		"controlAddresses": []string{cID.String()}, "workerChangeEpoch": -1, "peerId": pid, "multiaddrs": []string{b64(ma)},
		"windowPoStProofType": 13, "sectorSize": 32 << 30, "beneficiary": wID.String()}}

	// A PublishStorageDeals message, signed by the peer's code path, and its send spec.
	pieceCid := must(commcid.DataCommitmentV1ToCID(bytes.Repeat([]byte{0x11}, 32)))
	prop := market.DealProposal{PieceCID: pieceCid, PieceSize: 2048, VerifiedDeal: true, Client: cID, Provider: mID,
		Label: must(market.NewLabelFromString("bafkqaaa")), StartEpoch: 5000, EndEpoch: 600000,
		StoragePricePerEpoch: big.NewInt(12345), ProviderCollateral: big.MustFromString("1000000000000000000000"), ClientCollateral: big.Zero()}
	cdp1 := market.ClientDealProposal{Proposal: prop, ClientSignature: crypto.Signature{Type: crypto.SigTypeSecp256k1, Data: bytes.Repeat([]byte{1}, 65)}}
	prop2 := prop
	prop2.Label = must(market.NewLabelFromBytes([]byte{1, 2, 3}))
	prop2.StartEpoch++
	cdp2 := market.ClientDealProposal{Proposal: prop2, ClientSignature: crypto.Signature{Type: crypto.SigTypeBLS, Data: bytes.Repeat([]byte{2}, 96)}}
	var params bytes.Buffer
	if err := (&market.PublishStorageDealsParams{Deals: []market.ClientDealProposal{cdp1, cdp2}}).MarshalCBOR(&params); err != nil {
		return err
	}
	var c1, c2 bytes.Buffer
	_ = cdp1.MarshalCBOR(&c1)
	_ = cdp2.MarshalCBOR(&c2)
	out["publishParams"] = map[string]interface{}{"items": []string{b64(c1.Bytes()), b64(c2.Bytes())}, "params": b64(params.Bytes())}

	msg := &types.Message{Version: 0, To: builtinMarket, From: wKey, Nonce: 17, Value: big.Zero(), GasLimit: 50_000_000,
		GasFeeCap: big.NewInt(200_000), GasPremium: big.NewInt(100_000), Method: 4, Params: params.Bytes()}
	p.keys = map[address.Address][]byte{wKey: sk}
	sm := must(p.signMessage(msg))
	out["signedMessage"] = fixture{raw(sm), map[string]interface{}{"cid": sm.Cid().String(), "messageCid": msg.Cid().String(),
		"message": map[string]interface{}{"version": 0, "to": builtinMarket.String(), "from": wKey.String(), "nonce": 17, "value": "0",
			"gasLimit": 50_000_000, "gasFeeCap": "200000", "gasPremium": "100000", "method": 4, "params": b64(params.Bytes())},
		"signature": map[string]interface{}{"type": 1, "data": b64(sm.Signature.Data)}}}
	// What MpoolPushMessage receives: an unsigned message (Lotus ignores the CID field on input).
	unsigned := *msg
	unsigned.Nonce, unsigned.GasLimit, unsigned.GasFeeCap, unsigned.GasPremium = 0, 0, big.Zero(), big.Zero()
	out["unsignedMessage"] = fixture{raw(&unsigned), map[string]interface{}{"to": builtinMarket.String(), "from": wKey.String(),
		"method": 4, "value": "0", "params": b64(params.Bytes())}}
	spec := &api.MessageSendSpec{MaxFee: big.MustFromString("50000000000000000"), MsgUuid: uuid.MustParse("6f1c2b1e-6a43-4b8a-9a8e-1f2d3c4b5a69")}
	out["sendSpec"] = fixture{raw(spec), map[string]interface{}{"maxFee": "50000000000000000", "msgUuid": "6f1c2b1e-6a43-4b8a-9a8e-1f2d3c4b5a69", "maximizeFeeCap": false}}

	// StateWaitMsg's answer for a PSD whose deals 0, 2 and 3 were valid.
	ret := market.PublishStorageDealsReturn{IDs: []abi.DealID{100, 101, 102}, ValidDeals: bitfield.NewFromSet([]uint64{0, 2, 3})}
	var retb bytes.Buffer
	_ = ret.MarshalCBOR(&retb)
	lookup := api.MsgLookup{Message: sm.Cid(), Receipt: types.MessageReceipt{ExitCode: 0, Return: retb.Bytes(), GasUsed: 37_500_000},
		ReturnDec: &ret, TipSet: ts.Key(), Height: 4242}
	out["msgLookup"] = fixture{raw(lookup), map[string]interface{}{"message": sm.Cid().String(), "receipt": map[string]interface{}{"exitCode": 0,
		"return": b64(retb.Bytes()), "gasUsed": 37_500_000, "eventsRoot": nil}, "tipSet": keys, "height": 4242,
		"ids": []int{100, 101, 102}, "validDeals": []int{0, 2, 3}}}

	deal := api.MarketDeal{Proposal: prop, State: api.MarketDealState{SectorNumber: 9, SectorStartEpoch: 5000, LastUpdatedEpoch: -1, SlashEpoch: -1}}
	out["marketDeal"] = fixture{raw(deal), map[string]interface{}{"proposal": map[string]interface{}{"pieceCid": pieceCid.String(), "pieceSize": 2048,
		"verifiedDeal": true, "client": cID.String(), "provider": mID.String(), "label": "bafkqaaa", "startEpoch": 5000, "endEpoch": 600000,
		"storagePricePerEpoch": "12345", "providerCollateral": "1000000000000000000000", "clientCollateral": "0"},
		"state": map[string]interface{}{"sectorNumber": 9, "sectorStartEpoch": 5000, "lastUpdatedEpoch": -1, "slashEpoch": -1}}}

	// AddPiece deal infos, legacy and DDO, as Lotus's Go client would send them.
	publishCid := sm.Cid()
	legacy := piece.PieceDealInfo{PublishCid: &publishCid, DealID: 100, DealProposal: &prop,
		DealSchedule: piece.DealSchedule{StartEpoch: 5000, EndEpoch: 600000}, KeepUnsealed: true}
	ddo := piece.PieceDealInfo{DealSchedule: piece.DealSchedule{StartEpoch: 5000, EndEpoch: 600000},
		PieceActivationManifest: &miner.PieceActivationManifest{CID: pieceCid, Size: 2048,
			VerifiedAllocationKey: &miner.VerifiedAllocationKey{Client: 1002, ID: 77},
			Notify:                []minertypes13.DataActivationNotification{{Address: mID, Payload: []byte{9, 9}}}}}
	out["pieceDealInfoLegacy"] = fixture{raw(legacy), nil}
	out["pieceDealInfoDDO"] = fixture{raw(ddo), nil}

	sinfo := api.SectorInfo{SectorID: 9, State: "Proving", CommD: &pieceCid, CommR: &publishCid, Deals: []abi.DealID{100},
		Pieces: []api.SectorPiece{{Piece: abi.PieceInfo{Size: 2048, PieceCID: pieceCid}, DealInfo: &legacy},
			{Piece: abi.PieceInfo{Size: 2048, PieceCID: pieceCid}, DealInfo: &ddo}},
		Log:       []api.SectorLog{{Kind: "event;sealing.SectorProving", Timestamp: 1_700_000_000, Trace: "", Message: "ok"}},
		SealProof: abi.RegisteredSealProof_StackedDrg32GiBV1_1, Activation: 6000, Expiration: 1_561_200,
		DealWeight: big.Zero(), VerifiedDealWeight: big.Zero(), InitialPledge: big.Zero()}
	out["sectorInfo"] = fixture{raw(sinfo), map[string]interface{}{"sectorId": 9, "state": "Proving", "deals": []int{100},
		"pieces": []map[string]interface{}{{"pieceCid": pieceCid.String(), "size": 2048, "dealId": 100, "publishCid": publishCid.String()},
			{"pieceCid": pieceCid.String(), "size": 2048, "dealId": nil, "publishCid": nil}},
		"commD": pieceCid.String(), "commR": publishCid.String(), "lastErr": "", "activation": 6000, "expiration": 1_561_200,
		"log": []map[string]interface{}{{"kind": "event;sealing.SectorProving", "timestamp": 1_700_000_000, "trace": "", "message": "ok"}}}}

	// An f410 client: its address from Lotus's key package, a delegated signature by lotus/lib/sigs
	// over a proposal it makes, and boost's verifier's AuthenticateMessage StateCall for it
	// (node/modules/storageminer.go verifyContractSignature, built the same way).
	dsk := bytes.Repeat([]byte{9}, 32)
	dkey := must(key.NewKey(types.KeyInfo{Type: types.KTDelegated, PrivateKey: dsk}))
	prop4 := prop
	prop4.Client, prop4.VerifiedDeal = dkey.Address, false
	var prop4b bytes.Buffer
	_ = prop4.MarshalCBOR(&prop4b)
	dsig := must(sigs.Sign(crypto.SigTypeDelegated, dsk, prop4b.Bytes()))
	if err := sigs.Verify(dsig, dkey.Address, prop4b.Bytes()); err != nil {
		return err
	}
	out["delegatedSignature"] = fixture{raw(dsig), map[string]interface{}{"privateKey": b64(dsk), "address": dkey.Address.String(),
		"message": b64(prop4b.Bytes()), "type": 3, "data": b64(dsig.Data)}}
	var aparams bytes.Buffer
	if err := (&account.AuthenticateMessageParams{Signature: dsig.Data, Message: prop4b.Bytes()}).MarshalCBOR(&aparams); err != nil {
		return err
	}
	amsg := types.Message{From: builtin.StorageMarketActorAddr, To: dkey.Address, Nonce: 1,
		Method: must(builtin.GenerateFRCMethodNum("AuthenticateMessage")), Params: aparams.Bytes()}
	out["authenticateMessage"] = fixture{raw(&amsg), map[string]interface{}{"to": dkey.Address.String(), "signature": b64(dsig.Data),
		"message": b64(prop4b.Bytes()), "method": uint64(amsg.Method), "params": b64(aparams.Bytes())}}
	// StateCall's answers to it: a contract that accepts (CBOR true) and one that reverts.
	accepted := types.NewMessageReceiptV1(0, []byte{0xf5}, 2_500_000, nil)
	out["invocResultAccepted"] = fixture{raw(api.InvocResult{MsgCid: amsg.Cid(), Msg: &amsg, MsgRct: &accepted, Duration: 3_000_000}),
		map[string]interface{}{"msgCid": amsg.Cid().String(), "receipt": map[string]interface{}{"exitCode": 0, "return": b64([]byte{0xf5}), "gasUsed": 2_500_000, "eventsRoot": nil}, "error": ""}}
	refused := types.NewMessageReceiptV1(33, nil, 2_600_000, nil)
	out["invocResultRefused"] = fixture{raw(api.InvocResult{MsgCid: amsg.Cid(), Msg: &amsg, MsgRct: &refused, Error: "contract reverted", Duration: 3_000_000}),
		map[string]interface{}{"msgCid": amsg.Cid().String(), "receipt": map[string]interface{}{"exitCode": 33, "return": nil, "gasUsed": 2_600_000, "eventsRoot": nil}, "error": "contract reverted"}}

	// RLE+ vectors: the bytes go-bitfield writes and the run JSON Lotus prints.
	var rle []map[string]interface{}
	for _, set := range [][]uint64{{}, {0}, {0, 1, 2}, {0, 2}, {1}, {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 40}, {0, 2, 4, 5, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27}, {1000, 100000}} {
		bf := bitfield.NewFromSet(set)
		enc := must(rlepluslazy.EncodeRuns(must(bf.RunIterator()), nil))
		if set == nil {
			set = []uint64{}
		}
		rle = append(rle, map[string]interface{}{"set": set, "rle": b64(enc), "json": raw(bf)})
	}
	out["rleplus"] = rle

	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "lotus-json.json"), append(b, '\n'), 0o644)
}
