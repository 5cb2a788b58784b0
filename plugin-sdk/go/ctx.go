package sdk

import (
	"math"
	"strconv"
)

// Log levels of the host's log import.
const (
	LevelTrace int32 = 0
	LevelDebug int32 = 1
	LevelInfo  int32 = 2
	LevelWarn  int32 = 3
	LevelError int32 = 4
)

// Host is what a call can ask of the engine. In a WASM build it is the `distroduce` imports; in
// a native build (go test) it is a [TestHost] unless Invoke is given another.
type Host interface {
	RngU64() uint64
	RngF64() float64
	NowNs() int64
	Log(level int32, msg string)
	// Emit publishes one MessagePack-encoded emit map (ABI §5).
	Emit(msgpack []byte)
	Fail(msg string)
}

// Ctx is what a function can know about its call (the `ctx` map of the input, ABI §3) and ask
// of the host: random numbers, the virtual clock, logs, messages.
type Ctx struct {
	// Simulation is the 0-based index of the model in the experiment.
	Simulation int64
	// Subset is the 0-based index of the parameter set.
	Subset int64
	// Run is the 1-based Monte Carlo run.
	Run int64
	// Timestep is the timestep being computed (1-based; the state read is the previous record).
	Timestep int64
	// Substep is the 1-based index of the partial state update block.
	Substep int64
	// Seed is 64 bits unique to this call, for plugins that prefer their own generator.
	Seed uint64
	// TimeNs is the virtual clock, ns since the Unix epoch, as NowNs.
	TimeNs int64
	// Variable is, for state updates, the name of the variable this call produces ("" for
	// policies).
	Variable string

	host Host
	err  string // the first error of Fail or of a host service; reported after the function returns
}

// RngU64 returns the next 64 random bits of this call's stream (same seed, same numbers).
func (c *Ctx) RngU64() uint64 { return c.host.RngU64() }

// RngF64 returns a uniform float in [0, 1) from this call's stream.
func (c *Ctx) RngF64() float64 { return c.host.RngF64() }

// RngIntn returns a uniform integer in [0, n) from this call's stream (n > 0), by Lemire's
// multiply-and-reject method on RngU64.
func (c *Ctx) RngIntn(n int64) int64 {
	if n <= 0 {
		panic("RngIntn: n must be positive, got " + strconv.FormatInt(n, 10))
	}
	un := uint64(n)
	threshold := -un % un
	for {
		hi, lo := mul64(c.RngU64(), un)
		if lo >= threshold {
			return int64(hi)
		}
	}
}

func mul64(x, y uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	x0, x1 := x&mask32, x>>32
	y0, y1 := y&mask32, y>>32
	w0 := x0 * y0
	t := x1*y0 + w0>>32
	w1 := t & mask32
	w2 := t >> 32
	w1 += x0 * y1
	hi = x1*y1 + w2 + w1>>32
	lo = x * y
	return
}

