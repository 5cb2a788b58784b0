// @distroduce/sdk: the AssemblyScript guest side of the distroduce plugin ABI (../ABI.md).
// See README.md for how to write a plugin.

export { ABI_VERSION, describe, distroduce_abi_version, distroduce_alloc, policy, stateUpdate } from "./assembly/abi";
export { Ctx } from "./assembly/ctx";
export { fail, Level, log } from "./assembly/host";
export { Writer } from "./assembly/msgpack";
export { civilFromDays, Civil, formatPython } from "./assembly/time";
export { encodeAny, Kind, Value } from "./assembly/value";
