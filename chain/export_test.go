package chain

// The internals that the tests of package chain_test check.
var (
	Two256         = two256
	MaxUint256     = maxUint256
	SmallOrderKeys = smallOrderKeys
	CheckJSONText  = checkJSONText
)

// NetParamsMagic is the domain tag of the network commitment.
const NetParamsMagic = netParamsMagic

// AppendTimestampJSON appends the JSON encoding of ts.
func AppendTimestampJSON(dst []byte, ts Timestamp) []byte { return ts.appendJSON(dst) }
