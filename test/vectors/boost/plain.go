package main

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/dealyard/dealyard/test/vectors/boost/wire"
	"github.com/filecoin-project/go-state-types/builtin/v9/market"
	fcrypto "github.com/filecoin-project/go-state-types/crypto"
)

// The plain JSON form mirrors dealyard's TypeScript types (src/protocol): camelCase names, CIDs and
// addresses as strings, token amounts as decimal strings, bytes as hex, sizes and epochs as numbers.

func plainSig(s fcrypto.Signature) obj {
	return obj{"type": int(s.Type), "data": hex.EncodeToString(s.Data)}
}

func plainLabel(l market.DealLabel) obj {
	if l.IsString() {
		s, err := l.ToString()
		must(err)
		return obj{"kind": "string", "value": s}
	}
	b, err := l.ToBytes()
	must(err)
	return obj{"kind": "bytes", "value": hex.EncodeToString(b)}
}

func plainProposal(p market.DealProposal) obj {
	return obj{
		"pieceCid": p.PieceCID.String(), "pieceSize": uint64(p.PieceSize), "verifiedDeal": p.VerifiedDeal,
		"client": p.Client.String(), "provider": p.Provider.String(), "label": plainLabel(p.Label),
		"startEpoch": int64(p.StartEpoch), "endEpoch": int64(p.EndEpoch),
		"storagePricePerEpoch": p.StoragePricePerEpoch.String(), "providerCollateral": p.ProviderCollateral.String(),
		"clientCollateral": p.ClientCollateral.String(),
	}
}

func plainCDP(c market.ClientDealProposal) obj {
	return obj{"proposal": plainProposal(c.Proposal), "clientSignature": plainSig(c.ClientSignature)}
}

func plainDealParams(d wire.DealParams) obj {
	return obj{
		"dealUuid": d.DealUUID.String(),
		"transfer": obj{"type": d.Transfer.Type, "clientId": d.Transfer.ClientID, "params": hex.EncodeToString(d.Transfer.Params), "size": d.Transfer.Size},
		"isOffline": d.IsOffline, "dealDataRoot": d.DealDataRoot.String(), "skipIpniAnnounce": d.SkipIPNIAnnounce,
		"clientDealProposal": plainCDP(d.ClientDealProposal), "removeUnsealedCopy": d.RemoveUnsealedCopy,
	}
}

func plainStatusResponse(r wire.DealStatusResponse) obj {
	var ds any
	if r.DealStatus != nil {
		s := r.DealStatus
		var pc any
		if s.PublishCid != nil {
			pc = s.PublishCid.String()
		}
		ds = obj{"error": s.Error, "status": s.Status, "sealingStatus": s.SealingStatus, "proposal": plainProposal(s.Proposal),
			"signedProposalCid": s.SignedProposalCid.String(), "publishCid": pc, "chainDealId": uint64(s.ChainDealID)}
	}
	return obj{"dealUuid": r.DealUUID.String(), "error": r.Error, "dealStatus": ds, "isOffline": r.IsOffline,
		"transferSize": r.TransferSize, "nBytesReceived": r.NBytesReceived}
}

func plainAsk(a wire.StorageAsk) obj {
	return obj{"price": a.Price.String(), "verifiedPrice": a.VerifiedPrice.String(), "minPieceSize": uint64(a.MinPieceSize),
		"maxPieceSize": uint64(a.MaxPieceSize), "miner": a.Miner.String(), "timestamp": int64(a.Timestamp),
		"expiry": int64(a.Expiry), "seqNo": a.SeqNo}
}

func sha256Of(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}
