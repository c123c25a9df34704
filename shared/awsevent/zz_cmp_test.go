package awsevent
import ("testing";"encoding/json")
func BenchmarkZZProbe(b *testing.B) {
	raw := jsonlInputs(b, corpusDir(b), "records-all.jsonl")[34].raw
	b.Run("readProbe", func(b *testing.B){ b.SetBytes(int64(len(raw))); for b.Loop() { readProbe(raw) } })
	b.Run("encjson", func(b *testing.B){ b.SetBytes(int64(len(raw))); for b.Loop() { var p oracleProbe; json.Unmarshal(raw,&p) } })
	b.Run("valid", func(b *testing.B){ b.SetBytes(int64(len(raw))); for b.Loop() { json.Valid(raw) } })
}
