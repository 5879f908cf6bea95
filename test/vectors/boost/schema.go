package main

import (
	"github.com/ipld/go-ipld-prime"
	"github.com/ipld/go-ipld-prime/schema"
)

func ipldSchema(src string) (*schema.TypeSystem, error) {
	return ipld.LoadSchemaBytes([]byte(src))
}
