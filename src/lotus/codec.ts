/**
 * Lotus JSON <-> the TypeScript types of types.ts, for the composite values the clients send and
 * receive. Field names and shapes follow lotus/api and chain/types exactly; decoders name the path
 * of anything unexpected.
 */
import {
  addrOrNull, arr, arrOrNull, bad, bigFromJson, bigToJson, bool, bytesFromJson, bytesToJson, cidFromJson,
  cidOrNull, cidToJson, num, obj, str, tskFromJson
} from './json.ts'
import type {
  ApiVersion, DealProposal, InvocResult, MarketDeal, Message, MessageReceipt, MinerInfo, MsgLookup, PieceDealInfo,
  SectorInfo, SignedMessage, TipSet, UnsignedMessage, MessageSendSpec, Signature
} from './types.ts'

export function decodeTipSet (v: unknown, path = 'TipSet'): TipSet {
  const o = obj(v, path)
  const blocks = arr(o.Blocks, `${path}.Blocks`).map((b, i) => obj(b, `${path}.Blocks[${i}]`))
  return {
    key: tskFromJson(o.Cids, `${path}.Cids`),
    height: num(o.Height, `${path}.Height`),
    timestamp: blocks[0] !== undefined ? num(blocks[0].Timestamp, `${path}.Blocks[0].Timestamp`) : 0,
    miners: blocks.map((b, i) => str(b.Miner, `${path}.Blocks[${i}].Miner`))
  }
}

export function decodeMinerInfo (v: unknown, path = 'MinerInfo'): MinerInfo {
  const o = obj(v, path)
  return {
    owner: str(o.Owner, `${path}.Owner`),
    worker: str(o.Worker, `${path}.Worker`),
    newWorker: addrOrNull(o.NewWorker, `${path}.NewWorker`),
    controlAddresses: arrOrNull(o.ControlAddresses, `${path}.ControlAddresses`).map((a, i) => str(a, `${path}.ControlAddresses[${i}]`)),
    workerChangeEpoch: num(o.WorkerChangeEpoch, `${path}.WorkerChangeEpoch`),
    peerId: o.PeerId === null || o.PeerId === undefined ? null : str(o.PeerId, `${path}.PeerId`),
    multiaddrs: arrOrNull(o.Multiaddrs, `${path}.Multiaddrs`).map((m, i) => bytesFromJson(m, `${path}.Multiaddrs[${i}]`) ?? new Uint8Array()),
    windowPoStProofType: num(o.WindowPoStProofType, `${path}.WindowPoStProofType`),
    sectorSize: num(o.SectorSize, `${path}.SectorSize`),
    beneficiary: addrOrNull(o.Beneficiary, `${path}.Beneficiary`)
  }
}

export function encodeMessage (m: UnsignedMessage): Record<string, unknown> {
  return {
    Version: m.version ?? 0,
    To: m.to,
    From: m.from,
    Nonce: m.nonce ?? 0,
    Value: bigToJson(m.value ?? 0n),
    GasLimit: m.gasLimit ?? 0,
    GasFeeCap: bigToJson(m.gasFeeCap ?? 0n),
    GasPremium: bigToJson(m.gasPremium ?? 0n),
    Method: m.method,
    Params: bytesToJson(m.params ?? null)
  }
}

export function decodeMessage (v: unknown, path = 'Message'): Message {
  const o = obj(v, path)
  return {
    version: num(o.Version, `${path}.Version`),
    to: str(o.To, `${path}.To`),
    from: str(o.From, `${path}.From`),
    nonce: num(o.Nonce, `${path}.Nonce`),
    value: bigFromJson(o.Value, `${path}.Value`),
    gasLimit: num(o.GasLimit, `${path}.GasLimit`),
    gasFeeCap: bigFromJson(o.GasFeeCap, `${path}.GasFeeCap`),
    gasPremium: bigFromJson(o.GasPremium, `${path}.GasPremium`),
    method: num(o.Method, `${path}.Method`),
    params: bytesFromJson(o.Params, `${path}.Params`)
  }
}

