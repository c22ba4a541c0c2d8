import BIMTCompute
import Testing
import TestSupport

/// Each pointwise op: the CPU path against a double-precision formula, and the OpenCL
/// device against the CPU path, on seeded inputs of sizes that fit no work-group.
let opSizes = [1, 7, 33, 129, 257, 1000, 70_001]

/// The devices under test for pointwise ops: the CPU path, plus OpenCL (see `TestDevices`).
func opDevices() throws -> [Device] { try TestDevices.all() }