// Normal returns a normal draw by Box-Muller, as the Rust SDK's Ctx::normal: two RngF64 draws
// per number, the second value of the pair dropped.
func (c *Ctx) Normal(mean, sd float64) float64 {
	u1 := 1.0 - c.RngF64() // in (0, 1], so the logarithm is finite
	u2 := c.RngF64()
	z := math.Sqrt(-2.0*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	return mean + sd*z
}

// NowNs is the virtual clock, ns since the Unix epoch.
func (c *Ctx) NowNs() int64 { return c.host.NowNs() }

// NowPython is the virtual clock formatted like Python's str(datetime) (see FormatPython).
func (c *Ctx) NowPython() string { return FormatPython(c.host.NowNs()) }

// Message is one message to publish (ABI §5).
type Message struct {
	// Topic is a topic alias declared under kafka.topics in the scenario.
	Topic string
	// Key is nil (no key), a string, a []byte or an integer (sent as its decimal text).
	Key any
	// Value is encoded by the topic's format (JSON by default); a []byte is sent as it is.
	Value any
	// Headers are Kafka headers, in order.
	Headers []Header
}

// Header is one Kafka header.
type Header struct {
	Key   string
	Value string
}

// Emit publishes value to the topic alias topic, keyed by key ("" for no key). The engine
// encodes the value with the topic's format (JSON by default); a []byte value is sent as is.
// A value that cannot be encoded fails the call once the function returns.
func (c *Ctx) Emit(topic, key string, value any) {
	m := Message{Topic: topic, Value: value}
	if key != "" {
		m.Key = key
	}
	c.EmitMessage(m)
}

var emitBuf []byte

// EmitMessage publishes a message with any key and headers.
func (c *Ctx) EmitMessage(m Message) {
	n := 2
	if m.Key != nil {
		n++
	}
	if m.Headers != nil {
		n++
	}
	b := appendMapHeader(emitBuf[:0], n)
	b = appendStr(b, "topic")
	b = appendStr(b, m.Topic)
	b = appendStr(b, "value")
	b, err := appendAny(b, m.Value)
	if err == nil && m.Key != nil {
		b = appendStr(b, "key")
		b, err = appendAny(b, m.Key)
	}
	if err == nil && m.Headers != nil {
		b = appendStr(b, "headers")
		b = appendMapHeader(b, len(m.Headers))
		for _, h := range m.Headers {
			b = appendStr(appendStr(b, h.Key), h.Value)
		}
	}
	emitBuf = b
	if err != nil {
		c.setErr("cannot encode the message for topic `" + m.Topic + "`: " + err.Error())
		return
	}
	c.host.Emit(b)
}

// Log sends a log line to the host (shown with -v, attached to failure reports).
func (c *Ctx) Log(level int32, msg string) { c.host.Log(level, msg) }

// Debug logs at LevelDebug.
func (c *Ctx) Debug(msg string) { c.host.Log(LevelDebug, msg) }

// Info logs at LevelInfo.
func (c *Ctx) Info(msg string) { c.host.Log(LevelInfo, msg) }

// Warn logs at LevelWarn.
func (c *Ctx) Warn(msg string) { c.host.Log(LevelWarn, msg) }

// Error logs at LevelError.
func (c *Ctx) Error(msg string) { c.host.Log(LevelError, msg) }

// Fail makes the call fail with msg once the function returns, whatever it returns (the first
// failure wins). Returning an error does the same and is the usual way.
func (c *Ctx) Fail(msg string) { c.setErr(msg) }

func (c *Ctx) setErr(msg string) {
	if c.err == "" {
		if msg == "" {
			msg = "failed"
		}
		c.err = msg
	}
}

// decodeCtx reads the ctx map, ignoring keys it does not know.
func decodeCtx(d *decoder, c *Ctx) error {
	n, err := d.readMapLen()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := d.readStrBytes()
		if err != nil {
			return err
		}
		var p *int64
		switch string(k) {
		case "simulation":
			p = &c.Simulation
		case "subset":
			p = &c.Subset
		case "run":
			p = &c.Run
		case "timestep":
			p = &c.Timestep
		case "substep":
			p = &c.Substep
		case "time_ns":
			p = &c.TimeNs
		case "seed":
			if c.Seed, err = d.readBits(); err != nil {
				return fieldErr("seed", err)
			}
			continue
		case "variable":
			if d.isNil() {
				continue
			}
			if c.Variable, err = d.readStr(); err != nil {
				return fieldErr("variable", err)
			}
			continue
		default:
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		if *p, err = d.readInt(); err != nil {
			return fieldErr(string(k), err)
		}
	}
	return nil
}

// SplitMix64 is the engine's generator (a call's rng_u64 stream is SplitMix64 seeded with the
// call's seed); TestHost uses it so that native tests draw the numbers the engine would.
type SplitMix64 struct{ State uint64 }

// Next returns the next 64 bits.
func (s *SplitMix64) Next() uint64 {
	s.State += 0x9E3779B97F4A7C15
	z := s.State
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// NextF64 returns a uniform float in [0, 1) (53 bits).
func (s *SplitMix64) NextF64() float64 { return float64(s.Next()>>11) * (1.0 / (1 << 53)) }