export function decodeSignature (v: unknown, path = 'Signature'): Signature {
  const o = obj(v, path)
  const type = num(o.Type, `${path}.Type`)
  if (type !== 1 && type !== 2 && type !== 3) throw bad(`${path}.Type`, 'a signature type (1, 2 or 3)', type)
  return { type, data: bytesFromJson(o.Data, `${path}.Data`) ?? new Uint8Array() }
}

export function decodeSignedMessage (v: unknown, path = 'SignedMessage'): SignedMessage {
  const o = obj(v, path)
  return {
    message: decodeMessage(o.Message, `${path}.Message`),
    signature: decodeSignature(o.Signature, `${path}.Signature`),
    cid: cidFromJson(o.CID, `${path}.CID`)
  }
}

export function encodeSendSpec (s: MessageSendSpec | undefined): Record<string, unknown> | null {
  if (s === undefined) return null
  return {
    MaxFee: bigToJson(s.maxFee ?? 0n),
    MsgUuid: s.msgUuid ?? '00000000-0000-0000-0000-000000000000',
    MaximizeFeeCap: s.maximizeFeeCap ?? false
  }
}

export function decodeReceipt (v: unknown, path = 'Receipt'): MessageReceipt {
  const o = obj(v, path)
  return {
    exitCode: num(o.ExitCode, `${path}.ExitCode`),
    return: bytesFromJson(o.Return, `${path}.Return`),
    gasUsed: num(o.GasUsed, `${path}.GasUsed`),
    eventsRoot: cidOrNull(o.EventsRoot, `${path}.EventsRoot`)
  }
}

export function decodeInvocResult (v: unknown, path = 'InvocResult'): InvocResult {
  const o = obj(v, path)
  return {
    msgCid: cidOrNull(o.MsgCid, `${path}.MsgCid`),
    receipt: decodeReceipt(o.MsgRct, `${path}.MsgRct`),
    error: o.Error === undefined || o.Error === null ? '' : str(o.Error, `${path}.Error`)
  }
}

export function decodeMsgLookup (v: unknown, path = 'MsgLookup'): MsgLookup {
  const o = obj(v, path)
  return {
    message: cidFromJson(o.Message, `${path}.Message`),
    receipt: decodeReceipt(o.Receipt, `${path}.Receipt`),
    returnDec: o.ReturnDec ?? null,
    tipSet: tskFromJson(o.TipSet, `${path}.TipSet`),
    height: num(o.Height, `${path}.Height`)
  }
}

export function encodeDealProposal (p: DealProposal): Record<string, unknown> {
  return {
    PieceCID: cidToJson(p.pieceCid),
    PieceSize: p.pieceSize,
    VerifiedDeal: p.verifiedDeal,
    Client: p.client,
    Provider: p.provider,
    Label: p.label,
    StartEpoch: p.startEpoch,
    EndEpoch: p.endEpoch,
    StoragePricePerEpoch: bigToJson(p.storagePricePerEpoch),
    ProviderCollateral: bigToJson(p.providerCollateral),
    ClientCollateral: bigToJson(p.clientCollateral)
  }
}

export function decodeDealProposal (v: unknown, path = 'DealProposal'): DealProposal {
  const o = obj(v, path)
  return {
    pieceCid: cidFromJson(o.PieceCID, `${path}.PieceCID`),
    pieceSize: num(o.PieceSize, `${path}.PieceSize`),
    verifiedDeal: bool(o.VerifiedDeal, `${path}.VerifiedDeal`),
    client: str(o.Client, `${path}.Client`),
    provider: str(o.Provider, `${path}.Provider`),
    label: str(o.Label, `${path}.Label`),
    startEpoch: num(o.StartEpoch, `${path}.StartEpoch`),
    endEpoch: num(o.EndEpoch, `${path}.EndEpoch`),
    storagePricePerEpoch: bigFromJson(o.StoragePricePerEpoch, `${path}.StoragePricePerEpoch`),
    providerCollateral: bigFromJson(o.ProviderCollateral, `${path}.ProviderCollateral`),
    clientCollateral: bigFromJson(o.ClientCollateral, `${path}.ClientCollateral`)
  }
}

