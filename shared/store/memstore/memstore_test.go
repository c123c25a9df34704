package memstore_test

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
	"github.com/driftwatch/driftwatch/shared/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(testing.TB) store.Store { return memstore.New() })
}

func TestGovernance(t *testing.T) {
	storetest.RunGovernance(t, func(testing.TB) storetest.Governed { return memstore.New() })
}

func BenchmarkSaveObservation(b *testing.B) { storetest.BenchSaveObservation(b, memstore.New()) }

func BenchmarkGetResource(b *testing.B) { storetest.BenchGetResource(b, memstore.New()) }

func BenchmarkLoadAll(b *testing.B) { storetest.BenchLoadAll(b, memstore.New()) }
