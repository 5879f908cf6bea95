// Command gen writes wire/cbor_gen.go with cbor-gen's map encoders (boost's generator settings).
package main

import (
	"os"

	"github.com/dealyard/dealyard/test/vectors/boost/wire"
	cbg "github.com/whyrusleeping/cbor-gen"
)

func main() {
	err := cbg.WriteMapEncodersToFile(os.Args[1], "wire",
		wire.DealParams{}, wire.DealParamsV120{}, wire.Transfer{}, wire.DealResponse{},
		wire.DealStatusRequest{}, wire.DealStatusResponse{}, wire.DealStatus{},
		wire.StorageAsk{}, wire.SignedStorageAsk{}, wire.AskRequest{}, wire.AskResponse{})
	if err != nil {
		panic(err)
	}
}