export function decodeMarketDeal (v: unknown, path = 'MarketDeal'): MarketDeal {
  const o = obj(v, path)
  const s = obj(o.State, `${path}.State`)
  return {
    proposal: decodeDealProposal(o.Proposal, `${path}.Proposal`),
    state: {
      sectorNumber: num(s.SectorNumber, `${path}.State.SectorNumber`),
      sectorStartEpoch: num(s.SectorStartEpoch, `${path}.State.SectorStartEpoch`),
      lastUpdatedEpoch: num(s.LastUpdatedEpoch, `${path}.State.LastUpdatedEpoch`),
      slashEpoch: num(s.SlashEpoch, `${path}.State.SlashEpoch`)
    }
  }
}

export function decodeVersion (v: unknown, path = 'Version'): ApiVersion {
  const o = obj(v, path)
  return { version: str(o.Version, `${path}.Version`), apiVersion: num(o.APIVersion, `${path}.APIVersion`), blockDelay: num(o.BlockDelay, `${path}.BlockDelay`) }
}

export function encodePieceDealInfo (d: PieceDealInfo): Record<string, unknown> {
  const m = d.pieceActivationManifest ?? null
  return {
    PublishCid: d.publishCid === null ? null : cidToJson(d.publishCid),
    DealID: d.dealId,
    DealProposal: d.dealProposal === null ? null : encodeDealProposal(d.dealProposal),
    DealSchedule: { StartEpoch: d.dealSchedule.startEpoch, EndEpoch: d.dealSchedule.endEpoch },
    PieceActivationManifest: m === null
      ? null
      : {
          CID: cidToJson(m.cid),
          Size: m.size,
          VerifiedAllocationKey: m.verifiedAllocationKey === null ? null : { Client: m.verifiedAllocationKey.client, ID: m.verifiedAllocationKey.id },
          Notify: m.notify === null ? null : m.notify.map((n) => ({ Address: n.address, Payload: bytesToJson(n.payload) }))
        },
    KeepUnsealed: d.keepUnsealed
  }
}

export function decodeSectorInfo (v: unknown, path = 'SectorInfo'): SectorInfo {
  const o = obj(v, path)
  return {
    sectorId: num(o.SectorID, `${path}.SectorID`),
    state: str(o.State, `${path}.State`),
    deals: arrOrNull(o.Deals, `${path}.Deals`).map((d, i) => num(d, `${path}.Deals[${i}]`)),
    pieces: arrOrNull(o.Pieces, `${path}.Pieces`).map((p, i) => {
      const po = obj(p, `${path}.Pieces[${i}]`)
      const piece = obj(po.Piece, `${path}.Pieces[${i}].Piece`)
      const di = po.DealInfo === null || po.DealInfo === undefined ? null : obj(po.DealInfo, `${path}.Pieces[${i}].DealInfo`)
      const publishCid = di === null ? null : cidOrNull(di.PublishCid, `${path}.Pieces[${i}].DealInfo.PublishCid`)
      return {
        pieceCid: cidFromJson(piece.PieceCID, `${path}.Pieces[${i}].Piece.PieceCID`),
        size: num(piece.Size, `${path}.Pieces[${i}].Piece.Size`),
        dealId: di === null || publishCid === null ? null : num(di.DealID, `${path}.Pieces[${i}].DealInfo.DealID`),
        publishCid
      }
    }),
    commD: cidOrNull(o.CommD, `${path}.CommD`),
    commR: cidOrNull(o.CommR, `${path}.CommR`),
    lastErr: o.LastErr === undefined ? '' : str(o.LastErr, `${path}.LastErr`),
    activation: num(o.Activation, `${path}.Activation`),
    expiration: num(o.Expiration, `${path}.Expiration`),
    log: arrOrNull(o.Log, `${path}.Log`).map((l, i) => {
      const lo = obj(l, `${path}.Log[${i}]`)
      return {
        kind: str(lo.Kind, `${path}.Log[${i}].Kind`),
        timestamp: num(lo.Timestamp, `${path}.Log[${i}].Timestamp`),
        trace: lo.Trace === undefined ? '' : str(lo.Trace, `${path}.Log[${i}].Trace`),
        message: lo.Message === undefined ? '' : str(lo.Message, `${path}.Log[${i}].Message`)
      }
    })
  }
}
