// Command gen writes wire/cbor_gen.go with cbor-gen's map encoders (boost's generator settings),
// over the declarations build.sh copies from test/vectors/boost/wire.
package main

import (
	"os"

	"github.com/dealyard/dealyard/test/interop/boostclient/wire"
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
